"""The tags a request asks to set or remove, for aws:RequestTag/* and aws:TagKeys.

Services spell tags differently (behaviour as data): IAM and SNS send ``Tags`` as a list of
``{Key, Value}``, KMS as a list of ``{TagKey, TagValue}``, SQS as a map (``tags`` on
CreateQueue, ``Tags`` on TagQueue); removals name ``TagKeys``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_TAG_MEMBERS = ("Tags", "tags")
_KEY_NAMES = ("Key", "TagKey")
_VALUE_NAMES = ("Value", "TagValue")


def _pair(item: Mapping[str, Any]) -> tuple[str, str] | None:
    key = next((item[name] for name in _KEY_NAMES if name in item), None)
    value = next((item[name] for name in _VALUE_NAMES if name in item), "")
    return None if key is None else (str(key), str(value))


def request_tags(params: Mapping[str, Any]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """(tags to set, tag keys named) in a parsed request; both empty when it has none."""
    pairs: list[tuple[str, str]] = []
    for member in _TAG_MEMBERS:
        tags = params.get(member)
        if isinstance(tags, Mapping):
            pairs += [(str(key), str(value)) for key, value in tags.items()]
        elif isinstance(tags, list):
            pairs += [pair for item in tags if isinstance(item, Mapping) and (pair := _pair(item))]
    removed = params.get("TagKeys")
    keys = [key for key, _ in pairs] + ([str(key) for key in removed] if isinstance(removed, list) else [])
    return tuple(pairs), tuple(dict.fromkeys(keys))
