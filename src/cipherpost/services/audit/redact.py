"""requestParameters / responseElements: AWS member names in lowerCamelCase, secrets removed.

The operation's botocore shape says which dict keys are member names (renamed ``KeyId`` ->
``keyId``, as CloudTrail writes them) and which are user data (map keys, such as an
encryption context's, kept as given). Without a shape, every key is treated as a member
name except under :data:`~cipherpost.services.audit.tables.USER_KEYED_MAPS`.

What is secret is :data:`~cipherpost.services.audit.tables.SECRET_MEMBERS`; besides that,
a ``bytes`` value is never logged raw anywhere: it becomes
:data:`~cipherpost.services.audit.tables.HIDDEN`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cipherpost.protocol import registry
from cipherpost.protocol.registry import BotoShape
from cipherpost.services.audit.tables import CLEAR_MEMBERS, HIDDEN, SECRET_MEMBERS, USER_KEYED_MAPS, Secret

_NO_SECRETS: Mapping[str, Secret] = {}
#: Scalars JSON takes as they are (checked by exact type first: the common case, and cheap).
_PLAIN: frozenset[type] = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def camel(name: str) -> str:
    """CloudTrail's spelling of a member name: the first letter lowercased (``QueueUrl`` -> ``queueUrl``)."""
    return name[:1].lower() + name[1:]


@functools.cache
def _shapes(service: str, operation: str) -> tuple[BotoShape | None, BotoShape | None]:
    """The input and output shapes of an operation, or ``None`` where the model has none."""
    spec = registry.SERVICES.get(service)
    if spec is None:
        return None, None
    try:
        model = registry.service_model(service, spec.protocols[0]).operation_model(operation)
    except Exception:  # botocore raises its own OperationNotFoundError
        return None, None
    return model.input_shape, model.output_shape


def request_parameters(service: str, operation: str, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``requestParameters`` of an event; ``None`` when there were none (as CloudTrail logs it)."""
    if not params:
        return None
    shape = _shapes(service, operation)[0]
    return _structure(params, shape, SECRET_MEMBERS.get(service, _NO_SECRETS))


def response_elements(service: str, operation: str, result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``responseElements`` of an event; ``None`` for an empty result."""
    if not result:
        return None
    shape = _shapes(service, operation)[1]
    return _structure(result, shape, SECRET_MEMBERS.get(service, _NO_SECRETS))


def _structure(value: Mapping[str, Any], shape: BotoShape | None, secrets: Mapping[str, Secret]) -> dict[str, Any]:
    """A structure's members, renamed, with secrets dropped or hidden."""
    members = shape.members if shape is not None and shape.type_name == "structure" else None
    out: dict[str, Any] = {}
    for name, item in value.items():
        key = str(name)
        rule = secrets.get(key)
        if rule is Secret.DROP:
            continue
        if rule is Secret.HIDE:
            out[camel(key)] = HIDDEN
        elif key in CLEAR_MEMBERS:
            out[camel(key)] = _clear(item)
        else:
            child = members.get(key) if members is not None else None
            out[camel(key)] = _value(item, child, secrets, user_keys=child is None and key in USER_KEYED_MAPS)
    return out


def _value(value: Any, shape: BotoShape | None, secrets: Mapping[str, Secret], *, user_keys: bool = False) -> Any:
    """One value, walked along its shape (``None`` when the model does not describe it)."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return HIDDEN
    kind = shape.type_name if shape is not None else None
    if isinstance(value, dict | Mapping):
        if kind == "map" or user_keys:
            inner = shape.value if shape is not None else None
            return {str(k): _map_value(str(k), v, inner, secrets) for k, v in value.items()}
        return _structure(value, shape, secrets)
    if isinstance(value, list | tuple):
        inner = shape.member if kind == "list" and shape is not None else None
        return [_value(item, inner, secrets) for item in value]
    return _scalar(value)


def _map_value(key: str, value: Any, shape: BotoShape | None, secrets: Mapping[str, Secret]) -> Any:
    """A map entry's value; a key named like a secret member (SNS ``PlatformCredential``) is hidden."""
    rule = secrets.get(key)
    if rule is not None:
        return HIDDEN
    return _value(value, shape, secrets)


def _clear(value: Any) -> Any:
    """A member logged in clear: copied, except that bytes still never appear raw."""
    if isinstance(value, Mapping):
        return {str(k): _clear(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clear(item) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return HIDDEN
    return _scalar(value)


def _scalar(value: Any) -> Any:
    """A JSON-ready scalar: timestamps as ISO 8601 UTC, decimals as numbers, others as given."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
