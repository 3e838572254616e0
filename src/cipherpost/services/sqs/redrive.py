"""Dead-letter queue settings: the ``RedrivePolicy`` and ``RedriveAllowPolicy`` attributes.

"Using dead-letter queues in Amazon SQS": a source queue's ``RedrivePolicy`` names the
dead-letter queue (``deadLetterTargetArn``) and how many receives a message may have before
it moves there (``maxReceiveCount``, 1..1000). A dead-letter queue's ``RedriveAllowPolicy``
says which source queues may use it: ``allowAll`` (default), ``denyAll``, or ``byQueue``
with up to 10 ``sourceQueueArns``. Pure parsing; existence checks live with the queues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from cipherpost.services.sqs.errors import InvalidAttributeValue

MAX_RECEIVE_COUNT: Final = 1000
MAX_SOURCE_QUEUES: Final = 10
PERMISSIONS: Final = ("allowAll", "denyAll", "byQueue")


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    """A parsed ``RedrivePolicy``."""

    dead_letter_target_arn: str
    max_receive_count: int

    def to_json(self) -> str:
        """The attribute as AWS returns it (``maxReceiveCount`` as a number)."""
        return json.dumps(
            {"deadLetterTargetArn": self.dead_letter_target_arn, "maxReceiveCount": self.max_receive_count},
            separators=(",", ":"),
        )


@dataclass(frozen=True, slots=True)
class RedriveAllowPolicy:
    """A parsed ``RedriveAllowPolicy``."""

    permission: str
    source_queue_arns: tuple[str, ...] = ()

    def allows(self, source_arn: str) -> bool:
        """Whether a queue with ARN ``source_arn`` may name this queue as its dead-letter queue."""
        if self.permission == "allowAll":
            return True
        return self.permission == "byQueue" and source_arn in self.source_queue_arns

    def to_json(self) -> str:
        data: dict[str, object] = {"redrivePermission": self.permission}
        if self.permission == "byQueue":
            data["sourceQueueArns"] = list(self.source_queue_arns)
        return json.dumps(data, separators=(",", ":"))


ALLOW_ALL: Final = RedriveAllowPolicy("allowAll")


def _invalid(attribute: str, reason: str) -> InvalidAttributeValue:
    return InvalidAttributeValue(f"Invalid value for the parameter {attribute}. Reason: {reason}")


def _object(text: str, attribute: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise _invalid(attribute, f"{attribute} must be a JSON object.") from None
    if not isinstance(data, dict):
        raise _invalid(attribute, f"{attribute} must be a JSON object.")
    return data


def _receive_count(value: object) -> int:
    """``maxReceiveCount``: a number or a numeric string (both forms appear in AWS examples)."""
    if isinstance(value, bool):
        raise _invalid("RedrivePolicy", "Invalid value for maxReceiveCount.")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= MAX_RECEIVE_COUNT:
        raise _invalid("RedrivePolicy", f"Invalid value for maxReceiveCount: {value}, valid values are from 1 "
                                        f"to {MAX_RECEIVE_COUNT} both inclusive.")
    return value


def parse_redrive_policy(text: str) -> RedrivePolicy:
    """Parse ``RedrivePolicy``.

    Raises:
        InvalidAttributeValue: not JSON, unknown keys, a missing or invalid member.
    """
    data = _object(text, "RedrivePolicy")
    unknown = sorted(set(data) - {"deadLetterTargetArn", "maxReceiveCount"})
    if unknown:
        raise _invalid("RedrivePolicy", f"Unknown key {unknown[0]} in RedrivePolicy.")
    target = data.get("deadLetterTargetArn")
    if not isinstance(target, str) or not target:
        raise _invalid("RedrivePolicy", "Redrive policy must contain deadLetterTargetArn.")
    if "maxReceiveCount" not in data:
        raise _invalid("RedrivePolicy", "Redrive policy must contain maxReceiveCount.")
    return RedrivePolicy(target, _receive_count(data["maxReceiveCount"]))


def parse_redrive_allow_policy(text: str) -> RedriveAllowPolicy:
    """Parse ``RedriveAllowPolicy``.

    Raises:
        InvalidAttributeValue: not JSON, an unknown permission, ``sourceQueueArns`` missing
            for ``byQueue``, present otherwise, or more than 10 of them.
    """
    name = "RedriveAllowPolicy"
    data = _object(text, name)
    unknown = sorted(set(data) - {"redrivePermission", "sourceQueueArns"})
    if unknown:
        raise _invalid(name, f"Unknown key {unknown[0]} in {name}.")
    permission = data.get("redrivePermission")
    if permission not in PERMISSIONS:
        raise _invalid(name, "redrivePermission must be one of allowAll, denyAll, byQueue.")
    arns = data.get("sourceQueueArns")
    if permission != "byQueue":
        if arns is not None:
            raise _invalid(name, "sourceQueueArns is only allowed when redrivePermission is byQueue.")
        return RedriveAllowPolicy(str(permission))
    if not isinstance(arns, list) or not arns or not all(isinstance(arn, str) for arn in arns):
        raise _invalid(name, "sourceQueueArns must be a non-empty list of queue ARNs when redrivePermission "
                             "is byQueue.")
    if len(arns) > MAX_SOURCE_QUEUES:
        raise _invalid(name, f"sourceQueueArns can contain at most {MAX_SOURCE_QUEUES} queue ARNs.")
    return RedriveAllowPolicy("byQueue", tuple(str(arn) for arn in arns))
