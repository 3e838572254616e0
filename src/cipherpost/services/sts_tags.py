"""STS session tags: AssumeRole's ``Tags`` and ``TransitiveTagKeys``, checked as AWS checks them.

IAM User Guide, "Pass session tags in AWS STS": at most 50 session tags, keys of 1..128 and
values of at most 256 characters; keys are case-insensitive (two keys differing only in case
are refused); each transitive key must name a requested tag; in a role chain the calling
session's transitive tags pass into the new session, stay transitive, and may not be
overridden. Passing tags (or inheriting transitive ones) needs ``sts:TagSession``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from cipherpost.services.iam.errors import PackedPolicyTooLarge, StsInvalidParameterValue, ValidationError

MAX_SESSION_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
#: The budget each part of the packed session data is measured against, in characters. AWS
#: packs (compresses) the session policy, policy ARNs and session tags, and reports how full
#: the fuller part is (PackedPolicySize); we measure the plain text, which is stricter.
PACKED_BUDGET = 2048

Tag = tuple[str, str]


@dataclass(frozen=True, slots=True)
class SessionTags:
    """The session tags a new role session gets."""

    tags: tuple[Tag, ...]
    """Requested tags, then the transitive tags inherited from the calling session."""
    transitive_keys: tuple[str, ...]
    """Keys of ``tags`` that pass on to the sessions this one starts."""

    def stored(self) -> tuple[str | None, str | None]:
        """(session_tags, transitive_tag_keys) as ``sts_sessions`` keeps them (NULL when none)."""
        if not self.tags:
            return None, None
        return json.dumps([list(tag) for tag in self.tags]), json.dumps(list(self.transitive_keys))


def _too_long(value: str, path: str, limit: int) -> ValidationError:
    return ValidationError(f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: "
                           f"Member must have length less than or equal to {limit}")


def _requested(raw: object) -> list[Tag]:
    items = list(raw or [])  # type: ignore[call-overload]
    if len(items) > MAX_SESSION_TAGS:
        raise ValidationError("1 validation error detected: Value at 'tags' failed to satisfy constraint: "
                              f"Member must have length less than or equal to {MAX_SESSION_TAGS}")
    tags: list[Tag] = []
    for index, item in enumerate(items, 1):
        key, value = str(item["Key"]), str(item.get("Value", ""))
        if len(key) > MAX_KEY:
            raise _too_long(key, f"tags.{index}.member.key", MAX_KEY)
        if len(value) > MAX_VALUE:
            raise _too_long(value, f"tags.{index}.member.value", MAX_VALUE)
        tags.append((key, value))
    return tags


def _transitive(raw: object) -> list[str]:
    keys = [str(key) for key in raw or []]  # type: ignore[attr-defined]
    if len(keys) > MAX_SESSION_TAGS:
        raise ValidationError("1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy "
                              f"constraint: Member must have length less than or equal to {MAX_SESSION_TAGS}")
    for index, key in enumerate(keys, 1):
        if len(key) > MAX_KEY:
            raise _too_long(key, f"transitiveTagKeys.{index}.member", MAX_KEY)
    return keys


def session_tags(tags: object, transitive_keys: object, inherited: Sequence[Tag]) -> SessionTags:
    """Check an AssumeRole's ``Tags`` and ``TransitiveTagKeys`` against the calling session's
    transitive tags (``inherited``; empty unless role chaining), and combine them.

    Raises:
        ValidationError: too many tags or keys, a key or value too long.
        StsInvalidParameterValue: keys differing only in case, a transitive key that names no
            requested tag, a requested tag overriding an inherited transitive tag.
    """
    requested = _requested(tags)
    wanted = _transitive(transitive_keys)
    lowered = [key.lower() for key, _ in requested]
    if len(set(lowered)) != len(lowered):
        raise StsInvalidParameterValue("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    if any(key.lower() not in lowered for key in wanted):
        raise StsInvalidParameterValue("The specified transitive tag key must be included in the requested tags.")
    if any(key.lower() in lowered for key, _ in inherited):
        raise StsInvalidParameterValue("One of the specified transitive tag keys can't be set because it conflicts "
                                       "with a transitive tag key from the calling session.")
    combined = tuple(requested) + tuple(inherited)
    if len(combined) > MAX_SESSION_TAGS:
        raise ValidationError("1 validation error detected: Value at 'tags' failed to satisfy constraint: "
                              f"Member must have length less than or equal to {MAX_SESSION_TAGS}")
    wanted_keys = {key.lower() for key in wanted}
    transitive = tuple(key for key, _ in requested if key.lower() in wanted_keys) + tuple(key for key, _ in inherited)
    return SessionTags(combined, transitive)


def packed_size(policy: str | None, policy_arns: Sequence[str], tags: Sequence[Tag]) -> int | None:
    """PackedPolicySize: how full (percent) the fuller part of the packed session data is —
    the policies (session policy and policy ARNs) or the session tags; None when the request
    passed neither (AWS then leaves the member out).

    Raises:
        PackedPolicyTooLarge: the session tags are over the budget (the session policy alone is
            checked where it is validated).
    """
    if policy is None and not policy_arns and not tags:
        return None
    policies = len(policy or "") + sum(len(arn) for arn in policy_arns)
    tag_chars = sum(len(key) + len(value) for key, value in tags)
    tag_percent = math.ceil(100 * tag_chars / PACKED_BUDGET)
    if tag_percent > 100:
        raise PackedPolicyTooLarge(f"Packed size of session tags consumes {tag_percent}% of allotted space.")
    return max(math.ceil(100 * policies / PACKED_BUDGET), tag_percent)
