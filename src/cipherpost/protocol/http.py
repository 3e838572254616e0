"""The HTTP request and response as the protocol layer sees them (no ASGI here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One HTTP request, as the server received it."""

    method: str
    #: Raw, percent-encoded path, without the query string.
    path: str
    #: Raw query string (without ``?``).
    query_string: str
    #: Header names in lower case.
    headers: Mapping[str, str]
    body: bytes


@dataclass(slots=True)
class HttpResponse:
    """One HTTP response, ready for the server to send."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
