"""The ``pattern`` constraint of botocore string shapes, as Python regular expressions.

AWS's models write patterns in Java's regex dialect and validate a whole value against
them (``Matcher.matches()``). Python's ``re`` reads most of that dialect as it is; what
differs is translated here, once per pattern:

- ``\\p{L}``, ``\\p{Nd}``... (Unicode general categories; ``re`` has no ``\\p``) become
  explicit character ranges, built from ``unicodedata`` in one pass over all code points;
- ``\\uD83D\\uDE00`` (a UTF-16 surrogate pair, which Java matches as one character) becomes
  the code point it encodes;
- ``\\w``, ``\\d``, ``\\s`` are ASCII-only in Java unless asked otherwise: ``re.ASCII``.

A pattern this cannot translate is not enforced (:func:`model_pattern` returns ``None``);
the unit tests check that every pattern of every model we serve translates.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass
from typing import Final

_HIGH: Final = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)
_PROPERTY: Final = re.compile(r"\\([pP])\{([A-Za-z]{1,2})\}")


@dataclass(frozen=True, slots=True)
class ModelPattern:
    """A model's ``pattern``: its text as the model writes it (for messages) and its regex."""

    text: str
    regex: re.Pattern[str]

    def matches(self, value: str) -> bool:
        """Whether the whole of ``value`` satisfies the pattern (Java's ``matches()``)."""
        return self.regex.fullmatch(value) is not None


@functools.cache
def model_pattern(text: str) -> ModelPattern | None:
    """The compiled form of a model pattern, or ``None`` when it cannot be translated."""
    try:
        translated = translate(text)
        return ModelPattern(text, re.compile(translated, re.ASCII))
    except (re.error, ValueError):
        return None


def translate(text: str) -> str:
    """A Java-dialect pattern rewritten for Python's ``re`` (see the module docstring).

    Raises:
        ValueError: a construct with no translation (``\\P{..}`` inside a character class).
    """
    text = _HIGH.sub(_pair, text)
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            match = _PROPERTY.match(text, index)
            if match is None:
                out.append(text[index : index + 2])
                index += 2
                continue
            negated, ranges = match.group(1) == "P", category_ranges(match.group(2))
            if in_class and negated:
                raise ValueError(f"cannot translate {match.group(0)} inside a character class")
            out.append(ranges if in_class else f"[{'^' if negated else ''}{ranges}]")
            index = match.end()
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


def _pair(match: re.Match[str]) -> str:
    high, low = int(match.group(1), 16), int(match.group(2), 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


@functools.cache
def category_ranges(name: str) -> str:
    """The code points of the Unicode general category ``name`` (``L``, ``Lu``, ``Nd``...)
    as the inside of a character class.

    Raises:
        ValueError: no such category.
    """
    table = _categories()
    found = [ranges for category, ranges in table.items() if category.startswith(name)]
    if not found:
        raise ValueError(f"no Unicode general category {name!r}")
    spans = sorted(span for ranges in found for span in ranges)
    return "".join(f"\\U{low:08X}" if low == high else f"\\U{low:08X}-\\U{high:08X}" for low, high in spans)


@functools.cache
def _categories() -> dict[str, list[tuple[int, int]]]:
    """Every general category's code points as (first, last) runs: one pass, ~0.1 s, once."""
    table: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, unicodedata.category("\x00")
    for code in range(1, sys.maxunicode + 2):
        category = unicodedata.category(chr(code)) if code <= sys.maxunicode else ""
        if category != current:
            table.setdefault(current, []).append((start, code - 1))
            start, current = code, category
    return table
