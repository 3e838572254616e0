"""SNS subscription filter policies: parse and validate once, match every published message.

A policy is a JSON object. Each key names a message attribute (``FilterPolicyScope`` =
``MessageAttributes``, the default) or a property of the JSON message body
(``MessageBody``, where objects nest). Keys are ANDed; the entries of a key's list are
ORed (see :mod:`.filter_operators` for the entries). ``"$or": [{...}, {...}]`` ORs whole
sub-policies, at the top level or nested.

Rules taken from AWS's documentation ("Filter policy constraints", "AND/OR logic",
"Attribute-based" / "Payload-based" filtering):

- ``$or`` is an operator only when its value is an array of at least two objects, none of
  whose keys is an operator name; otherwise ``"$or"`` is an ordinary key.
- At most 5 keys: every key in attribute scope; in body scope only the top-level keys
  (nested keys do not count). With ``$or``, each alternative is counted on its own, since
  a policy with ``$or`` means "this policy or that one" (the largest alternative counts).
- At most 150 combinations: the product of the sizes of the lists, where an ``$or``
  contributes the sum of its alternatives' combinations (the size of the expanded OR). In
  body scope a nested list counts its size times its nesting level ("multiplying the number
  of nested keys with the values in each array": a 4-value list three levels down counts
  3 x 4), so ``{"a": {"b": {"c": [4 values]}}, "d": {"e": [3 values]}}`` is 3x4 x 2x3 = 72.
- At most 256 KB of UTF-8; attribute scope allows no nested objects.
- AWS compares only String, String.Array and Number attributes; Binary ones are ignored
  (treated as absent). A body that is not a JSON object matches nothing.
- In body scope a key with dots names both the literal key and the nested path (every
  split of it: ``"a.b"`` matches ``{"a.b": ...}`` and ``{"a": {"b": ...}}``).

AWS documents no nesting limit; we refuse policies nested deeper than
:data:`MAX_NESTING_DEPTH` objects so that parsing and matching stay bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol, TypeGuard

from cipherpost.services.sns.errors import InvalidAttribute, InvalidFilterPolicy, filter_policy_error
from cipherpost.services.sns.filter_operators import (
    OPERATORS,
    Condition,
    LiteralKey,
    Scalar,
    compile_entry,
    literal_key,
)

__all__ = [
    "MAX_COMBINATIONS",
    "MAX_KEYS",
    "MAX_NESTING_DEPTH",
    "MAX_POLICY_BYTES",
    "SCOPES",
    "FilterPolicy",
    "InvalidFilterPolicy",
    "ParsedBody",
    "parse_body",
    "parse_filter_policy",
]

SCOPES = ("MessageAttributes", "MessageBody")
MAX_KEYS = 5
MAX_COMBINATIONS = 150
MAX_POLICY_BYTES = 256 * 1024
MAX_NESTING_DEPTH = 32
_OR = "$or"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


@dataclass(frozen=True, slots=True)
class _KeyRule:
    """A key's list: exact literals in a set, operator conditions in a tuple; any may match."""

    key: str
    literals: frozenset[LiteralKey]
    conditions: tuple[Condition, ...]
    size: int  # entries in the list, for the combination count

    def matches(self, values: Sequence[Scalar]) -> bool:
        if self.literals and any(literal_key(value) in self.literals for value in values):
            return True
        return any(condition.matches(values) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class _Node:
    """A policy object: its key rules, nested objects (body scope) and ``$or`` groups."""

    rules: tuple[_KeyRule, ...]
    children: tuple[tuple[str, _Node], ...]
    alternatives: tuple[tuple[_Node, ...], ...]

    def key_count(self) -> int:
        """Keys counted toward :data:`MAX_KEYS` (this level only; largest ``$or`` branch)."""
        ors = sum(max(branch.key_count() for branch in group) for group in self.alternatives)
        return len(self.rules) + len(self.children) + ors

    def combinations(self, level: int = 1) -> int:
        """AWS's complexity of this object at nesting ``level`` (1: the top), capped: each
        list counts ``level`` x its size; an ``$or`` (same level) the sum of its branches."""
        total = 1
        for rule in self.rules:
            total = min(total * level * rule.size, MAX_COMBINATIONS + 1)
        for _, child in self.children:
            total = min(total * child.combinations(level + 1), MAX_COMBINATIONS + 1)
        for group in self.alternatives:
            total = min(total * sum(branch.combinations(level) for branch in group), MAX_COMBINATIONS + 1)
        return total


class _Document(Protocol):
    """What matching needs from a message: leaf values and nested objects by key."""

    def values(self, key: str) -> Sequence[Scalar]: ...

    def children(self, key: str) -> Sequence[_Document]: ...


def _node_matches(node: _Node, document: _Document) -> bool:
    """AND across keys and ``$or`` groups; a nested object matches in any array element."""
    return (
        all(rule.matches(document.values(rule.key)) for rule in node.rules)
        and all(any(_node_matches(child, doc) for doc in document.children(key)) for key, child in node.children)
        and all(any(_node_matches(branch, document) for branch in group) for group in node.alternatives)
    )


@dataclass(frozen=True, slots=True)
class FilterPolicy:
    """A parsed, validated filter policy. Immutable; cache one per subscription."""

    scope: str
    _root: _Node

    def matches_attributes(self, message_attributes: Mapping[str, Mapping[str, object]]) -> bool:
        """Match the message attributes (``{"name": {"DataType": ..., "StringValue": ...}}``)."""
        return _node_matches(self._root, _Attributes(message_attributes))

    def matches_body(self, body: str | ParsedBody | None) -> bool:
        """Match the message body parsed as JSON; a body that is not a JSON object matches
        nothing. Fan-out parses a body once with :func:`parse_body` and passes the result."""
        parsed = parse_body(body) if isinstance(body, str) else body
        return parsed is not None and _node_matches(self._root, parsed)

    def matches(self, *, message_attributes: Mapping[str, Mapping[str, object]], body: str) -> bool:
        """Match whichever part of the message :attr:`scope` names."""
        if self.scope == "MessageBody":
            return self.matches_body(body)
        return self.matches_attributes(message_attributes)


def parse_body(body: str) -> ParsedBody | None:
    """A message body ready for :meth:`FilterPolicy.matches_body`, or ``None`` when it is
    not a JSON object (then no body-scope policy matches it)."""
    try:
        document = _loads(body)
    except (ValueError, RecursionError):
        return None
    return ParsedBody(document) if isinstance(document, dict) else None


def parse_filter_policy(text: str, *, scope: str) -> FilterPolicy:
    """Parse and validate a ``FilterPolicy`` attribute value.

    :param text: the policy JSON.
    :param scope: ``"MessageAttributes"`` or ``"MessageBody"`` (``FilterPolicyScope``).
    :returns: the compiled policy.
    :raises InvalidFilterPolicy: the policy is malformed or exceeds AWS's limits; the
        message is AWS's ``Invalid parameter: FilterPolicy: ...``.
    :raises InvalidAttribute: ``scope`` is not a valid ``FilterPolicyScope``.
    """
    if scope not in SCOPES:
        raise InvalidAttribute(
            f"FilterPolicyScope: Invalid value [{scope}]. Please use either MessageBody or MessageAttributes"
        )
    # Size first (cheap, and bounds the parse); a lone surrogate cannot be UTF-8.
    if len(text) > MAX_POLICY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise filter_policy_error(f"Filter policy must not be larger than {MAX_POLICY_BYTES} bytes")
    try:
        text.encode("utf-8")
        document = _loads(text)
    except (ValueError, RecursionError):
        raise filter_policy_error("failed to parse JSON.") from None
    if not isinstance(document, dict):
        raise filter_policy_error("Filter policy must be a JSON object")
    root = _parse_node(document, scope, depth=1)
    if root.key_count() > MAX_KEYS:
        raise filter_policy_error(f"Filter policy can not have more than {MAX_KEYS} keys")
    if root.combinations() > MAX_COMBINATIONS:
        raise filter_policy_error("Filter policy is too complex")
    return FilterPolicy(scope, root)


def _loads(text: str) -> object:
    """JSON with exact numbers (Decimal); NaN and Infinity are not JSON and are refused."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _parse_node(obj: Mapping[str, object], scope: str, *, depth: int) -> _Node:
    if depth > MAX_NESTING_DEPTH:
        raise filter_policy_error(f"Filter policy can not be nested deeper than {MAX_NESTING_DEPTH} levels")
    rules: list[_KeyRule] = []
    children: list[tuple[str, _Node]] = []
    alternatives: list[tuple[_Node, ...]] = []
    for key, value in obj.items():
        branches = _or_branches(value) if key == _OR else None
        if branches is not None:
            alternatives.append(tuple(_parse_node(branch, scope, depth=depth + 1) for branch in branches))
        elif isinstance(value, dict):
            child = _parse_node(value, scope, depth=depth + 1)  # AWS reports what is wrong inside first
            if scope == "MessageAttributes":
                raise InvalidFilterPolicy("Filter policy scope MessageAttributes does not support nested filter "
                                          "policy")
            children.append((key, child))
        elif isinstance(value, list):
            rules.append(_parse_rule(key, value))
        else:
            raise filter_policy_error(f'"{key}" must be an object or an array')
    return _Node(tuple(rules), tuple(children), tuple(alternatives))


def _or_branches(value: object) -> list[dict[str, object]] | None:
    """The alternatives of an ``$or``, or ``None`` when AWS reads ``"$or"`` as a plain key:
    OR needs an array of at least two objects, none of which uses an operator name."""
    if not isinstance(value, list) or len(value) < 2:
        return None
    branches = [branch for branch in value if isinstance(branch, dict)]
    if len(branches) != len(value) or any(key in OPERATORS for branch in branches for key in branch):
        return None
    return branches


def _parse_rule(key: str, entries: list[object]) -> _KeyRule:
    if not entries:
        raise filter_policy_error("Empty arrays are not allowed")
    literals: set[LiteralKey] = set()
    conditions: list[Condition] = []
    for entry in entries:
        compiled = compile_entry(entry)
        if isinstance(compiled, Condition):
            conditions.append(compiled)
        else:
            literals.add(compiled)
    return _KeyRule(key, frozenset(literals), tuple(conditions), len(entries))


class _Attributes:
    """Message attributes as a document, converted lazily (only the keys a policy names)."""

    __slots__ = ("_attributes",)

    def __init__(self, attributes: Mapping[str, Mapping[str, object]]) -> None:
        self._attributes = attributes

    def values(self, key: str) -> Sequence[Scalar]:
        attribute = self._attributes.get(key)
        return () if attribute is None else _attribute_values(attribute)

    def children(self, key: str) -> Sequence[_Document]:
        return (_EMPTY,)  # attribute scope has no nested objects


def _attribute_values(attribute: Mapping[str, object]) -> Sequence[Scalar]:
    """String -> the string; Number -> the number; String.Array -> its scalar elements.

    Binary attributes (and anything malformed, which Publish rejects anyway) are treated
    as absent: AWS compares only String, String.Array and Number attributes.
    """
    data_type, text = attribute.get("DataType"), attribute.get("StringValue")
    if not isinstance(data_type, str) or not isinstance(text, str):
        return ()
    if data_type == "String.Array":
        try:
            array = _loads(text)
        except (ValueError, RecursionError):
            return ()
        return _leaf_values(array) if isinstance(array, list) else ()
    base = data_type.split(".", 1)[0]  # custom type labels: "Number.float", "String.id"
    if base == "String":
        return (text,)
    if base == "Number" and _NUMBER.fullmatch(text):
        try:
            return (Decimal(text),)
        except InvalidOperation:
            return ()
    return ()


class ParsedBody:
    """A message body's JSON object, parsed once (:func:`parse_body`) and matched against
    any number of body-scope policies."""

    __slots__ = ("_object",)

    def __init__(self, obj: Mapping[str, object]) -> None:
        self._object = obj

    def values(self, key: str) -> Sequence[Scalar]:
        if "." not in key:
            return _leaf_values(self._object[key]) if key in self._object else ()
        return [leaf for value in _dotted(self._object, key) for leaf in _leaf_values(value)]

    def children(self, key: str) -> Sequence[_Document]:
        """The objects under ``key`` (each element of an array of objects), or one empty
        object, so that ``exists: false`` below a missing key still matches."""
        found = _dotted(self._object, key) if "." in key else [self._object.get(key)]
        items = [item for value in found for item in (_flatten(value) if isinstance(value, list) else [value])]
        objects: list[_Document] = [ParsedBody(item) for item in items if isinstance(item, dict)]
        return objects or (_EMPTY,)


def _dotted(obj: Mapping[str, object], key: str) -> list[object]:
    """What a policy key with dots names in a body: AWS reads ``"a.b"`` both as the literal
    key ``"a.b"`` and as the path ``a`` -> ``b`` (through arrays of objects too), and so for
    every way of splitting a deeper dotted key (``"a.b.c"``: ``a.b.c``, ``a`` -> ``b.c``,
    ``a.b`` -> ``c``, ``a`` -> ``b`` -> ``c``)."""
    found: list[object] = [obj[key]] if key in obj else []
    start = key.find(".")
    while start != -1:
        head, rest = key[:start], key[start + 1:]
        value = obj.get(head)
        for item in _flatten(value) if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found += _dotted(item, rest)
        start = key.find(".", start + 1)
    return found


def _leaf_values(value: object) -> Sequence[Scalar]:
    """The scalars a key holds: itself, or every scalar of an array (nested arrays
    flattened). An object is not a leaf (AWS: ``exists`` applies to leaf nodes only)."""
    if isinstance(value, list):
        return [item for item in _flatten(value) if _is_scalar(item)]
    return (value,) if _is_scalar(value) else ()


def _is_scalar(value: object) -> TypeGuard[Scalar]:
    return value is None or isinstance(value, str | Decimal | bool)


def _flatten(values: list[object]) -> list[object]:
    flat: list[object] = []
    stack = [iter(values)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


_EMPTY = ParsedBody({})
