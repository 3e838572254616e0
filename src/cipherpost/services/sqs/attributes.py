"""Queue attributes as data: which exist, their defaults, their valid values.

Values are the SQS API reference's ("CreateQueue", "SetQueueAttributes",
"GetQueueAttributes"). A queue stores its *settable* attributes as strings, normalized
(``"30"``, ``"true"``, canonical JSON for the redrive policies); computed ones
(``QueueArn``, counters, timestamps) are added when read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from cipherpost.policy import PolicySyntaxError, validate_policy
from cipherpost.services.sqs.errors import InvalidAttributeName, InvalidAttributeValue
from cipherpost.services.sqs.redrive import parse_redrive_allow_policy, parse_redrive_policy

Kind = Literal["int", "bool", "enum", "policy", "redrive", "redrive_allow", "text"]


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One settable queue attribute."""

    kind: Kind
    default: str | None = None
    """Value of a new queue that does not set it; None: absent until set."""
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()
    fifo_only: bool = False
    """Only FIFO queues have it (a standard queue answers ``InvalidAttributeName``)."""
    create_only: bool = False
    """Fixed at creation (SetQueueAttributes answers ``InvalidAttributeName``)."""


#: Every settable attribute. MaximumMessageSize went up to 1 MiB (and its default with it) in 2025.
SETTABLE: Final[Mapping[str, AttributeSpec]] = {
    "DelaySeconds": AttributeSpec("int", "0", 0, 900),
    "MaximumMessageSize": AttributeSpec("int", "1048576", 1024, 1048576),
    "MessageRetentionPeriod": AttributeSpec("int", "345600", 60, 1209600),
    "ReceiveMessageWaitTimeSeconds": AttributeSpec("int", "0", 0, 20),
    "VisibilityTimeout": AttributeSpec("int", "30", 0, 43200),
    "Policy": AttributeSpec("policy"),
    "RedrivePolicy": AttributeSpec("redrive"),
    "RedriveAllowPolicy": AttributeSpec("redrive_allow"),
    # SSE: stored now, enforced once the KMS provider exists. New queues get SSE-SQS by
    # default (AWS, since 2022) unless a KMS key is given.
    "KmsMasterKeyId": AttributeSpec("text"),
    "KmsDataKeyReusePeriodSeconds": AttributeSpec("int", "300", 60, 86400),
    "SqsManagedSseEnabled": AttributeSpec("bool", "true"),
    "FifoQueue": AttributeSpec("bool", fifo_only=True, create_only=True),
    "ContentBasedDeduplication": AttributeSpec("bool", "false", fifo_only=True),
    "DeduplicationScope": AttributeSpec("enum", "queue", choices=("messageGroup", "queue"), fifo_only=True),
    "FifoThroughputLimit": AttributeSpec("enum", "perQueue", choices=("perQueue", "perMessageGroupId"),
                                         fifo_only=True),
}

#: Attributes GetQueueAttributes computes; setting them is ``InvalidAttributeName``.
COMPUTED: Final = (
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
)

#: FIFO-only attributes a standard queue rejects with their own message (not "Unknown Attribute").
FIFO_ONLY_MESSAGE: Final = frozenset({"DeduplicationScope", "FifoThroughputLimit"})

#: Attributes whose empty value removes them (SetQueueAttributes with ``""``).
CLEARABLE: Final = frozenset({"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId"})


def _invalid(name: str, reason: str | None = None) -> InvalidAttributeValue:
    suffix = f" Reason: {reason}" if reason else ""
    return InvalidAttributeValue(f"Invalid value for the parameter {name}.{suffix}")


def _int_value(name: str, spec: AttributeSpec, value: str) -> str:
    text = value.strip()
    if not text.lstrip("-").isdigit() or not spec.low <= int(text) <= spec.high:
        raise _invalid(name)
    return str(int(text))


def _normalize(name: str, spec: AttributeSpec, value: str) -> str:
    """The stored form of one value, or raise ``InvalidAttributeValue``."""
    if spec.kind == "int":
        return _int_value(name, spec, value)
    if spec.kind == "bool":
        if value.lower() not in ("true", "false"):
            raise _invalid(name)
        return value.lower()
    if spec.kind == "enum":
        if value not in spec.choices:
            raise _invalid(name)
        return value
    if spec.kind == "policy":
        try:
            validate_policy(value, kind="resource")
        except PolicySyntaxError as exc:
            raise _invalid(name, str(exc)) from None
        return value
    if spec.kind == "redrive":
        return parse_redrive_policy(value).to_json()
    if spec.kind == "redrive_allow":
        return parse_redrive_allow_policy(value).to_json()
    return value


def unknown_attribute(name: str) -> InvalidAttributeName:
    return InvalidAttributeName(f"Unknown Attribute {name}.")


def validate_attributes(attributes: Mapping[str, str], *, fifo: bool, creating: bool) -> dict[str, str]:
    """Check and normalize attributes given to CreateQueue or SetQueueAttributes.

    Returns:
        name -> stored value; ``""`` for a clearable attribute means "remove it".
    Raises:
        InvalidAttributeName: unknown, computed, FIFO-only on a standard queue, or
            (SetQueueAttributes) fixed at creation.
        InvalidAttributeValue: a value outside its range or grammar; FifoQueue other than
            ``true`` set on a FIFO queue.
    """
    out: dict[str, str] = {}
    for name, value in attributes.items():
        spec = SETTABLE.get(name)
        if name == "FifoQueue" and fifo and not creating:
            _check_queue_type(value)
            continue
        if name in FIFO_ONLY_MESSAGE and not fifo:
            raise InvalidAttributeName(f"You can specify the {name} only when FifoQueue is set to true.")
        # FifoQueue (even "false") names an unknown attribute on a standard queue, as AWS answers.
        if spec is None or (spec.fifo_only and not fifo) or (spec.create_only and not creating):
            raise unknown_attribute(name)
        if value == "" and name in CLEARABLE:
            out[name] = ""
            continue
        out[name] = _normalize(name, spec, value)
    _check_sse(out)
    return out


def _check_queue_type(value: str) -> None:
    """SetQueueAttributes FifoQueue on a FIFO queue: ``true`` changes nothing; anything else would."""
    if value.lower() != "true":
        raise _invalid("FifoQueue", "Modifying queue type is not supported.")


def _check_sse(values: Mapping[str, str]) -> None:
    """SSE-KMS and SSE-SQS exclude each other ("Encryption at rest", SQS Developer Guide)."""
    if values.get("KmsMasterKeyId") and values.get("SqsManagedSseEnabled") == "true":
        raise InvalidAttributeName("You can use one type of server-side encryption (SSE) at one time. You can "
                                   "either enable KMS SSE or SQS SSE.")


def defaults(*, fifo: bool) -> dict[str, str]:
    """The settable attributes of a new queue of the given type that sets none."""
    values = {name: spec.default for name, spec in SETTABLE.items()
              if spec.default is not None and (fifo or not spec.fifo_only)}
    if fifo:
        values["FifoQueue"] = "true"
    return values


def initial_attributes(given: Mapping[str, str], *, fifo: bool) -> dict[str, str]:
    """Defaults overlaid with the validated ``given`` ones (cleared ones dropped)."""
    values = defaults(fifo=fifo)
    values.update(given)
    if given.get("KmsMasterKeyId") and "SqsManagedSseEnabled" not in given:
        values["SqsManagedSseEnabled"] = "false"
    return {name: value for name, value in values.items() if value != ""}


def apply_changes(current: Mapping[str, str], changes: Mapping[str, str]) -> dict[str, str]:
    """``current`` with validated SetQueueAttributes ``changes`` applied."""
    values = dict(current)
    for name, value in changes.items():
        if value == "":
            values.pop(name, None)
        else:
            values[name] = value
    if changes.get("KmsMasterKeyId") and "SqsManagedSseEnabled" not in changes:
        values["SqsManagedSseEnabled"] = "false"
    if changes.get("SqsManagedSseEnabled") == "true":
        values.pop("KmsMasterKeyId", None)
    _check_sse(values)
    return values


def differing_attribute(existing: Mapping[str, str], given: Mapping[str, str], *, fifo: bool) -> str | None:
    """CreateQueue on an existing name: the first given attribute whose value differs, else None.

    Attributes not given are not compared (so a plain ``CreateQueue(QueueName=...)`` of an
    existing queue returns its URL, as SDK "get or create" code expects).
    """
    current = {**defaults(fifo=fifo), **existing}
    for name, value in given.items():
        if current.get(name, "") != value:
            return name
    return None


def visible_attributes(values: Mapping[str, str]) -> dict[str, str]:
    """The stored attributes GetQueueAttributes shows: AWS shows ``KmsDataKeyReusePeriodSeconds``
    only on an SSE-KMS queue (one with a ``KmsMasterKeyId``), neither under ``All`` nor when named."""
    if values.get("KmsMasterKeyId"):
        return dict(values)
    return {name: value for name, value in values.items() if name != "KmsDataKeyReusePeriodSeconds"}


def int_attribute(values: Mapping[str, str], name: str) -> int:
    """An integer attribute of a queue (its default when unset)."""
    raw = values.get(name) or SETTABLE[name].default or "0"
    return int(raw)
