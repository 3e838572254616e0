"""AWS wire protocols, driven by botocore's service models.

The server calls, per request::

    r = route(request, signed_service)          # which service / protocol / operation
    params = parse(r, request)                  # dict keyed by the model's member names
    response = serialize_result(r, result, request_id)
    # or, on any AwsError:
    response = serialize_error(error, request_id, route=r)   # or service=/protocol=

No per-operation code: every operation is read and written by walking its model's
shapes (see ``shapes``), over ``query`` (``query_parser``/``query_serializer``) or JSON
1.0/1.1 (``json_protocol``). SQS also speaks Query through a derived model (``sqs_query``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cipherpost.errors import AwsError
from cipherpost.protocol import json_protocol, query_parser, query_serializer, registry, validation
from cipherpost.protocol.errors import RoutingError
from cipherpost.protocol.http import HttpRequest, HttpResponse
from cipherpost.protocol.registry import (
    OperationModel,
    ServiceSpec,
    operation_names,
    service_model,
    services,
)
from cipherpost.protocol.routing import Route, guess_protocol, route
from cipherpost.protocol.shapes import operation_plan
from cipherpost.protocol.sqs_query import fill_queue_url
from cipherpost.protocol.validation import Problems, invalid_request

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "OperationModel",
    "Route",
    "ServiceSpec",
    "guess_protocol",
    "operation_names",
    "parse",
    "route",
    "serialize_error",
    "serialize_result",
    "service_model",
    "services",
    "unstorable_text",
]


def parse(
    route: Route,
    request: HttpRequest,
    *,
    queue_url_from_path: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The operation's input, read from ``request`` and validated against the model.

    Args:
        route: from :func:`route`.
        request: the HTTP request.
        queue_url_from_path: SQS Query only: the public queue URL for a queue path, used
            when a request POSTed to the queue URL carries no ``QueueUrl`` (see
            ``sqs_query.fill_queue_url``).
    Returns:
        Parameters keyed by the model's member names: strings, ints, floats, bools,
        ``datetime`` (UTC), ``bytes`` (blobs), lists and dicts.
    Raises:
        AwsError: the service's own validation error, or ``SerializationException``.
    """
    plan = operation_plan(route.service, route.protocol, route.name)
    problems = Problems()
    if route.protocol == registry.JSON:
        document = json_protocol.read_body(route.service, request)
        params = json_protocol.parse_document(plan.input, document, problems)
    else:
        params = query_parser.parse_params(plan.input, _query_params(route, request, queue_url_from_path),
                                           problems)
    if problems:
        raise problems.error(route.service, query=route.protocol == registry.QUERY)
    return params


def _query_params(route: Route, request: HttpRequest,
                  queue_url_from_path: Callable[[str], str] | None) -> Mapping[str, str]:
    """The Query parameters, after checking the content type."""
    if request.body and request.method == "POST" and not query_parser.is_form(request):
        media = request.headers.get("content-type", "")
        raise invalid_request(route.service, f"Unsupported Content-Type {media[:64]!r}: the Query "
                                             f"protocol requires {query_parser.FORM_CONTENT_TYPE}")
    params = route.params if route.params is not None else _decoded(route, request)
    if route.service == "sqs":
        params = fill_queue_url(params, request.path, request.headers.get("host"), queue_url_from_path)
    return params


def _decoded(route: Route, request: HttpRequest) -> Mapping[str, str]:
    try:
        return query_parser.request_params(request)
    except query_parser.FormError as exc:
        raise invalid_request(route.service, f"The request is not valid form encoding: {exc}") from exc


def unstorable_text(route: Route, params: Mapping[str, Any] | None,
                    storable: Callable[[str], bool]) -> AwsError:
    """The service's validation error for a request whose text the store refused to keep,
    naming each member of ``params`` whose text fails ``storable``."""
    plan = operation_plan(route.service, route.protocol, route.name)
    return validation.unstorable_text(route.service, plan.input, params, storable,
                                      query=route.protocol == registry.QUERY)


def serialize_result(route: Route, result: Mapping[str, Any], request_id: str) -> HttpResponse:
    """A 200 response carrying ``result`` (keyed by the model's output member names).

    Members the output shape does not have are not written; ``None`` means absent.
    """
    plan = operation_plan(route.service, route.protocol, route.name)
    if route.protocol == registry.JSON:
        return json_protocol.serialize_output(route.service, plan.output, result, request_id)
    return query_serializer.serialize_output(route.service, plan, result, request_id)


def serialize_error(
    error: AwsError,
    request_id: str,
    *,
    route: Route | None = None,
    service: str | None = None,
    protocol: str | None = None,
) -> HttpResponse:
    """``error`` in the wire format of the route, else of ``service``/``protocol``.

    Without a route, ``protocol`` defaults to ``service``'s own (first) protocol, else
    ``query``; use :func:`guess_protocol` when routing failed.
    """
    if route is not None:
        service, protocol = route.service, route.protocol
    if service is None and isinstance(error, RoutingError):
        service = error.service
    if protocol is None:
        spec = registry.SERVICES.get(service or "")
        protocol = spec.protocols[0] if spec else registry.QUERY
    if protocol == registry.JSON:
        return json_protocol.serialize_error(error, request_id, service)
    return query_serializer.serialize_error(error, request_id, service)
