"""Scalar values on the wire: numbers, booleans, timestamps and blobs, both directions.

Readers raise ``ValueError`` on a value they cannot read; the protocol parsers turn that
into the service's validation error, naming the member.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final

_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
#: botocore writes non-finite floats as these strings (JSON has no literal for them).
NON_FINITE: Final = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def read_integer(text: str) -> int:
    """An integer written in decimal (no spaces, no ``_``), within a signed 64-bit long."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(text)
    return check_long(int(text))


def check_long(value: int) -> int:
    """``value`` if it fits a signed 64-bit integer (the widest integer AWS models use)."""
    if not -(2**63) <= value < 2**63:
        raise ValueError(value)
    return value


def read_float(text: str) -> float:
    """A float in decimal notation, or ``NaN``/``Infinity``/``-Infinity``."""
    if text in NON_FINITE:
        return NON_FINITE[text]
    if "_" in text or text.strip() != text:
        raise ValueError(text)
    return float(text)


def read_boolean(text: str) -> bool:
    """``true`` or ``false`` (any case)."""
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(text)


def read_blob(text: str) -> bytes:
    """Strict base64 (the only alphabet, padding required)."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(text) from exc


def read_timestamp_text(text: str) -> datetime:
    """ISO 8601 (``2024-05-01T12:00:00.123Z``), RFC 822, or epoch seconds; UTC-aware."""
    if _looks_numeric(text):
        return from_epoch(float(text))
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            value = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(text) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _looks_numeric(text: str) -> bool:
    return bool(text) and (text[0].isdigit() or text[0] == "-") and "-" not in text[1:]


def from_epoch(seconds: float) -> datetime:
    """A UTC datetime from epoch seconds, exact to the microsecond (the whole seconds are
    split off first: ``seconds * 1e6`` alone loses the last digit for present-day times)."""
    try:
        whole = math.floor(seconds)  # OverflowError for a huge int or an infinity
        return _EPOCH + timedelta(seconds=whole, microseconds=round((seconds - whole) * 1_000_000))
    except (OverflowError, ValueError) as exc:  # ValueError: NaN
        raise ValueError(seconds) from exc


def as_datetime(value: datetime | float | str) -> datetime:
    """A handler's timestamp (datetime, naive meaning UTC; epoch seconds; ISO text)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, str):
        return read_timestamp_text(value)
    return from_epoch(float(value))


def iso8601(value: datetime) -> str:
    """``2024-05-01T12:00:00Z``, or ``...00.123Z`` with milliseconds when there are some."""
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def epoch_seconds(value: datetime) -> int | float:
    """Epoch seconds: an int when whole, else a float to the millisecond."""
    delta = value - _EPOCH
    millis = delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000
    return millis // 1000 if millis % 1000 == 0 else millis / 1000


def format_timestamp(value: datetime | float | str, fmt: str) -> str | int | float:
    """A timestamp as ``fmt`` (``iso8601``, ``unixtimestamp``, ``rfc822``) wants it."""
    moment = as_datetime(value)
    if fmt == "unixtimestamp":
        return epoch_seconds(moment)
    if fmt == "rfc822":
        return format_datetime(moment.astimezone(UTC), usegmt=True)
    return iso8601(moment)


def write_blob(value: bytes | str) -> str:
    """Base64 of bytes (text is encoded as UTF-8 first)."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


def write_float_text(value: float) -> str:
    """A float as Query text (non-finite values spelt as botocore reads them)."""
    number = float(value)
    if math.isfinite(number):
        return repr(number)
    return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
