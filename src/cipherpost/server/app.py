"""The ASGI application: one request's path from bytes to a handler and back.

listener -> read body (bounded) -> route (service, protocol, operation) -> authenticate
(SigV4) -> parse (botocore model) -> handler -> serialize. Every failure leaves as that
protocol's error with the AWS code; an unexpected exception becomes ``InternalFailure``
(logged with its traceback, never sent to the client). Text the store refuses to keep
(U+0000, a lone surrogate) is the caller's fault: the service's validation error, naming
the members that hold it.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from cipherpost import protocol
from cipherpost.auth.authenticate import Authenticator
from cipherpost.auth.sigv4_canonical import SignedRequest
from cipherpost.config import Listener
from cipherpost.context import RequestContext, TlsInfo
from cipherpost.errors import AwsError, InternalFailure
from cipherpost.ids import random_uuid
from cipherpost.protocol import HttpRequest, HttpResponse, Route
from cipherpost.server.tags import request_tags
from cipherpost.services import Handler, NotImplementedOperation
from cipherpost.store import UnstorableText, is_storable

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HEALTH_PATH = "/_cipherpost/health"


class RequestEntityTooLarge(AwsError):
    """The request body is larger than this server accepts."""

    code = "RequestEntityTooLarge"
    status = 413


class CallRecorder(Protocol):
    """Where every authenticated API call is reported (the audit trail)."""

    def record_call(
        self, ctx: RequestContext, *, params: Mapping[str, Any] | None, result: Mapping[str, Any] | None,
        error: AwsError | None, event_time: datetime,
    ) -> None: ...


class PublicRoute(Protocol):
    """An unauthenticated route (e.g. SNS's certificate and unsubscribe links): a response, or
    None when the request is not for it."""

    async def __call__(self, request: HttpRequest, request_id: str) -> HttpResponse | None: ...


class ClientDisconnected(Exception):
    """The client went away before sending its whole request."""


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole request body, refusing more than ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


#: Decoded, lower-cased header names by their wire bytes. Clients send the same dozen names
#: on every request, so this saves a decode and a lower() per header; it stops growing at
#: ``_NAME_CACHE_SIZE`` so a client inventing names cannot grow it without bound.
_HEADER_NAMES: dict[bytes, str] = {}
_NAME_CACHE_SIZE = 512


def _header_name(raw: bytes) -> str:
    """A header name from the wire as SigV4 and the protocol layer match it: lower-case text."""
    name = _HEADER_NAMES.get(raw)
    if name is None:
        name = raw.decode("latin-1").lower()
        if len(_HEADER_NAMES) < _NAME_CACHE_SIZE:
            _HEADER_NAMES[raw] = name
    return name


def _requests(scope: Scope, body: bytes) -> tuple[HttpRequest, SignedRequest]:
    """The request as the protocol layer sees it, and as SigV4 sees it (repeated headers kept).

    One pass over the ASGI headers builds both views: ``joined`` (repeated values joined
    with ``,``, for the protocol layer) and ``values`` (every value, for SigV4), which is
    handed to SignedRequest so it does not index the same headers again.
    """
    pairs: list[tuple[str, str]] = []
    joined: dict[str, str] = {}
    values: dict[str, list[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        name = _header_name(raw_name)
        value = raw_value.decode("latin-1")
        pairs.append((name, value))
        seen = values.get(name)
        if seen is None:
            values[name] = [value]
            joined[name] = value
        else:
            seen.append(value)
            joined[name] = f"{joined[name]},{value}"
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path:
        wire_path = raw_path.partition(b"?")[0]
        path = wire_path.decode("latin-1")
    else:
        path = scope["path"].partition("?")[0]
        wire_path = path.encode("utf-8", "surrogateescape")
    raw_query: bytes = scope.get("query_string", b"")
    method: str = scope["method"]
    # SigV4 signs the bytes on the wire, so SignedRequest gets them undecoded.
    http = HttpRequest(method, path, raw_query.decode("latin-1"), joined, body)
    return http, SignedRequest(method, wire_path, raw_query, pairs, body, values)


def _tls_info(scope: Scope) -> TlsInfo | None:
    tls = scope.get("extensions", {}).get("tls")
    if not tls:
        return None
    return TlsInfo(version=str(tls.get("cipherpost_version", "TLS")), cipher=tls.get("cipherpost_cipher"))


async def _send(send: Send, response: HttpResponse) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class Gateway:
    """Routes AWS requests to service handlers; one instance serves every listener."""

    def __init__(
        self,
        *,
        region: str,
        authenticator: Authenticator,
        handlers: dict[tuple[str, str], Handler],
        max_body_bytes: int,
        recorder: CallRecorder | None = None,
        trusted_proxies: Sequence[str] = (),
        public_routes: Sequence[PublicRoute] = (),
    ) -> None:
        self.region = region
        self.authenticator = authenticator
        self.handlers = handlers
        self.max_body_bytes = max_body_bytes
        self.recorder = recorder
        self.public_routes = tuple(public_routes)
        self.trusted_proxies = tuple(ipaddress.ip_network(item, strict=False) for item in trusted_proxies)

    def for_listener(self, listener: Listener) -> ListenerApp:
        """The ASGI app for one listener (it knows which listener requests arrive on)."""
        return ListenerApp(self, listener)

    async def handle(self, listener: Listener, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == HEALTH_PATH:
            await _send(send, HttpResponse(200, [("content-type", "application/json")], b'{"status":"ok"}'))
            return
        request_id = random_uuid()
        request: HttpRequest | None = None
        route: Route | None = None
        try:
            body = await read_body(receive, self.max_body_bytes)
            request, signed = _requests(scope, body)
            if self.public_routes and request.method == "GET":
                for public in self.public_routes:
                    answer = await public(request, request_id)
                    if answer is not None:
                        await _send(send, answer)
                        return
            route = protocol.route(request, self.authenticator.signed_service(signed))
            response = await self._dispatch(listener, scope, request, signed, route, request_id)
        except ClientDisconnected:
            return
        except AwsError as error:
            response = self._error(error, request_id, request, route)
        except Exception:
            log.exception("request %s failed", request_id)
            response = self._error(InternalFailure(), request_id, request, route)
        await _send(send, response)

    async def _dispatch(
        self,
        listener: Listener,
        scope: Scope,
        request: HttpRequest,
        signed: SignedRequest,
        route: Route,
        request_id: str,
    ) -> HttpResponse:
        received_at = datetime.now(UTC)
        caller = await self.authenticator.authenticate(signed, received_at, route.service)
        client = scope.get("client")
        ctx = RequestContext(
            request_id=request_id,
            received_at=received_at,
            region=self.region,
            service=route.service,
            operation=route.name,
            caller=caller,
            listener=listener,
            source_ip=self._source_ip(client[0] if client else None, request.headers),
            user_agent=request.headers.get("user-agent", ""),
            tls=_tls_info(scope),
            protocol=route.protocol,
            trace_header=request.headers.get("x-amzn-trace-id") or None,
        )
        params: dict[str, Any] | None = None
        try:
            params = protocol.parse(route, request)
            tags, tag_keys = request_tags(params)
            if tag_keys:
                ctx = replace(ctx, request_tags=tags, tag_keys=tag_keys)
            handler = self.handlers.get((route.service, route.name))
            if handler is None:
                raise NotImplementedOperation(f"Cipherpost does not implement {route.service}:{route.name} yet.")
            result = await _call(handler, ctx, params, route)
        except AwsError as error:
            if self.recorder is not None:
                self.recorder.record_call(ctx, params=params, result=None, error=error, event_time=received_at)
            raise
        if self.recorder is not None:
            self.recorder.record_call(ctx, params=params, result=result, error=None, event_time=received_at)
        return protocol.serialize_result(route, result, request_id)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)

    def _source_ip(self, peer: str | None, headers: Mapping[str, str]) -> str | None:
        """aws:SourceIp: the peer, or behind a trusted proxy the last untrusted X-Forwarded-For hop."""
        forwarded = headers.get("x-forwarded-for")
        if peer is None or not forwarded or not self._trusted(peer):
            return peer
        for hop in reversed([item.strip() for item in forwarded.split(",")]):
            if not self._trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # a malformed header is not believed
        return peer

    @staticmethod
    def _error(error: AwsError, request_id: str, request: HttpRequest | None, route: Route | None) -> HttpResponse:
        if route is not None:
            return protocol.serialize_error(error, request_id, route=route)
        guessed = protocol.guess_protocol(request) if request is not None else "query"
        return protocol.serialize_error(error, request_id, protocol=guessed)


async def _call(handler: Handler, ctx: RequestContext, params: dict[str, Any], route: Route) -> Mapping[str, Any]:
    """The handler's result; text the store refused becomes the service's validation error."""
    try:
        return await handler(ctx, params)
    except UnstorableText as exc:
        raise protocol.unstorable_text(route, params, is_storable) from exc


class ListenerApp:
    """An ASGI app bound to one listener."""

    def __init__(self, gateway: Gateway, listener: Listener) -> None:
        self.gateway = gateway
        self.listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gateway.handle(self.listener, scope, receive, send)

