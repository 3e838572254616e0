"""The conditions of SNS filter policies: one entry of a key's list, compiled once.

A key's list in a filter policy (``"price_usd": [{"numeric": [">", 100]}, 5]``) holds
*conditions*; the key matches when any of them matches (OR within a key). Each entry is
either a literal (exact match) or a one-key object naming an operator. The operators are
a table, :data:`OPERATORS`, from name to compiler; a compiler validates the operand and
returns a :class:`Condition`.

Values from messages are :data:`Scalar`: JSON scalars, numbers as :class:`~decimal.Decimal`.
Matching is typed, as AWS documents it: string operators (exact string, prefix, suffix,
equals-ignore-case, cidr) apply only to strings, numeric operators (exact number, numeric
ranges) only to numbers, so the string ``"300"`` never matches the number ``300`` and
vice versa. ``anything-but`` is the negation of such an exact match: it matches every value
that is not excluded, whatever its type (AWS: "matches any message attribute or message
body values that don't include any of the policy property values"), so
``{"anything-but": ["100"]}`` matches the number ``100``. Numbers compare as AWS compares
them: within -1e9..1e9, to five decimal places (AWS "Filter policy constraints": numeric
matching).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from cipherpost.services.sns.errors import filter_policy_error

__all__ = [
    "OPERATORS",
    "Condition",
    "LiteralKey",
    "Scalar",
    "comparable_number",
    "compile_entry",
    "literal_key",
]

#: A leaf value of a message: a JSON scalar, with numbers as Decimal.
Scalar = str | Decimal | bool | None
#: A literal tagged by its type, so that ``True``, ``1`` and ``"1"`` never collide.
LiteralKey = tuple[str, object]

NUMERIC_LIMIT = Decimal(1_000_000_000)
_PRECISION = Decimal("0.00001")  # five digits after the decimal point
_RANGE_OPERATORS = ("=", "<", "<=", ">", ">=")


def comparable_number(value: object) -> Decimal | None:
    """``value`` as AWS compares numbers (in range, rounded to 5 decimals), else ``None``."""
    if not isinstance(value, Decimal) or not value.is_finite() or abs(value) > NUMERIC_LIMIT:
        return None
    return value.quantize(_PRECISION, rounding=ROUND_HALF_EVEN)


def literal_key(value: object) -> LiteralKey | None:
    """The type-tagged key of an exact match on ``value``; ``None`` if it cannot be matched."""
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, bool):
        return ("b", value)
    if value is None:
        return ("z", None)
    number = comparable_number(value)
    return None if number is None else ("n", number)


@dataclass(frozen=True, slots=True)
class Condition:
    """One compiled operator entry.

    :ivar kind: the operator name (for ``repr`` and debugging).
    :ivar test: decides one leaf value.
    :ivar exists: for ``exists`` conditions, the expected presence; ``test`` is unused.
    """

    kind: str
    test: Callable[[Scalar], bool]
    exists: bool | None = None

    def matches(self, values: Sequence[Scalar]) -> bool:
        """Whether the key's values (empty when the key is absent) satisfy the condition."""
        if self.exists is not None:
            return bool(values) is self.exists
        return any(self.test(value) for value in values)


def compile_entry(entry: object) -> LiteralKey | Condition:
    """Compile one entry of a key's list: a literal, or a one-key operator object.

    :raises InvalidFilterPolicy: the entry is not a valid literal or operator.
    """
    if isinstance(entry, dict):
        if len(entry) != 1:
            raise filter_policy_error("Only one key allowed in match expression")
        ((name, operand),) = entry.items()
        compiler = OPERATORS.get(name)
        if compiler is None:
            raise filter_policy_error(f"Unrecognized match type {name}")
        return compiler(operand)
    if isinstance(entry, list):
        raise filter_policy_error("Match value must be String, number, true, false, or null")
    return _policy_literal(entry)


def _policy_literal(value: object) -> LiteralKey:
    """A literal of the policy; numbers must be within AWS's documented range."""
    if isinstance(value, Decimal):
        _policy_number(value, "numeric match")
    key = literal_key(value)
    if key is None:  # not reachable for JSON input; kept for direct callers
        raise filter_policy_error("Match value must be String, number, true, false, or null")
    return key


def _policy_number(value: object, what: str) -> Decimal:
    """A policy number, range-checked and rounded as AWS compares numbers."""
    if not isinstance(value, Decimal):
        raise filter_policy_error(f"Value of {what} must be numeric")
    number = comparable_number(value)
    if number is None:
        raise filter_policy_error(f"Value of {what} must be between -{NUMERIC_LIMIT} and {NUMERIC_LIMIT} (got {value})")
    return number


def _string_operand(name: str, operand: object) -> str:
    if not isinstance(operand, str):
        raise filter_policy_error(f"{name} match pattern must be a string")
    return operand


def _prefix(operand: object) -> Condition:
    prefix = _string_operand("prefix", operand)
    return Condition("prefix", lambda v: isinstance(v, str) and v.startswith(prefix))


def _suffix(operand: object) -> Condition:
    suffix = _string_operand("suffix", operand)
    return Condition("suffix", lambda v: isinstance(v, str) and v.endswith(suffix))


def _equals_ignore_case(operand: object) -> Condition:
    folded = _string_operand("equals-ignore-case", operand).lower()
    return Condition("equals-ignore-case", lambda v: isinstance(v, str) and v.lower() == folded)


def _exists(operand: object) -> Condition:
    if not isinstance(operand, bool):
        raise filter_policy_error("exists match pattern must be either true or false.")
    return Condition("exists", lambda _v: True, exists=operand)


def _cidr(operand: object) -> Condition:
    """IP address matching on strings (AWS: ``{"cidr": "10.0.0.0/24"}``, IPv4 and IPv6)."""
    # AWS's texts: a non-string operand is refused as "prefix match pattern must be a string"
    # (sic); the mask is checked before the address, and the error names the address alone.
    text = _string_operand("prefix", operand)
    if text.count("/") != 1:
        raise filter_policy_error("Malformed CIDR, one '/' required")
    address, _, mask = text.partition("/")
    if not mask.isascii() or not mask.isdigit():
        raise filter_policy_error("Malformed CIDR, mask bits must be an integer")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise filter_policy_error(f"Nonstandard IP address: {address}") from None
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:  # a mask too long for the address
        raise filter_policy_error(f"Nonstandard IP address: {text}") from None

    def test(value: Scalar) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return Condition("cidr", test)


def _numeric(operand: object) -> Condition:
    """``{"numeric": ["=", 5]}``, one bound, or a lower then an upper bound: ``[">", 0, "<=", 150]``.

    Read left to right as AWS reads it: an operator, its number, and after a lower bound
    (``>``, ``>=``) optionally an upper one (``<``, ``<=``); nothing may follow ``=`` or an
    upper bound, so ``["<", 100, ">", 10]`` is refused ("Too many elements"), as is anything
    after a complete range ("Too many terms").
    """
    if not isinstance(operand, list):
        raise filter_policy_error("Value of numeric must be an array.")
    items = iter(operand)
    first = next(items, _END)
    if not isinstance(first, str):
        raise filter_policy_error(f"Invalid member in numeric match: {_token(first)}")
    if first not in _RANGE_OPERATORS:
        raise filter_policy_error(f"Unrecognized numeric range operator: {first}")
    side = "=" if first == "=" else "lower" if first.startswith(">") else "upper"
    value = _policy_number(next(items, None), "equals" if first == "=" else first)
    bounds = {side: (value, first not in (">", "<"))}  # "="/"lower"/"upper" -> (value, inclusive)
    if side == "lower":
        second = next(items, _END)
        if second is not _END:
            if not isinstance(second, str):
                raise filter_policy_error(f"Bad value in numeric range: {_token(second)}")
            if second not in ("<", "<="):
                raise filter_policy_error(f"Bad numeric range operator: {second}")
            bounds["upper"] = (_policy_number(next(items, None), second), second == "<=")
            if bounds["lower"][0] >= bounds["upper"][0]:
                raise filter_policy_error("Bottom must be less than top")
    if next(items, _END) is not _END:  # AWS words the two cases differently
        raise filter_policy_error("Too many terms in numeric range expression" if len(bounds) == 2
                                  else "Too many elements in numeric expression")
    return Condition("numeric", _range_test(bounds))


_END = object()  # the end of a numeric expression's array


def _token(value: object) -> str:
    """How AWS names a misplaced member of a numeric expression: its JSON token."""
    if value is _END:
        return "]"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, list | dict):
        return "[" if isinstance(value, list) else "{"
    return str(value)


def _range_test(bounds: Mapping[str, tuple[Decimal, bool]]) -> Callable[[Scalar], bool]:
    equal, lower, upper = bounds.get("="), bounds.get("lower"), bounds.get("upper")

    def test(value: Scalar) -> bool:
        number = comparable_number(value)
        if number is None:
            return False
        if equal is not None:
            return number == equal[0]
        if lower is not None and not (number >= lower[0] if lower[1] else number > lower[0]):
            return False
        return upper is None or (number <= upper[0] if upper[1] else number < upper[0])

    return test


def _anything_but(operand: object) -> Condition:
    """Anything but: a value, a list of values, or ``{"prefix": p}``.

    It matches any value that is not excluded, of whatever type: ``{"anything-but": ["a"]}``
    matches the number ``5`` and ``{"anything-but": {"prefix": "a"}}`` matches ``true``.
    SNS takes no other operator inside (AWS documents prefix alone; recorded against AWS,
    ``suffix`` and ``exists`` there are refused as ``Unsupported anything-but pattern``).
    """
    if isinstance(operand, dict):
        return _anything_but_pattern(operand)
    if isinstance(operand, list):
        if not operand:
            raise filter_policy_error("Empty arrays are not allowed")
        excluded = frozenset(_anything_but_value(item, inside_list=True) for item in operand)
    else:
        excluded = frozenset({_anything_but_value(operand, inside_list=False)})

    def test(value: Scalar) -> bool:
        return literal_key(value) not in excluded

    return Condition("anything-but", test)


def _anything_but_value(value: object, *, inside_list: bool) -> LiteralKey:
    if isinstance(value, str | Decimal) and not isinstance(value, bool):
        return _policy_literal(value)
    if inside_list:
        raise filter_policy_error("Inside anything-but list, only strings and numbers are supported")
    raise filter_policy_error("Value of anything-but must be an array or single string/number value")


def _anything_but_pattern(operand: dict[str, object]) -> Condition:
    if len(operand) != 1:
        raise filter_policy_error("Only one key allowed in match expression")
    ((name, pattern),) = operand.items()
    if name != "prefix":
        raise filter_policy_error(f"Unsupported anything-but pattern: {name}")
    text = _string_operand(name, pattern)
    return Condition("anything-but", lambda v: not (isinstance(v, str) and v.startswith(text)))


#: Behaviour as data: operator name -> compiler of its operand. These names are also
#: the "reserved keywords" that stop an ``$or`` array from being read as OR (AWS docs).
OPERATORS: Mapping[str, Callable[[object], Condition]] = {
    "prefix": _prefix,
    "suffix": _suffix,
    "equals-ignore-case": _equals_ignore_case,
    "anything-but": _anything_but,
    "numeric": _numeric,
    "exists": _exists,
    "cidr": _cidr,
}
