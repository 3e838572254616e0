"""Listeners: one uvicorn server per configured address, all in one event loop.

Each listener gets its own uvicorn ``Server`` (TLS is a per-server setting) serving the
same gateway. Signals are handled here, not by uvicorn: SIGTERM/SIGINT ask every server
to stop accepting, in-flight requests finish, then the caller closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from cipherpost.config import Listener
from cipherpost.server.app import Gateway

log = logging.getLogger(__name__)


class TlsAwareHttpProtocol(HttpToolsProtocol):
    """httptools protocol that reports the negotiated TLS version and cipher in the scope.

    It fills the ASGI ``tls`` extension (``scope["extensions"]["tls"]``); the names are
    added under ``cipherpost_*`` keys because the extension itself carries only numeric codes.
    """

    _tls: dict[str, Any] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            cipher = ssl_object.cipher()
            self._tls = {
                "server_cert": None,
                "client_cert_chain": [],
                "client_cert_name": None,
                "client_cert_error": None,
                "tls_version": None,
                "cipher_suite": None,
                "cipherpost_version": ssl_object.version(),
                "cipherpost_cipher": cipher[0] if cipher else None,
            }

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._tls is not None:
            self.scope["extensions"] = {"tls": self._tls}  # type: ignore[dict-item]


def server_ssl_context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    """A server TLS context: TLS 1.2 or newer, the given certificate chain."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(certfile), keyfile=str(keyfile))
    return context


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve_listeners`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _config(app: Any, listener: Listener, tls: tuple[Path, Path] | None) -> uvicorn.Config:
    options: dict[str, Any] = {
        "lifespan": "off",
        "log_config": None,
        "access_log": False,
        "server_header": False,
        # X-Forwarded-For is ours to judge (settings.trusted_proxies); uvicorn must not rewrite the peer.
        "proxy_headers": False,
        # The TLS subclass only adds work to plain connections (an override per request that
        # finds nothing to report), so plain listeners use uvicorn's own httptools protocol.
        "http": TlsAwareHttpProtocol if listener.tls else "httptools",
        "timeout_graceful_shutdown": 30,
        "timeout_keep_alive": 75,
    }
    if listener.scheme == "unix":
        options["uds"] = listener.host
    else:
        options["host"] = listener.host
        options["port"] = listener.port
    if listener.tls:
        assert tls is not None
        cert, key = tls
        options["ssl_context_factory"] = lambda _config, _default: server_ssl_context(cert, key)
    return uvicorn.Config(app, **options)


async def serve_listeners(
    gateway: Gateway,
    listeners: tuple[Listener, ...],
    tls: tuple[Path, Path] | None,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Serve every listener until SIGTERM/SIGINT, then shut down gracefully."""
    servers = [_Server(_config(gateway.for_listener(item), item, tls)) for item in listeners]
    for listener in listeners:
        if listener.scheme == "unix":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(listener.host)
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    try:
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.01)
        failed = [task for task in tasks if task.done()]
        if failed:
            stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise SystemExit("cipherpost: a listener failed to start (see the log above)")
        if on_started is not None:
            on_started()
        await asyncio.gather(*tasks)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
