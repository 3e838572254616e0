"""Which service, protocol and operation a request is for.

JSON requests name it in ``X-Amz-Target: <targetPrefix>.<Operation>``, the prefix being
each JSON model's ``metadata.targetPrefix``. Query requests carry ``Action`` (form body or
query string); the service is the SigV4 credential scope's, or, unsigned, the one whose
``apiVersion`` equals the ``Version`` parameter, or SQS when the path is a queue URL.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cipherpost.errors import AwsError
from cipherpost.protocol import errors, registry
from cipherpost.protocol.http import HttpRequest
from cipherpost.protocol.query_parser import FormError, request_params
from cipherpost.protocol.registry import OperationModel
from cipherpost.protocol.sqs_query import QUEUE_PATH
from cipherpost.protocol.validation import invalid_request

_JSON_MEDIA_PREFIX: Final = "application/x-amz-json"
#: SQS actions of the account, not of a queue: sent to a queue URL, AWS answers InvalidAction
#: ("not valid for this endpoint"), as recorded for both.
_SQS_ENDPOINT_ONLY: Final = frozenset({"CreateQueue", "ListQueues"})


@dataclass(frozen=True, slots=True)
class Route:
    """The service, wire protocol and operation of one request."""

    #: Our service name: ``sts``, ``iam``, ``sns``, ``sqs``, ``kms``, ``cloudtrail``.
    service: str
    #: Wire format of this request: ``query`` or ``json``.
    protocol: str
    operation: OperationModel
    #: Query only: the decoded parameters routing already read (saves parsing twice).
    params: Mapping[str, str] | None = field(default=None, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The operation name, e.g. ``GetCallerIdentity``."""
        return self.operation.name


def guess_protocol(request: HttpRequest) -> str:
    """``json`` when the request looks like JSON protocol, else ``query`` (for errors
    raised before routing knows the service)."""
    if "x-amz-target" in request.headers:
        return registry.JSON
    media = request.headers.get("content-type", "").lower()
    return registry.JSON if media.startswith(_JSON_MEDIA_PREFIX) else registry.QUERY


def route(request: HttpRequest, signed_service: str | None) -> Route:
    """The route of ``request``.

    Args:
        request: the HTTP request.
        signed_service: the service of the SigV4 credential scope, when signed. With
            ``X-Amz-Target`` the target decides; checking that it agrees with the
            signature's scope is the authentication layer's job.
    Raises:
        AwsError: ``UnknownOperationException``, ``InvalidAction``, ``MissingAction``,
            ``InvalidAction`` (unknown service) or a malformed-form validation error.
    """
    target = request.headers.get("x-amz-target")
    if target is not None:
        return _json_route(target)
    return _query_route(request, signed_service)


def _json_route(target: str) -> Route:
    prefix, _, operation = target.rpartition(".")
    service = registry.target_prefixes().get(prefix)
    if service is None or operation not in registry.operation_names(service):
        raise errors.UnknownOperationException(
            f"The operation {target[:128]!r} (X-Amz-Target) is not supported by this service.")
    model = registry.service_model(service, registry.JSON)
    return Route(service, registry.JSON, model.operation_model(operation))


def _query_route(request: HttpRequest, signed_service: str | None) -> Route:
    signed = _signed(signed_service)
    try:
        params = request_params(request)
    except FormError as exc:
        raise _malformed(signed, str(exc)) from exc
    action = params.get("Action")
    if not action:
        if request.method == "GET" and signed in (None, "sqs") and QUEUE_PATH.fullmatch(request.path):
            raise errors.BareUnknownOperation(service="sqs")
        raise errors.MissingAction()
    service = signed or _unsigned_service(request, params)
    if registry.QUERY not in registry.SERVICES[service].protocols:
        raise errors.UnknownOperationException(
            f"{service} speaks only the JSON protocol: send X-Amz-Target, not Action.")
    if action not in registry.operation_names(service) or (
            service == "sqs" and action in _SQS_ENDPOINT_ONLY and QUEUE_PATH.fullmatch(request.path)):
        raise errors.InvalidAction.named(action, service)
    return Route(service, registry.QUERY, _query_operation(service, action), params)


@functools.cache
def _query_operation(service: str, action: str) -> OperationModel:
    """The Query operation model; one cached lookup instead of three per request (only
    called for an ``action`` the service has, so the cache is bounded by the models)."""
    return registry.service_model(service, registry.QUERY).operation_model(action)


def _signed(signed_service: str | None) -> str | None:
    if signed_service is None:
        return None
    service = registry.service_for_signing_name(signed_service)
    if service is None:
        raise errors.UnknownService(f"This endpoint does not serve the service {signed_service!r}.")
    return service


def _unsigned_service(request: HttpRequest, params: Mapping[str, str]) -> str:
    version = params.get("Version")
    service = registry.query_api_versions().get(version) if version else None
    if service is None and QUEUE_PATH.fullmatch(request.path):
        service = "sqs"
    if service is None:
        raise errors.UnknownService()
    return service


def _malformed(service: str | None, detail: str) -> AwsError:
    message = f"The request is not valid form encoding: {detail}"
    return invalid_request(service, message) if service else errors.ValidationError(message)
