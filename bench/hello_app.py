"""The peer for the foundation benchmark: a hello-world ASGI app on the same server stack.

Run by bench/run.py under uvicorn with httptools and uvloop, exactly as Cipherpost's
listeners are configured, so the ratio isolates what Cipherpost does per request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

BODY = b"<GetCallerIdentityResponse>hello</GetCallerIdentityResponse>"


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/xml"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
