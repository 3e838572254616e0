"""Length-prefixed framing shared by the formats that build associated data."""

from __future__ import annotations

_U32_MAX = 0xFFFFFFFF


def u32_prefixed(data: bytes) -> bytes:
    """``len(data)`` as a 4-byte big-endian integer, then ``data``.

    Length prefixes make a sequence of fields unambiguous: ``("ab", "c")`` and
    ``("a", "bc")`` frame differently.

    :raises ValueError: if ``data`` is 4 GiB or longer.
    """
    if len(data) > _U32_MAX:
        raise ValueError("field too long to frame")
    return len(data).to_bytes(4, "big") + data


def text_field(text: str) -> bytes:
    """``text`` as UTF-8, length-prefixed (see :func:`u32_prefixed`).

    :raises ValueError: if ``text`` cannot be encoded (e.g. it holds a lone surrogate).
    """
    try:
        return u32_prefixed(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ValueError("text is not encodable as UTF-8") from exc
