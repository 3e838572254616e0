"""Test helpers: botocore plays the client, serializing requests and parsing responses."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from cipherpost.protocol import HttpRequest, HttpResponse, registry

ENDPOINT = "https://cipherpost.example:4566"


def model_for(service: str, protocol: str | None = None) -> Any:
    """The botocore ServiceModel the client side uses (our derived one for SQS Query)."""
    return registry.service_model(service, protocol or registry.SERVICES[service].protocols[0])


def botocore_request(service: str, operation: str, params: dict[str, Any], protocol: str | None = None,
                     *, endpoint: str = ENDPOINT, validate: bool = True) -> HttpRequest:
    """``params`` serialized by botocore, as the HTTP request it would send."""
    model = model_for(service, protocol)
    op = model.operation_model(operation)
    serializer = create_serializer(model.metadata["protocol"], include_validation=validate)
    request_dict = serializer.serialize_to_request(params, op)
    prepare_request_dict(request_dict, endpoint_url=endpoint)
    prepared = create_request_object(request_dict).prepare()
    parts = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = {name.lower(): value for name, value in prepared.headers.items()}
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in headers.items()}
    headers.setdefault("host", parts.netloc)
    return HttpRequest(prepared.method, parts.path or "/", parts.query, headers, body)


def botocore_parse(service: str, operation: str, response: HttpResponse,
                   protocol: str | None = None) -> dict[str, Any]:
    """``response`` parsed by botocore as the client would parse it."""
    model = model_for(service, protocol)
    op = model.operation_model(operation)
    parser = create_parser(model.metadata["protocol"])
    headers = {name.lower(): value for name, value in response.headers}
    parsed: dict[str, Any] = parser.parse(
        {"status_code": response.status, "headers": headers, "body": response.body}, op.output_shape
    )
    return parsed
