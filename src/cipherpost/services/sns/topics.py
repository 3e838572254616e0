"""Topics: names and ARNs, the stored record, and the topic attributes AWS accepts.

Names (CreateTopic): 1..256 ASCII letters, digits, ``_`` and ``-``; a FIFO topic's name
ends in ``.fifo`` (counted in the 256) and only FIFO topics may end so. The default
``Policy`` is AWS's default topic policy: everyone, conditioned on ``AWS:SourceOwner`` =
the owner account (a condition direct API calls never satisfy; it serves AWS services
that publish on the owner's behalf), for the topic's own actions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from cipherpost.policy import Policy, PolicySyntaxError, parse_policy, validate_policy
from cipherpost.protocol.validation import is_xml_text
from cipherpost.services.sns import delivery_policy
from cipherpost.services.sns.errors import InvalidParameter
from cipherpost.store import Row

_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FIFO_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")
#: Attributes CreateTopic / SetTopicAttributes accept (the rest are read-only or unknown).
SETTABLE: Final = frozenset({
    "DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "SignatureVersion", "TracingConfig",
    "ContentBasedDeduplication", "ArchivePolicy", "DataProtectionPolicy", "FifoThroughputScope",
    "HTTPSuccessFeedbackRoleArn", "HTTPFailureFeedbackRoleArn", "HTTPSuccessFeedbackSampleRate",
    "SQSSuccessFeedbackRoleArn", "SQSFailureFeedbackRoleArn", "SQSSuccessFeedbackSampleRate",
})
CREATE_ONLY: Final = frozenset({"FifoTopic"})
DEFAULT_ACTIONS: Final = ("SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                          "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
                          "SNS:Publish")
MAX_TAGS: Final = 50


def topic_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{name}"


def parse_topic_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, name) of a topic ARN, or None when it is not one."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        return None
    if not re.fullmatch(r"\d{12}", parts[4]):
        return None
    return parts[3], parts[4], parts[5]


def check_arn_elements(arn: object, parameter: str) -> str:
    """``arn`` as text once it has the six colon-separated elements every ARN has.

    :raises InvalidParameter: AWS's ``Invalid parameter: <parameter> Reason: no value for
        required parameter`` (absent) or ``... Reason: An ARN must have at least 6 elements,
        not N`` (``""`` has one element).
    """
    if arn is None:
        raise InvalidParameter(f"Invalid parameter: {parameter} Reason: no value for required parameter")
    text = str(arn)
    elements = len(text.split(":"))
    if elements < 6:
        raise InvalidParameter(f"Invalid parameter: {parameter} Reason: An ARN must have at least 6 elements, "
                               f"not {elements}")
    return text


def require_topic_arn(arn: object, parameter: str = "TopicArn") -> tuple[str, str, str]:
    """:raises InvalidParameter: ``arn`` is missing or not a topic ARN (AWS's wording:
    :func:`check_arn_elements`, else ``Invalid parameter: <parameter>``)."""
    parsed = parse_topic_arn(check_arn_elements(arn, parameter))
    if parsed is None:
        raise InvalidParameter(f"Invalid parameter: {parameter}")
    return parsed


def check_name(name: str, *, fifo: bool) -> None:
    """:raises InvalidParameter: not a valid (FIFO) topic name."""
    if not (_FIFO_NAME if fifo else _NAME).fullmatch(name):
        raise InvalidParameter("Invalid parameter: Topic Name")


def default_policy(arn: str, account_id: str) -> str:
    """AWS's default topic policy (see the module docstring)."""
    return json.dumps({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": list(DEFAULT_ACTIONS),
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account_id}},
        }],
    }, separators=(",", ":"))


def _bool_text(name: str, value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise InvalidParameter(f"Invalid parameter: Attributes Reason: {name}: Invalid value [{value}]. "
                               "Must be true or false.")
    return value.lower()


def check_attribute(name: str, value: str, *, fifo: bool, arn: str) -> str:
    """A topic attribute's value as stored, after AWS's checks.

    :raises InvalidParameter: unknown attribute or invalid value.
    """
    if not is_xml_text(value):  # GetTopicAttributes answers in XML, which cannot carry it
        raise InvalidParameter(f"Invalid parameter: Attributes Reason: {name}: Invalid value: control characters "
                               "and unpaired surrogates are not allowed")
    if name == "Policy":
        try:
            validate_policy(value, kind="resource")
        except PolicySyntaxError as exc:
            raise InvalidParameter(f"Invalid parameter: Policy Error: {exc}") from None
        return value
    if name == "DeliveryPolicy":
        if value:
            delivery_policy.validate_topic_policy(value)
        return value
    if name == "SignatureVersion":
        if value not in ("1", "2"):
            raise InvalidParameter("Invalid parameter: Attributes Reason: SignatureVersion: Invalid value "
                                   f"[{value}]. Must be 1 or 2.")
        return value
    if name == "TracingConfig":
        if value not in ("PassThrough", "Active"):
            raise InvalidParameter("Invalid parameter: Attributes Reason: TracingConfig: Invalid value "
                                   f"[{value}]. Must be PassThrough or Active.")
        return value
    if name == "ContentBasedDeduplication":
        if not fifo:
            raise InvalidParameter("Invalid parameter: Attributes Reason: ContentBasedDeduplication is only "
                                   "supported for FIFO topics")
        return _bool_text(name, value)
    if name == "DisplayName" and len(value) > 100:
        raise InvalidParameter("Invalid parameter: Attributes Reason: DisplayName: must be at most 100 characters")
    if name == "DataProtectionPolicy" and value:
        check_data_protection_policy(value)
    if name in SETTABLE:
        return value
    raise InvalidParameter(f"Invalid parameter: AttributeName Reason: Unknown attribute {name} for {arn}")


def check_data_protection_policy(text: str) -> None:
    """A data protection policy must be a JSON object with ``Name``, ``Version`` and a
    non-empty ``Statement`` list (stored, not enforced: no message is inspected).

    :raises InvalidParameter: otherwise.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise InvalidParameter("Invalid parameter: DataProtectionPolicy Reason: the policy is not valid JSON")
    for member in ("Name", "Version", "Statement"):
        if member not in document:
            raise InvalidParameter(f"Invalid parameter: DataProtectionPolicy Reason: missing {member}")
    statements = document["Statement"]
    if not isinstance(statements, list) or not statements or not all(isinstance(s, dict) for s in statements):
        raise InvalidParameter("Invalid parameter: DataProtectionPolicy Reason: Statement must be a non-empty list")
    for statement in statements:
        if "DataDirection" not in statement or "Operation" not in statement or "DataIdentifier" not in statement:
            raise InvalidParameter("Invalid parameter: DataProtectionPolicy Reason: each statement needs "
                                   "DataDirection, DataIdentifier and Operation")


@dataclass(slots=True)
class Topic:
    """A stored topic."""

    arn: str
    account_id: str
    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    data_protection_policy: str | None = None
    deleted_subscriptions: int = 0
    _policy: Policy | None = field(default=None, repr=False)

    @property
    def fifo(self) -> bool:
        return self.attributes.get("FifoTopic") == "true"

    @property
    def content_based_dedup(self) -> bool:
        return self.attributes.get("ContentBasedDeduplication") == "true"

    @property
    def kms_key_id(self) -> str | None:
        return self.attributes.get("KmsMasterKeyId") or None

    @property
    def signature_version(self) -> str:
        return self.attributes.get("SignatureVersion", "1")

    @property
    def policy(self) -> Policy:
        """The topic policy, parsed (the parser caches by text)."""
        if self._policy is None:
            self._policy = parse_policy(self.attributes["Policy"]).named("topic-policy")
        return self._policy

    @classmethod
    def from_row(cls, row: Row) -> Topic:
        return cls(arn=str(row["topic_arn"]), account_id=str(row["account_id"]), name=str(row["topic_name"]),
                   attributes=json.loads(row["attributes"]), tags=json.loads(row["tags"]),
                   data_protection_policy=row["data_protection_policy"],
                   deleted_subscriptions=int(row["deleted_subscriptions"]))


def new_attributes(arn: str, account_id: str, given: Mapping[str, str]) -> dict[str, str]:
    """The stored attributes of a new topic: AWS's defaults, then what CreateTopic gave."""
    fifo = given.get("FifoTopic", "false").lower() == "true"
    values: dict[str, str] = {"Policy": default_policy(arn, account_id), "DisplayName": ""}
    if fifo:
        values |= {"FifoTopic": "true", "ContentBasedDeduplication": "false"}
    for name, value in given.items():
        if name == "FifoTopic":
            continue
        values[name] = check_attribute(name, value, fifo=fifo, arn=arn)
    return values


def parse_tags(tags: Any) -> dict[str, str]:
    """``[{"Key": ..., "Value": ...}]`` as a dict, checked as AWS checks tags.

    :raises InvalidParameter: a key or value of the wrong length or with reserved prefix; a
        key given twice (AWS: ``Invalid parameter: Duplicated keys are not allowed.``).
    """
    result: dict[str, str] = {}
    for tag in tags or ():
        key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:") or not is_xml_text(key):
            raise InvalidParameter("Invalid parameter: Tags Reason: invalid tag key")
        if len(value) > 256 or not is_xml_text(value):
            raise InvalidParameter("Invalid parameter: Tags Reason: invalid tag value")
        if key in result:
            raise InvalidParameter("Invalid parameter: Duplicated keys are not allowed.")
        result[key] = value
    return result
