"""The ``kit`` fixture for the SigV4 tests: requests signed by botocore's own signers (and
by real boto3 clients), seen as the server receives them, plus parse-and-verify."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from unittest import mock
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from cipherpost.auth.sigv4 import Credential, SignedRequest, parse, verify

_DEFAULT_PORTS = {"http": 80, "https": 443}
Headers = Mapping[str, str] | Sequence[tuple[str, str]]


def wire_host(url: str) -> str:
    """The Host header an HTTP client sends for ``url`` (default port omitted)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host  # IPv6 literal
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _as_bytes(body: bytes | str | None) -> bytes:
    return body.encode() if isinstance(body, str) else (body or b"")


def _as_text(value: bytes | str) -> str:
    """A header value as the server sees it: HTTP header bytes decode as latin-1."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


class _Stop(Exception):
    """Aborts a captured boto3 call before it reaches the network."""


@dataclass
class _Capture:
    """A ``before-send`` hook keeping the request a boto3 client was about to send."""

    requests: list[SignedRequest] = field(default_factory=list)

    def __call__(self, request: Any, **_: Any) -> Any:
        url = urlsplit(request.url)
        headers = [(name, _as_text(value)) for name, value in request.headers.items()]
        headers.append(("host", wire_host(request.url)))
        self.requests.append(SignedRequest(request.method, url.path, url.query, headers, _as_bytes(request.body)))
        raise _Stop


class Kit:
    """Signing with botocore, receiving as the server does, and verifying."""

    ACCESS_KEY: ClassVar[str] = "AKIAIOSFODNN7EXAMPLE"
    SECRET_KEY: ClassVar[str] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    TOKEN: ClassVar[str] = "FwoGZXIvYXdzEXAMPLE//token+with/reserved=chars"
    REGION: ClassVar[str] = "us-east-1"
    #: When botocore signs (naive UTC, as botocore's clock returns it) and when we verify.
    SIGNED_AT: ClassVar[datetime] = datetime(2026, 1, 1, 12, 0, 0)
    NOW: ClassVar[datetime] = SIGNED_AT.replace(tzinfo=UTC)

    @staticmethod
    def at_time(when: datetime) -> Any:
        """Patch botocore's clock so its signature has a known timestamp."""
        return mock.patch("botocore.auth.get_current_datetime", return_value=when)

    @staticmethod
    def received(request: AWSRequest) -> SignedRequest:
        """What the server receives for a botocore-signed request (repeated headers kept)."""
        prepared = request.prepare()
        url = urlsplit(prepared.url)
        headers = list(request.headers.raw_items())
        if not any(name.lower() == "host" for name, _ in headers):
            headers.append(("host", wire_host(prepared.url)))
        return SignedRequest(prepared.method, url.path, url.query, headers, _as_bytes(prepared.body))

    def header(
        self,
        method: str,
        url: str,
        *,
        service: str = "sqs",
        region: str = REGION,
        headers: Headers = (),
        data: bytes | str | Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        when: datetime = SIGNED_AT,
        secret: str = SECRET_KEY,
    ) -> SignedRequest:
        """A request signed in the Authorization header by ``botocore.auth.SigV4Auth``."""
        request = AWSRequest(method, url, data=data, params=params or {})
        for name, value in headers.items() if isinstance(headers, Mapping) else headers:
            request.headers[name] = value  # HTTPHeaders appends: repeated headers stay repeated
        with self.at_time(when):
            SigV4Auth(Credentials(self.ACCESS_KEY, secret, token), service, region).add_auth(request)
        return self.received(request)

    def presigned(
        self,
        method: str,
        url: str,
        *,
        service: str = "sts",
        region: str = REGION,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        expires: int = 3600,
        when: datetime = SIGNED_AT,
    ) -> SignedRequest:
        """A presigned (query-string) request signed by ``botocore.auth.SigV4QueryAuth``."""
        request = AWSRequest(method, url, params=params or {})
        credentials = Credentials(self.ACCESS_KEY, self.SECRET_KEY, token)
        with self.at_time(when):
            SigV4QueryAuth(credentials, service, region, expires=expires).add_auth(request)
        return self.received(request)

    def boto(self, service: str, operation: str, *, token: str | None = None, **params: Any) -> SignedRequest:
        """The request a real boto3 client signs for one call."""
        capture = _Capture()
        client = boto3.client(
            service,
            region_name=self.REGION,
            endpoint_url="http://localhost:4566",
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}),
        )
        client.meta.events.register("before-send", capture)
        with self.at_time(self.SIGNED_AT), pytest.raises(_Stop):
            getattr(client, operation)(**params)
        return capture.requests[-1]

    def presigned_url(self, service: str, operation: str, *, expires: int = 900, **params: Any) -> SignedRequest:
        """The URL ``client.generate_presigned_url`` makes, requested with the operation's
        HTTP method (botocore signs with it: POST for query-protocol operations), no body."""
        client = boto3.client(
            service,
            region_name=self.REGION,
            endpoint_url="https://localhost",
            aws_access_key_id=self.ACCESS_KEY,
            aws_secret_access_key=self.SECRET_KEY,
        )
        with self.at_time(self.SIGNED_AT):
            url = client.generate_presigned_url(operation, Params=params, ExpiresIn=expires)
        parts = urlsplit(url)
        method = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation]).http[
            "method"
        ]
        return SignedRequest(method, parts.path, parts.query, [("host", wire_host(url))])

    def check(self, request: SignedRequest, *, secret: str = SECRET_KEY, **kw: Any) -> Credential:
        """Parse and verify as the server would (``now``/``region`` default to the kit's)."""
        credential = parse(request)
        kw.setdefault("now", self.NOW)
        kw.setdefault("region", self.REGION)
        verify(request, credential, secret, **kw)
        return credential


@pytest.fixture(scope="session")
def kit() -> Kit:
    """Signing, receiving and verifying helpers for SigV4 tests."""
    return Kit()
