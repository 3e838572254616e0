"""Event selectors: which events a trail delivers (CloudTrail's basic and advanced forms).

As in CloudTrail, a trail logs every management event by default and no data event; data
events (SNS Publish, SQS message operations) are delivered only when a selector names
their resource type, with the basic ``DataResources`` form (ARN prefixes) or the advanced
``FieldSelectors`` form. ``ReadWriteType`` and ``ExcludeManagementEventSources`` apply as
documented for ``PutEventSelectors``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from cipherpost.services.audit.errors import InvalidEventSelectorsException

READ_WRITE_TYPES: Final = ("ReadOnly", "WriteOnly", "All")
#: The data resource types Cipherpost records (CloudTrail's names for SNS topics and SQS queues).
DATA_RESOURCE_TYPES: Final = frozenset({"AWS::SNS::Topic", "AWS::SQS::Queue"})
#: The advanced-selector fields we evaluate, and how to read each from a record.
ADVANCED_FIELDS: Final[Mapping[str, Callable[[Mapping[str, Any]], list[str]]]] = {
    "eventCategory": lambda e: [str(e.get("eventCategory", ""))],
    "eventSource": lambda e: [str(e.get("eventSource", ""))],
    "eventName": lambda e: [str(e.get("eventName", ""))],
    "eventType": lambda e: [str(e.get("eventType", ""))],
    "readOnly": lambda e: ["true" if e.get("readOnly") else "false"],
    "resources.type": lambda e: [str(r.get("type", "")) for r in e.get("resources", ())],
    "resources.ARN": lambda e: [str(r.get("ARN", "")) for r in e.get("resources", ())],
}
#: Advanced operators: (positive?, test of one value against one operand).
OPERATORS: Final[Mapping[str, tuple[bool, Callable[[str, str], bool]]]] = {
    "Equals": (True, lambda value, operand: value == operand),
    "StartsWith": (True, lambda value, operand: value.startswith(operand)),
    "EndsWith": (True, lambda value, operand: value.endswith(operand)),
    "NotEquals": (False, lambda value, operand: value == operand),
    "NotStartsWith": (False, lambda value, operand: value.startswith(operand)),
    "NotEndsWith": (False, lambda value, operand: value.endswith(operand)),
}
DEFAULT_EVENT_SELECTORS: Final[tuple[Mapping[str, Any], ...]] = (
    {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [], "ExcludeManagementEventSources": []},
)
_MAX_BASIC = 5
_MAX_ADVANCED = 500


@dataclass(frozen=True, slots=True)
class TrailConfig:
    """One account's trail: its name, whether it is logging, and its selectors."""

    name: str
    logging: bool = True
    event_selectors: tuple[Mapping[str, Any], ...] = DEFAULT_EVENT_SELECTORS
    advanced_selectors: tuple[Mapping[str, Any], ...] = field(default=())


def may_select_data(config: TrailConfig) -> bool:
    """Whether any data event could be delivered (else the recorder need not even build them)."""
    if not config.logging:
        return False
    if config.advanced_selectors:
        probe = {"eventCategory": "Data"}
        return any(
            _field_match(item, probe)
            for selector in config.advanced_selectors
            for item in selector["FieldSelectors"]
            if item["Field"] == "eventCategory"
        )
    return any(selector.get("DataResources") for selector in config.event_selectors)


def _invalid(text: str) -> InvalidEventSelectorsException:
    return InvalidEventSelectorsException(text)


def validate(selectors: Mapping[str, Any]) -> tuple[tuple[Mapping[str, Any], ...], tuple[Mapping[str, Any], ...]]:
    """Check PutEventSelectors input; returns (event selectors, advanced selectors), one empty.

    :raises InvalidEventSelectorsException: both or neither form given, or a selector is malformed.
    """
    basic, advanced = selectors.get("EventSelectors"), selectors.get("AdvancedEventSelectors")
    if (basic is None) == (advanced is None):
        raise _invalid("Specify either EventSelectors or AdvancedEventSelectors, but not both.")
    if basic is not None:
        if not isinstance(basic, Sequence) or not 1 <= len(basic) <= _MAX_BASIC:
            raise _invalid(f"EventSelectors must hold 1 to {_MAX_BASIC} selectors.")
        return tuple(_basic(item) for item in basic), ()
    if not isinstance(advanced, Sequence) or not advanced:
        raise _invalid("AdvancedEventSelectors must hold at least one selector.")
    checked = tuple(_advanced(item) for item in advanced)
    if sum(len(item["FieldSelectors"]) for item in checked) > _MAX_ADVANCED:
        raise _invalid(f"A trail may have at most {_MAX_ADVANCED} field selectors.")
    return (), checked


def _basic(item: Any) -> Mapping[str, Any]:
    """One basic selector, with CloudTrail's defaults filled in."""
    if not isinstance(item, Mapping):
        raise _invalid("Each event selector must be a structure.")
    read_write = item.get("ReadWriteType", "All")
    if read_write not in READ_WRITE_TYPES:
        raise _invalid(f"ReadWriteType must be one of {', '.join(READ_WRITE_TYPES)}.")
    resources = list(item.get("DataResources") or [])
    for resource in resources:
        kind, values = resource.get("Type"), resource.get("Values") or []
        if kind not in DATA_RESOURCE_TYPES:
            choices = " or ".join(sorted(DATA_RESOURCE_TYPES))
            raise _invalid(f"Data resource type {kind!r} is not supported; use {choices}.")
        if not values or not all(isinstance(v, str) and v.startswith("arn:") for v in values):
            raise _invalid(f"Data resource values of {kind} must be ARNs or ARN prefixes.")
    return {
        "ReadWriteType": read_write,
        "IncludeManagementEvents": bool(item.get("IncludeManagementEvents", True)),
        "DataResources": [{"Type": r["Type"], "Values": list(r["Values"])} for r in resources],
        "ExcludeManagementEventSources": list(item.get("ExcludeManagementEventSources") or []),
    }


def _advanced(item: Any) -> Mapping[str, Any]:
    """One advanced selector: every field known, every operator non-empty, eventCategory given."""
    fields = item.get("FieldSelectors") if isinstance(item, Mapping) else None
    if not fields:
        raise _invalid("Each advanced event selector needs FieldSelectors.")
    names = []
    for selector in fields:
        name = selector.get("Field")
        if name not in ADVANCED_FIELDS:
            raise _invalid(f"Field {name!r} is not supported in advanced event selectors.")
        operators = {key: value for key, value in selector.items() if key != "Field"}
        if not operators or any(key not in OPERATORS or not value for key, value in operators.items()):
            raise _invalid(f"Field selector {name} needs at least one non-empty operator.")
        names.append(name)
    if "eventCategory" not in names:
        raise _invalid("Each advanced event selector must select an eventCategory.")
    return {"Name": item.get("Name"), "FieldSelectors": [dict(selector) for selector in fields]}


def selects(config: TrailConfig, event: Mapping[str, Any]) -> bool:
    """Whether the trail delivers ``event`` (a CloudTrail record)."""
    if not config.logging:
        return False
    if config.advanced_selectors:
        return any(_advanced_match(item, event) for item in config.advanced_selectors)
    return any(_basic_match(item, event) for item in config.event_selectors)


def _basic_match(selector: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    read_write = selector.get("ReadWriteType", "All")
    if read_write != "All" and (read_write == "ReadOnly") != bool(event.get("readOnly")):
        return False
    if event.get("managementEvent", True):
        excluded = selector.get("ExcludeManagementEventSources") or ()
        return bool(selector.get("IncludeManagementEvents", True)) and event.get("eventSource") not in excluded
    for resource in event.get("resources", ()):
        for wanted in selector.get("DataResources") or ():
            if wanted["Type"] == resource.get("type") and any(
                str(resource.get("ARN", "")).startswith(prefix) for prefix in wanted["Values"]
            ):
                return True
    return False


def _advanced_match(selector: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    return all(_field_match(item, event) for item in selector["FieldSelectors"])


def _field_match(selector: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """A field selector holds when some value of the field satisfies all its operators."""
    values = ADVANCED_FIELDS[selector["Field"]](event) or [""]
    return any(_value_match(selector, value) for value in values)


def _value_match(selector: Mapping[str, Any], value: str) -> bool:
    for operator, operands in selector.items():
        if operator == "Field":
            continue
        positive, test = OPERATORS[operator]
        hit = any(test(value, operand) for operand in operands)
        if hit != positive:
            return False
    return True
