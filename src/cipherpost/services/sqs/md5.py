"""The MD5 digests SQS returns, computed exactly as AWS does (the SDKs verify them).

"Calculating the MD5 message digest for message attributes" (Amazon SQS Developer Guide):
attributes are sorted by name; for each, encode the name, the data type and the value,
each as a 4-byte big-endian length followed by the UTF-8 (or raw binary) bytes, with one
transport byte before the value (1 for String and Number, 2 for Binary); the digest is the
hex MD5 of the concatenation. ``MD5OfMessageSystemAttributes`` uses the same encoding.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from typing import Any

STRING_TRANSPORT = 1
BINARY_TRANSPORT = 2


def md5_of_body(body: str) -> str:
    """``MD5OfMessageBody``: hex MD5 of the body's UTF-8 bytes."""
    return hashlib.md5(body.encode("utf-8"), usedforsecurity=False).hexdigest()


def _length_prefixed(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def encode_attribute(name: str, value: Mapping[str, Any]) -> bytes:
    """One attribute's bytes in the digest encoding.

    Args:
        name: the attribute name.
        value: ``{"DataType": ..., "StringValue": str}`` or ``{"DataType": ..., "BinaryValue": bytes}``.
    """
    data_type: str = value["DataType"]
    out = _length_prefixed(name.encode("utf-8")) + _length_prefixed(data_type.encode("utf-8"))
    if data_type.startswith("Binary"):
        binary: bytes = value.get("BinaryValue") or b""
        return out + bytes([BINARY_TRANSPORT]) + _length_prefixed(binary)
    text: str = value.get("StringValue") or ""
    return out + bytes([STRING_TRANSPORT]) + _length_prefixed(text.encode("utf-8"))


def md5_of_attributes(attributes: Mapping[str, Mapping[str, Any]] | None) -> str | None:
    """``MD5OfMessageAttributes`` (or ``...SystemAttributes``); None when there are none."""
    if not attributes:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        digest.update(encode_attribute(name, attributes[name]))
    return digest.hexdigest()
