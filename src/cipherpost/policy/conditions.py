"""The Condition element: operators, set qualifiers, ``IfExists`` and ``Null``.

IAM User Guide, "IAM JSON policy elements: Condition operators" and "Multivalued context
keys". The semantics implemented here, per condition ``{operator: {key: values}}``:

- Values listed for one key are ORed; keys and operators are ANDed (by the caller).
- Keys are case-insensitive, values case-sensitive (except the ``...IgnoreCase`` operators).
- A missing key makes a positive operator false and a negated one (``StringNotEquals``,
  ``NotIpAddress``, ``ArnNotLike``, ...) true; ``...IfExists`` makes either true.
- ``ForAnyValue:`` needs one request value to satisfy the operator (false for an empty or
  missing set); ``ForAllValues:`` needs every request value to (true for an empty or
  missing set). A negated operator under a qualifier is negated per request value.
- Without a qualifier, a positive operator behaves like ``ForAnyValue:`` and a negated one
  is true when no request value matches any policy value.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cipherpost.policy.errors import PolicySyntaxError
from cipherpost.policy.matching import Matcher, any_matches
from cipherpost.policy.variables import Facts

#: "Does some policy value match this one request value?"
ValueTest = Callable[[str, Facts], bool]
#: Builds a ValueTest from the policy values (and whether variables are substituted).
Builder = Callable[[tuple[str, ...], bool], ValueTest]


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``operator: {key: values}`` pair, with its values compiled."""

    operator: str
    """The operator as written, e.g. ``ForAllValues:StringLikeIfExists``."""
    key: str
    """The condition key, lower-cased."""
    qualifier: str = ""
    """``""``, ``"ForAnyValue"`` or ``"ForAllValues"``."""
    if_exists: bool = False
    negated: bool = False
    null: bool | None = None
    """For ``Null``: True when the policy requires the key to be absent."""
    test: ValueTest | None = field(default=None, repr=False, compare=False)

    def holds(self, facts: Facts) -> bool:
        """Whether the condition is satisfied by the request facts."""
        values = facts.get(self.key)
        if self.null is not None:
            return (not values) == self.null
        if not values:
            if self.if_exists or self.qualifier == "ForAllValues":
                return True
            return self.negated and self.qualifier != "ForAnyValue"
        if self.qualifier == "ForAllValues" or (self.negated and not self.qualifier):
            return all(self._satisfied_by(value, facts) for value in values)
        return any(self._satisfied_by(value, facts) for value in values)

    def _satisfied_by(self, value: str, facts: Facts) -> bool:
        assert self.test is not None
        return self.test(value, facts) != self.negated


def _string_builder(*, wildcards: bool, ignore_case: bool = False, arn: bool = False) -> Builder:
    def build(values: tuple[str, ...], variables: bool) -> ValueTest:
        matchers = tuple(
            Matcher(value, variables=variables, wildcards=wildcards, ignore_case=ignore_case, arn=arn)
            for value in values
        )
        return lambda value, facts: any_matches(matchers, value, facts)

    return build


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _epoch(text: str) -> float | None:
    """ISO 8601 (``2024-01-31``, ``2024-01-31T12:00:00Z``) or epoch seconds; naive means UTC."""
    number = _number(text)
    if number is not None:
        return number
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _ordered_builder(
    parse: Callable[[str], float | None], kind: str, compare: Callable[[float, float], bool]
) -> Builder:
    def build(values: tuple[str, ...], _variables: bool) -> ValueTest:
        bounds = tuple(_parsed(parse, value, kind) for value in values)

        def test(value: str, _facts: Facts) -> bool:
            number = parse(value)
            return number is not None and any(compare(number, bound) for bound in bounds)

        return test

    return build


def _parsed(parse: Callable[[str], float | None], value: str, kind: str) -> float:
    number = parse(value)
    if number is None:
        raise PolicySyntaxError(f"Invalid {kind} value in Condition: {value!r}")
    return number


def _bool_builder(values: tuple[str, ...], _variables: bool) -> ValueTest:
    if any(value.lower() not in ("true", "false") for value in values):
        raise PolicySyntaxError(f"Bool condition values must be true or false, not {values!r}")
    wanted = frozenset(value.lower() for value in values)
    return lambda value, _facts: value.lower() in wanted


def _decode(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _binary_builder(values: tuple[str, ...], _variables: bool) -> ValueTest:
    decoded = [_decode(value) for value in values]
    if any(blob is None for blob in decoded):
        raise PolicySyntaxError(f"BinaryEquals condition values must be base64, not {values!r}")
    wanted = frozenset(blob for blob in decoded if blob is not None)
    return lambda value, _facts: _decode(value) in wanted


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(value: str) -> Network:
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PolicySyntaxError(f"Invalid IP address or CIDR block in Condition: {value!r}") from None


def _ip_builder(values: tuple[str, ...], _variables: bool) -> ValueTest:
    networks = tuple(_network(value) for value in values)

    def test(value: str, _facts: Facts) -> bool:
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        return any(address in network for network in networks)

    return test


def _comparisons(prefix: str, parse: Callable[[str], float | None], kind: str) -> dict[str, tuple[Builder, bool]]:
    equal = _ordered_builder(parse, kind, operator.eq)
    return {
        f"{prefix}equals": (equal, False),
        f"{prefix}notequals": (equal, True),
        f"{prefix}lessthan": (_ordered_builder(parse, kind, operator.lt), False),
        f"{prefix}lessthanequals": (_ordered_builder(parse, kind, operator.le), False),
        f"{prefix}greaterthan": (_ordered_builder(parse, kind, operator.gt), False),
        f"{prefix}greaterthanequals": (_ordered_builder(parse, kind, operator.ge), False),
    }


_STRING = _string_builder(wildcards=False)
_STRING_IC = _string_builder(wildcards=False, ignore_case=True)
_STRING_LIKE = _string_builder(wildcards=True)
# ArnEquals and ArnLike are documented together: both match component-wise with wildcards.
_ARN = _string_builder(wildcards=True, arn=True)

#: Lower-cased base operator -> (builder, negated).
OPERATORS: Mapping[str, tuple[Builder, bool]] = {
    "stringequals": (_STRING, False),
    "stringnotequals": (_STRING, True),
    "stringequalsignorecase": (_STRING_IC, False),
    "stringnotequalsignorecase": (_STRING_IC, True),
    "stringlike": (_STRING_LIKE, False),
    "stringnotlike": (_STRING_LIKE, True),
    **_comparisons("numeric", _number, "numeric"),
    **_comparisons("date", _epoch, "date"),
    "bool": (_bool_builder, False),
    "binaryequals": (_binary_builder, False),
    "ipaddress": (_ip_builder, False),
    "notipaddress": (_ip_builder, True),
    "arnequals": (_ARN, False),
    "arnlike": (_ARN, False),
    "arnnotequals": (_ARN, True),
    "arnnotlike": (_ARN, True),
}
_QUALIFIERS = {"foranyvalue:": "ForAnyValue", "forallvalues:": "ForAllValues"}
_IF_EXISTS = "ifexists"


def parse_conditions(block: object, *, variables: bool) -> tuple[Condition, ...]:
    """Parse a statement's Condition element.

    :param variables: whether policy variables are substituted (Version 2012-10-17).
    :raises PolicySyntaxError: on an unknown operator or a malformed key or value.
    """
    if not isinstance(block, Mapping):
        raise PolicySyntaxError("Condition must be a map of operators to {key: values} maps")
    conditions: list[Condition] = []
    for op, entries in block.items():
        if not isinstance(entries, Mapping) or not entries:
            raise PolicySyntaxError(f"Condition operator {op} must map to a non-empty {{key: values}} map")
        for key, raw in entries.items():
            conditions.append(_parse_one(str(op), key, raw, variables))
    return tuple(conditions)


def _parse_one(op: str, key: object, raw: object, variables: bool) -> Condition:
    if not isinstance(key, str) or not key.strip():
        raise PolicySyntaxError(f"Condition keys under {op} must be non-empty strings")
    values = _values(raw, op)
    qualifier, base, if_exists = _split_operator(op)
    if base == "null":
        if qualifier or if_exists or any(v.lower() not in ("true", "false") for v in values):
            raise PolicySyntaxError(f"Invalid Null condition: {op} {key} {values!r}")
        return Condition(op, key.lower(), null=values[0].lower() == "true")
    if base not in OPERATORS:
        raise PolicySyntaxError(f"Unknown condition operator: {op}")
    build, negated = OPERATORS[base]
    test = build(values, variables)
    return Condition(op, key.lower(), qualifier, if_exists, negated, None, test)


def _split_operator(op: str) -> tuple[str, str, bool]:
    base = op.lower()
    qualifier = ""
    for prefix, name in _QUALIFIERS.items():
        if base.startswith(prefix):
            qualifier, base = name, base[len(prefix) :]
    if_exists = base.endswith(_IF_EXISTS) and base != _IF_EXISTS
    return qualifier, base.removesuffix(_IF_EXISTS) if if_exists else base, if_exists


def _values(raw: object, op: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicySyntaxError(f"Condition {op} has an empty list of values")
    return tuple(_scalar(item, op) for item in items)


def _scalar(item: object, op: str) -> str:
    # JSON numbers and booleans are accepted and compared as their text (IAM does likewise).
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str | int | float):
        return str(item)
    raise PolicySyntaxError(f"Condition {op} values must be strings, numbers or booleans")
