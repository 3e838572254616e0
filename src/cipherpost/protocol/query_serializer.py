"""Query protocol responses: XML written by walking the operation's output plan.

``<{Op}Response xmlns=ns><{resultWrapper}>...</{resultWrapper}><ResponseMetadata>
<RequestId>..</RequestId></ResponseMetadata></{Op}Response>``. Lists are
``<Name><member>..</member></Name>`` (or the element's ``locationName``) or, flattened,
repeated ``<Element>``; maps are ``<Name><entry><key/><value/></entry></Name>`` or,
flattened, repeated ``<Name><Key/><Value/></Name>``. Errors are ``<ErrorResponse>``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from cipherpost.errors import AwsError
from cipherpost.protocol import registry, scalars, sqs_query
from cipherpost.protocol.errors import BareUnknownOperation
from cipherpost.protocol.http import HttpResponse
from cipherpost.protocol.shapes import OperationPlan, Plan
from cipherpost.protocol.validation import printable

CONTENT_TYPE: Final = "text/xml"

#: XML text escapes. ``\r`` is escaped because XML parsers turn a raw CR into LF, and
#: SQS message bodies must come back byte for byte (AWS sends ``&#xD;`` too).
_ESCAPES: Final = str.maketrans({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#xD;",
})


def escape(text: str) -> str:
    """``text`` safe as XML character data or attribute value."""
    # Most text (ids, ARNs, names) has nothing to escape, and then ``translate`` would return
    # it unchanged; six substring scans (memchr) cost a fraction of its per-character lookups.
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text or "\r" in text:
        return text.translate(_ESCAPES)
    return text


@functools.cache
def namespace(service: str) -> str | None:
    """The ``xmlNamespace`` of ``service``'s Query model, if it speaks Query."""
    if registry.QUERY not in registry.SERVICES[service].protocols:
        return None
    ns: str | None = registry.model_data(service, registry.QUERY)["metadata"].get("xmlNamespace")
    return ns


def _open_root(tag: str, ns: str | None) -> str:
    return f'<{tag} xmlns="{escape(ns)}">' if ns else f"<{tag}>"


@functools.cache
def _envelope(service: str, operation: str, result_wrapper: str | None,
              empty: bool = False) -> tuple[str, str, str]:
    """The fixed text around an operation's result: what goes before it, between it and
    the request id, and after the request id (built once per operation). An ``empty``
    result is one self-closing element, as AWS answers it (SQS, recorded: a ReceiveMessage
    without messages is ``<ReceiveMessageResult/>``)."""
    root = f"{operation}Response"
    head, middle = _open_root(root, namespace(service)), "<ResponseMetadata><RequestId>"
    if result_wrapper is not None and empty:
        middle = f"<{result_wrapper}/>{middle}"
    elif result_wrapper is not None:
        head += f"<{result_wrapper}>"
        middle = f"</{result_wrapper}>{middle}"
    return head, middle, f"</RequestId></ResponseMetadata></{root}>"


def serialize_output(service: str, plan: OperationPlan, result: Mapping[str, Any],
                     request_id: str) -> HttpResponse:
    """A 200 response with the operation's output as Query XML."""
    parts = [""]
    if plan.output is not None:
        _members(plan.output, result, parts)
    wrapper = None if plan.output is None else plan.result_wrapper
    head, middle, tail = _envelope(service, plan.name, wrapper, len(parts) == 1)
    parts[0] = head
    parts += (middle, escape(request_id), tail)
    return HttpResponse(200, [("Content-Type", CONTENT_TYPE), ("x-amzn-RequestId", request_id)],
                        "".join(parts).encode())


def _members(plan: Plan, value: Mapping[str, Any], parts: list[str]) -> None:
    for member in plan.members:
        item = value.get(member.name)
        if item is not None:
            _element(member.qname, member.plan, item, parts)


def _element(tag: str, plan: Plan, value: Any, parts: list[str]) -> None:
    """``value`` as the element(s) ``tag`` (several for flattened lists and maps)."""
    kind = plan.kind
    if kind == "structure":
        parts.append(f"<{tag}>")
        _members(plan, value, parts)
        parts.append(f"</{tag}>")
    elif kind == "list":
        _list(tag, plan, value, parts)
    elif kind == "map":
        _map(tag, plan, value, parts)
    else:
        parts.append(f"<{tag}>{text(plan, value)}</{tag}>")


def _list(tag: str, plan: Plan, value: Any, parts: list[str]) -> None:
    assert plan.item is not None
    if plan.flattened:
        for item in value:
            _element(tag, plan.item, item, parts)
        return
    item_tag = plan.item.xml_name or "member"
    parts.append(f"<{tag}>")
    for item in value:
        _element(item_tag, plan.item, item, parts)
    parts.append(f"</{tag}>")


def _map(tag: str, plan: Plan, value: Any, parts: list[str]) -> None:
    assert plan.key is not None and plan.value is not None
    key_tag = plan.key.xml_name or "key"
    value_tag = plan.value.xml_name or "value"
    entry_tag = tag if plan.flattened else "entry"
    if not plan.flattened:
        parts.append(f"<{tag}>")
    for key, item in value.items():
        parts.append(f"<{entry_tag}>")
        _element(key_tag, plan.key, key, parts)
        _element(value_tag, plan.value, item, parts)
        parts.append(f"</{entry_tag}>")
    if not plan.flattened:
        parts.append(f"</{tag}>")


def text(plan: Plan, value: Any) -> str:
    """A scalar as escaped XML text."""
    kind = plan.kind
    if kind == "string":
        return escape(value)
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "integer":
        return str(int(value))
    if kind == "float":
        return scalars.write_float_text(value)
    if kind == "timestamp":
        return escape(str(scalars.format_timestamp(value, (plan.timestamp_format or "iso8601").lower())))
    if kind == "blob":
        return scalars.write_blob(value)
    return escape(str(value))


def serialize_error(error: AwsError, request_id: str, service: str | None) -> HttpResponse:
    """``<ErrorResponse>`` with the Query-side code (the model's ``error.code`` trait).

    The message may quote a request's value: what XML cannot carry is written as an escape.
    """
    known = service is not None and service in registry.SERVICES
    code = registry.query_error_code(service, error.code) if known and service else error.code
    ns = namespace(service) if known and service else None
    headers = [("Content-Type", CONTENT_TYPE), ("x-amzn-RequestId", request_id)]
    if isinstance(error, BareUnknownOperation):
        return HttpResponse(error.status, headers, f"<{code}/>".encode())
    fault = "Sender" if error.sender_fault else "Receiver"
    message, detail = error.message, ""
    if service == "sqs":
        message, detail = sqs_query.QUERY_MESSAGES.get(message, message), sqs_query.ERROR_DETAIL
    body = (f"{_open_root('ErrorResponse', ns)}<Error><Type>{fault}</Type>"
            f"<Code>{escape(code)}</Code><Message>{escape(printable(message))}</Message>{detail}</Error>"
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>")
    return HttpResponse(error.status, headers, body.encode())
