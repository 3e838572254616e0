"""Request checks the protocol layer leaves to the service: lengths, ranges, pagination, tags.

The protocol layer checks required members and enums from botocore's model; min/max
lengths and ranges are checked here, with the wording of AWS's validation layer
(``1 validation error detected: Value '2000' at 'numberOfBytes' failed to satisfy
constraint: Member must have value less than or equal to 1024``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cipherpost.services.kms.errors import (
    InvalidMarkerException,
    TagException,
    ValidationException,
)

_MARKER_PREFIX: Final = "cp1:"
#: "AWS KMS quotas": tags per key.
MAX_TAGS: Final = 50


def _member(name: str) -> str:
    """The member name as AWS's validation messages spell it (lower camel case)."""
    return name[:1].lower() + name[1:]


def check_range(value: int, member: str, low: int, high: int) -> int:
    """:raises ValidationException: ``value`` outside ``low..high``."""
    if value < low:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{_member(member)}' failed to satisfy constraint: "
            f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{_member(member)}' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high}"
        )
    return value


def check_length(value: str | bytes, member: str, low: int, high: int) -> None:
    """:raises ValidationException: ``len(value)`` outside ``low..high``."""
    shown = "" if isinstance(value, bytes) else f"'{value[:64]}' "
    if len(value) < low:
        raise ValidationException(
            f"1 validation error detected: Value {shown}at '{_member(member)}' failed to satisfy constraint: "
            f"Member must have length greater than or equal to {low}"
        )
    if len(value) > high:
        raise ValidationException(
            f"1 validation error detected: Value {shown}at '{_member(member)}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {high}"
        )


def page_limit(params: Mapping[str, Any], *, default: int, maximum: int) -> int:
    """The ``Limit`` of a List* request (each operation documents its own range and default)."""
    limit = params.get("Limit")
    return default if limit is None else check_range(int(limit), "Limit", 1, maximum)


def encode_marker(last: str) -> str:
    """An opaque ``NextMarker`` that resumes after the sort key ``last``."""
    return _MARKER_PREFIX + base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")


def decode_marker(marker: str | None) -> str:
    """The sort key a ``Marker`` resumes after ('' for the first page).

    :raises InvalidMarkerException: not a marker this service returned.
    """
    if marker is None:
        return ""
    try:
        if not marker.startswith(_MARKER_PREFIX):
            raise ValueError(marker)
        return base64.urlsafe_b64decode(marker[len(_MARKER_PREFIX):].encode("ascii")).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidMarkerException("Invalid marker.") from None


def page(rows: Sequence[Any], limit: int, sort_key: str) -> tuple[Sequence[Any], dict[str, Any]]:
    """Split ``limit + 1`` fetched rows into the page and its ``Truncated``/``NextMarker`` members."""
    if len(rows) <= limit:
        return rows, {"Truncated": False}
    kept = rows[:limit]
    return kept, {"Truncated": True, "NextMarker": encode_marker(str(kept[-1][sort_key]))}


def check_tags(tags: Sequence[Mapping[str, str]]) -> list[tuple[str, str]]:
    """Validate the ``Tags`` of CreateKey/TagResource; returns (key, value) pairs.

    Messages as AWS answers them (LocalStack's recordings of the tag tests against AWS).

    :raises ValidationException: a key of 1..128 or a value of 0..256 characters is required.
    :raises TagException: a key starts with the reserved ``aws:`` prefix, or appears twice.
    """
    pairs: dict[str, str] = {}
    for index, tag in enumerate(tags, start=1):
        key, value = tag["TagKey"], tag["TagValue"]
        _check_tag_length(key, f"tags.{index}.member.tagKey", 1, 128)
        _check_tag_length(value, f"tags.{index}.member.tagValue", 0, 256)
        if key.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved")
        if key in pairs:
            raise TagException("Duplicate tag keys")
        pairs[key] = value
    return list(pairs.items())


def _check_tag_length(value: str, path: str, low: int, high: int) -> None:
    """AWS names a tag member by its path and quotes the whole value."""
    if len(value) < low:
        raise ValidationException(f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                                  f"constraint: Member must have length greater than or equal to {low}")
    if len(value) > high:
        raise ValidationException(f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                                  f"constraint: Member must have length less than or equal to {high}")


def check_tag_count(existing: set[str], new: Sequence[tuple[str, str]]) -> None:
    """:raises TagException: the key would have more than 50 tags (AWS: "Too many tags")."""
    if len(existing | {key for key, _ in new}) > MAX_TAGS:
        raise TagException("Too many tags")
