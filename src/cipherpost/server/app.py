"""The ASGI application: one request's path from bytes to a handler and back.

listener -> read body (bounded) -> route (service, protocol, operation) -> authenticate
(SigV4) -> parse (botocore model) -> handler -> serialize. Every failure leaves as that
protocol's error with the AWS code; an unexpected exception becomes ``InternalFailure``
(logged with its traceback, never sent to the client).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

from cipherpost import protocol
from cipherpost.auth.authenticate import Authenticator
from cipherpost.auth.sigv4_canonical import SignedRequest
from cipherpost.config import Listener
from cipherpost.context import RequestContext, TlsInfo
from cipherpost.errors import AwsError, InternalFailure
from cipherpost.protocol import HttpRequest, HttpResponse, Route
from cipherpost.services import Handler, NotImplementedOperation

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


def _requests(scope: Scope, body: bytes) -> tuple[HttpRequest, SignedRequest]:
    """The request as the protocol layer sees it, and as SigV4 sees it (repeated headers kept)."""
    pairs = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in scope["headers"]]
    headers: dict[str, str] = {}
    for name, value in pairs:
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    raw_path: bytes | None = scope.get("raw_path")
    path = (raw_path.decode("latin-1") if raw_path else scope["path"]).partition("?")[0]
    query = scope.get("query_string", b"").decode("latin-1")
    method: str = scope["method"]
    return (
        HttpRequest(method=method, path=path, query_string=query, headers=headers, body=body),
        SignedRequest(method=method, path=path, query_string=query, headers=pairs, body=body),
    )


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
    ) -> None:
        self.region = region
        self.authenticator = authenticator
        self.handlers = handlers
        self.max_body_bytes = max_body_bytes

    def for_listener(self, listener: Listener) -> ListenerApp:
        """The ASGI app for one listener (it knows which listener requests arrive on)."""
        return ListenerApp(self, listener)

    async def handle(self, listener: Listener, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == HEALTH_PATH:
            await _send(send, HttpResponse(200, [("content-type", "application/json")], b'{"status":"ok"}'))
            return
        request_id = str(uuid.uuid4())
        request: HttpRequest | None = None
        route: Route | None = None
        try:
            body = await read_body(receive, self.max_body_bytes)
            request, signed = _requests(scope, body)
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
        params = protocol.parse(route, request)
        handler = self.handlers.get((route.service, route.name))
        if handler is None:
            raise NotImplementedOperation(f"Cipherpost does not implement {route.service}:{route.name} yet.")
        client = scope.get("client")
        ctx = RequestContext(
            request_id=request_id,
            received_at=received_at,
            region=self.region,
            service=route.service,
            operation=route.name,
            caller=caller,
            listener=listener,
            source_ip=client[0] if client else None,
            user_agent=request.headers.get("user-agent", ""),
            tls=_tls_info(scope),
            protocol=route.protocol,
        )
        result = await handler(ctx, params)
        return protocol.serialize_result(route, result, request_id)

    @staticmethod
    def _error(error: AwsError, request_id: str, request: HttpRequest | None, route: Route | None) -> HttpResponse:
        if route is not None:
            return protocol.serialize_error(error, request_id, route=route)
        guessed = protocol.guess_protocol(request) if request is not None else "query"
        return protocol.serialize_error(error, request_id, protocol=guessed)


class ListenerApp:
    """An ASGI app bound to one listener."""

    def __init__(self, gateway: Gateway, listener: Listener) -> None:
        self.gateway = gateway
        self.listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gateway.handle(self.listener, scope, receive, send)

