"""Plans: botocore shapes compiled once into small typed objects the wire code walks.

A :class:`Plan` holds what parsing and serializing need of one shape reference — its
kind, members with their wire names, required set, enum, ``pattern``, list/map parts,
``flattened``, ``timestampFormat`` — so the hot path reads plain attributes instead of
botocore's merged-trait lookups. Plans are built per operation at first use and cached; a
shape that contains itself (recursion) gets the same ``Plan`` object back, so compiling
ends.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Final

from cipherpost.protocol import registry
from cipherpost.protocol.patterns import ModelPattern, model_pattern
from cipherpost.protocol.registry import BotoShape

#: botocore type names folded into the few kinds the wire code distinguishes.
KINDS: Final = {
    "structure": "structure",
    "list": "list",
    "map": "map",
    "string": "string",
    "character": "string",
    "boolean": "boolean",
    "integer": "integer",
    "long": "integer",
    "byte": "integer",
    "short": "integer",
    "float": "float",
    "double": "float",
    "bigdecimal": "float",
    "biginteger": "integer",
    "timestamp": "timestamp",
    "blob": "blob",
}

#: What a value of each kind must be, as error messages say it.
EXPECTED: Final = {
    "structure": "a structure",
    "list": "a list",
    "map": "a map",
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "float": "a number",
    "timestamp": "a timestamp",
    "blob": "base64-encoded binary data",
}


@dataclass(eq=False, slots=True)
class Member:
    """One member of a structure."""

    #: Key in the parsed/result dict (the model's member name).
    name: str
    #: Name on the wire: ``locationName`` when the model has one, else ``name``.
    wire: str
    #: Name in Query params and XML: a flattened list with a named element is written
    #: under the element's name (``AttributeName.1``), everything else under ``wire``.
    qname: str
    #: The member as AWS validation messages name it (lowerCamelCase).
    path: str
    plan: Plan


@dataclass(eq=False, slots=True)
class Plan:
    """One shape reference, compiled."""

    name: str
    kind: str
    #: ``locationName`` on the reference (list elements, map keys and values).
    xml_name: str | None = None
    flattened: bool = False
    timestamp_format: str | None = None
    members: tuple[Member, ...] = ()
    required: frozenset[str] = frozenset()
    item: Plan | None = None
    key: Plan | None = None
    value: Plan | None = None
    enum: frozenset[str] = frozenset()
    #: The model's ``pattern`` for a string, when it has one (and it translates).
    pattern: ModelPattern | None = None
    #: Structure whose members are alternatives (at most one may be set).
    union: bool = False
    #: Structure members by JSON name, by Query/XML name, and by member name.
    by_wire: dict[str, Member] = field(default_factory=dict)
    by_qname: dict[str, Member] = field(default_factory=dict)
    by_name: dict[str, Member] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OperationPlan:
    """Input and output plans of one operation over one protocol."""

    name: str
    input: Plan | None
    output: Plan | None
    #: Query only: the element wrapping the output (``{Operation}Result``).
    result_wrapper: str


_Key = tuple[str, str | None, bool, str | None]


def compile_shape(shape: BotoShape, cache: dict[_Key, Plan]) -> Plan:
    """The plan of one botocore shape reference (cached in ``cache``)."""
    traits = shape.serialization
    key: _Key = (shape.name, traits.get("name"), bool(traits.get("flattened")),
                 traits.get("timestampFormat"))
    found = cache.get(key)
    if found is not None:
        return found
    plan = Plan(shape.name, KINDS.get(shape.type_name, "string"), key[1], key[2], key[3])
    cache[key] = plan  # before the children: a recursive shape finds itself here
    if plan.kind == "structure":
        plan.members = tuple(_member(name, sub, cache) for name, sub in shape.members.items())
        plan.by_wire = {member.wire: member for member in plan.members}
        plan.by_qname = {member.qname: member for member in plan.members}
        plan.by_name = {member.name: member for member in plan.members}
        plan.required = frozenset(shape.required_members)
        plan.union = bool(shape.metadata.get("union"))
    elif plan.kind == "list":
        plan.item = compile_shape(shape.member, cache)
    elif plan.kind == "map":
        plan.key = compile_shape(shape.key, cache)
        plan.value = compile_shape(shape.value, cache)
    elif plan.kind == "string":
        plan.enum = frozenset(shape.metadata.get("enum", ()))
        text = shape.metadata.get("pattern")
        plan.pattern = model_pattern(text) if text else None
    return plan


def _member(name: str, shape: BotoShape, cache: dict[_Key, Plan]) -> Member:
    plan = compile_shape(shape, cache)
    wire = shape.serialization.get("name", name)
    qname = wire
    if plan.kind == "list" and plan.flattened and plan.item and plan.item.xml_name:
        qname = plan.item.xml_name
    return Member(name, wire, qname, name[:1].lower() + name[1:], plan)


@functools.cache
def _plan_cache(service: str, protocol: str) -> dict[_Key, Plan]:
    return {}


@functools.cache
def operation_plan(service: str, protocol: str, operation: str) -> OperationPlan:
    """The compiled plans of ``operation`` of ``service`` over ``protocol``.

    Raises:
        botocore.exceptions.OperationNotFoundError: no such operation (routing checks).
    """
    op = registry.service_model(service, protocol).operation_model(operation)
    cache = _plan_cache(service, protocol)
    input_shape, output_shape = op.input_shape, op.output_shape
    wrapper = f"{operation}Result"
    if output_shape is not None:
        wrapper = output_shape.serialization.get("resultWrapper", wrapper)
    return OperationPlan(
        operation,
        None if input_shape is None else compile_shape(input_shape, cache),
        None if output_shape is None else compile_shape(output_shape, cache),
        wrapper,
    )
