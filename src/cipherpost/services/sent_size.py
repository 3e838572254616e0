"""How many bytes a message counts toward SNS's and SQS's batch size limits, read from the
request as sent, before (and whatever) its validation: its text plus each message attribute's
name, data type and value, in UTF-8. A lone surrogate counts as the three bytes it would take;
the checks that follow refuse it with the service's own error, so nothing here can fail."""

from __future__ import annotations

from collections.abc import Mapping


def _utf8(value: object) -> int:
    return len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else 0


def sent_size(text: object, attributes: object) -> int:
    """Bytes of ``text`` and of ``attributes`` (``{name: {DataType, StringValue|BinaryValue}}``)."""
    size = _utf8(text)
    for name, value in attributes.items() if isinstance(attributes, Mapping) else ():
        size += _utf8(name)
        if isinstance(value, Mapping):
            binary = value.get("BinaryValue")
            size += _utf8(value.get("DataType"))
            size += len(binary) if isinstance(binary, bytes | bytearray) else _utf8(value.get("StringValue"))
    return size
