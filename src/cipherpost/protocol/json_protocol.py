"""The JSON 1.0 / 1.1 protocols (``X-Amz-Target`` + JSON body): parse, serialize, errors.

Both directions walk the operation's plan (requests are checked against its enums and
patterns on the way). Timestamps travel as epoch seconds unless the model says otherwise,
blobs as base64; members the model does not know are ignored on the way in and never
written on the way out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from cipherpost.errors import AwsError
from cipherpost.protocol import registry, scalars
from cipherpost.protocol.errors import SerializationException
from cipherpost.protocol.http import HttpRequest, HttpResponse
from cipherpost.protocol.shapes import EXPECTED, Plan
from cipherpost.protocol.validation import Problems, invalid_request

#: Content types a JSON-protocol request may carry (SDKs send their model's version).
CONTENT_TYPES: Final = frozenset({"application/x-amz-json-1.0", "application/x-amz-json-1.1"})

#: ``__type`` prefixes AWS puts on error codes. SQS answers e.g.
#: ``com.amazonaws.sqs#QueueDoesNotExist``; botocore keeps what follows the ``#``.
TYPE_PREFIXES: Final[Mapping[str, str]] = {"sqs": "com.amazonaws.sqs#"}


def content_type(service: str) -> str:
    """The response content type of a JSON service (its model's ``jsonVersion``)."""
    return f"application/x-amz-json-{registry.json_version(service)}"


def read_body(service: str, request: HttpRequest) -> dict[str, Any]:
    """The JSON object in the body (an empty body is ``{}``).

    Raises:
        AwsError: wrong content type (the service's validation code); a body that is not
            UTF-8, not JSON or not an object (``SerializationException``).
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in CONTENT_TYPES:
        raise invalid_request(service, f"Unsupported Content-Type {media!r}: the JSON protocol "
                                       "requires application/x-amz-json-1.0 or 1.1")
    if not request.body.strip():
        return {}
    try:
        document = json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SerializationException("The request body is not valid UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        raise SerializationException(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise SerializationException("The request body must be a JSON object")
    return document


def parse_document(plan: Plan | None, document: Mapping[str, Any], problems: Problems) -> dict[str, Any]:
    """The operation input read from a JSON object; problems go to ``problems``."""
    return {} if plan is None else _structure(plan, document, "", problems)


def _structure(plan: Plan, obj: Mapping[str, Any], prefix: str, problems: Problems) -> dict[str, Any]:
    """Walks the members present (fewer than the model's, usually), then the required."""
    result: dict[str, Any] = {}
    members = plan.by_wire
    for wire, raw in obj.items():
        member = members.get(wire)
        if member is None or raw is None:
            continue
        value = _value(member.plan, raw, prefix + member.path, problems)
        if value is not None:
            enum = member.plan.enum
            if enum and value not in enum:
                problems.bad_enum(prefix + member.path, value, enum)
            result[member.name] = value
    if plan.required and not plan.required <= result.keys():
        for name in sorted(plan.required - result.keys()):
            member = plan.by_name[name]
            if obj.get(member.wire) is None:
                problems.missing(prefix + member.path)
    return result


def _value(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    """One value of any kind; ``None`` when unreadable (a problem is recorded)."""
    reader = _READERS[plan.kind]
    try:
        return reader(plan, raw, path, problems)
    except (ValueError, TypeError):
        problems.bad_type(path, raw if isinstance(raw, str | int | float) else "...", EXPECTED[plan.kind])
        return None


def _read_structure(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if not isinstance(raw, dict):
        raise TypeError(raw)
    return _structure(plan, raw, path + ".", problems)


def _read_list(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if not isinstance(raw, list):
        raise TypeError(raw)
    assert plan.item is not None
    items = (_value(plan.item, item, f"{path}.{index}.member", problems)
             for index, item in enumerate(raw, 1) if item is not None)
    return [item for item in items if item is not None]


def _read_map(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if not isinstance(raw, dict):
        raise TypeError(raw)
    assert plan.key is not None and plan.value is not None
    pattern = plan.key.pattern
    result = {}
    for key, item in raw.items():
        if pattern is not None and not pattern.matches(key):
            problems.bad_pattern(path, key, pattern.text)
        value = None if item is None else _value(plan.value, item, f"{path}.{key}", problems)
        if value is not None:
            result[key] = value
    return result


def _read_string(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if not isinstance(raw, str):
        raise TypeError(raw)
    if plan.pattern is not None and not plan.pattern.matches(raw):
        problems.bad_pattern(path, raw, plan.pattern.text)
    return raw


def _read_boolean(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if not isinstance(raw, bool):
        raise TypeError(raw)
    return raw


def _read_integer(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(raw)
    return scalars.check_long(raw)


def _read_float(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if isinstance(raw, str):
        return scalars.NON_FINITE[raw] if raw in scalars.NON_FINITE else _fail(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise TypeError(raw)
    return float(raw)


def _read_timestamp(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if isinstance(raw, str):
        return scalars.read_timestamp_text(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise TypeError(raw)
    return scalars.from_epoch(raw)


def _read_blob(plan: Plan, raw: Any, path: str, problems: Problems) -> Any:
    if not isinstance(raw, str):
        raise TypeError(raw)
    return scalars.read_blob(raw)


def _fail(raw: object) -> Any:
    raise ValueError(raw)


_READERS: Final[Mapping[str, Callable[[Plan, Any, str, Problems], Any]]] = {
    "structure": _read_structure,
    "list": _read_list,
    "map": _read_map,
    "string": _read_string,
    "boolean": _read_boolean,
    "integer": _read_integer,
    "float": _read_float,
    "timestamp": _read_timestamp,
    "blob": _read_blob,
}


def to_json(plan: Plan, value: Any) -> Any:
    """A handler's value as JSON-ready data, walking ``plan``."""
    kind = plan.kind
    if kind == "structure":
        return {member.wire: to_json(member.plan, item) for member in plan.members
                if (item := value.get(member.name)) is not None}
    if kind == "list":
        assert plan.item is not None
        return [to_json(plan.item, item) for item in value]
    if kind == "map":
        assert plan.value is not None
        return {key: to_json(plan.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return scalars.format_timestamp(value, (plan.timestamp_format or "unixtimestamp").lower())
    if kind == "blob":
        return scalars.write_blob(value)
    if kind == "float" and not math.isfinite(value):
        return scalars.write_float_text(value)
    return value


def serialize_output(service: str, plan: Plan | None, result: Mapping[str, Any],
                     request_id: str) -> HttpResponse:
    """A 200 response with the operation's output as a JSON object."""
    document = {} if plan is None else to_json(plan, result)
    body = json.dumps(document, separators=(",", ":")).encode()
    return HttpResponse(200, [("Content-Type", content_type(service)),
                              ("x-amzn-RequestId", request_id)], body)


def serialize_error(error: AwsError, request_id: str, service: str | None) -> HttpResponse:
    """``{"__type": ..., "message": ...}`` with the JSON-side code and status; services
    with ``awsQueryCompatible`` (SQS) also send the Query-side code in
    ``x-amzn-query-error: <code>;Sender|Receiver``, from which botocore reports
    ``Error.Code`` (and keeps the shape name in ``Error.QueryErrorCode``)."""
    code = error.json_code or error.code
    status = error.json_status or error.status
    prefix = TYPE_PREFIXES.get(service or "", "")
    document = {"__type": prefix + code}
    if error.message:
        # AWS leaves "message" out of some errors altogether (KMS's KMSInvalidSignatureException,
        # InvalidCiphertextException); an error with an empty message stands for those.
        document["message"] = error.message
    body = json.dumps(document).encode()
    known = service if service in registry.SERVICES else None
    version = registry.json_version(known) if known else "1.0"
    headers = [("Content-Type", f"application/x-amz-json-{version}"), ("x-amzn-RequestId", request_id)]
    if known and registry.is_query_compatible(known):
        fault = "Sender" if error.sender_fault else "Receiver"
        headers.append(("x-amzn-query-error", f"{registry.query_error_code(known, error.code)};{fault}"))
    return HttpResponse(status, headers, body)
