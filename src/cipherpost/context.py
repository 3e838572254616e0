"""The request context every handler receives, and the authenticated principal in it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from cipherpost.config import Listener


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a request, as established by authentication."""

    account_id: str
    """The 12-digit account the principal belongs to."""
    arn: str
    """Principal ARN: ``arn:aws:iam::ACCOUNT:root``, ``…:user/NAME``, ``arn:aws:sts::ACCOUNT:assumed-role/R/S``."""
    principal_id: str
    """The ``UserId`` GetCallerIdentity reports (account id for root, ``AIDA…`` for users)."""
    kind: str
    """CloudTrail userIdentity type: ``Root``, ``IAMUser``, ``AssumedRole``, ``FederatedUser`` or ``AWSService``."""
    access_key_id: str | None = None
    """The access key the request was signed with (None for a service acting on its own)."""
    user_name: str | None = None
    """IAM user name, when the principal is an IAM user."""
    session_token: str | None = None
    """The STS session token presented with temporary credentials."""

    @property
    def is_root(self) -> bool:
        return self.kind == "Root"

    @property
    def is_service(self) -> bool:
        """True when an AWS service principal (``sns.amazonaws.com``) is the caller."""
        return self.kind == "AWSService"

    @staticmethod
    def for_service(service_principal: str, account_id: str) -> Caller:
        """A service principal acting in ``account_id`` (e.g. SNS delivering to a queue); one
        shared instance per pair (a Caller is immutable, and SNS asks per delivery)."""
        return _service_caller(service_principal, account_id)


@functools.lru_cache(maxsize=1024)
def _service_caller(service_principal: str, account_id: str) -> Caller:
    return Caller(account_id=account_id, arn=service_principal, principal_id=service_principal, kind="AWSService")


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """What the TLS layer negotiated for a request's connection."""

    version: str
    """Protocol name, e.g. ``TLSv1.3``."""
    cipher: str | None = None
    """Cipher suite name, e.g. ``TLS_AES_256_GCM_SHA384``."""


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Everything a handler may know about the request besides its parameters."""

    request_id: str
    """The id returned to the client (``x-amzn-RequestId``) and recorded in the audit trail."""
    received_at: datetime
    """When the request arrived (UTC)."""
    region: str
    """The region this installation answers as."""
    service: str
    """Our service name: ``sts``, ``iam``, ``sns``, ``sqs``, ``kms``, ``cloudtrail``."""
    operation: str
    """AWS operation name, e.g. ``GetCallerIdentity``."""
    caller: Caller
    """The authenticated principal."""
    listener: Listener
    """The listener the request came in on (its endpoint id marks a private listener)."""
    source_ip: str | None
    """The peer address (None on a Unix socket)."""
    user_agent: str = ""
    """The client's User-Agent header."""
    tls: TlsInfo | None = None
    """TLS details; None for plain HTTP or a Unix socket."""
    protocol: str = "query"
    """Wire protocol of the request: ``query`` or ``json``."""
    invoked_by: str | None = None
    """The service principal acting on the caller's behalf (``sns.amazonaws.com``), if any."""
    request_tags: tuple[tuple[str, str], ...] = ()
    """Tags the request asks to set (aws:RequestTag/*), as (key, value) pairs."""
    tag_keys: tuple[str, ...] = ()
    """Tag keys the request names (aws:TagKeys): the keys of request_tags, or those it removes."""
    trace_header: str | None = None
    """The ``X-Amzn-Trace-Id`` request header (X-Ray), if sent."""

    @property
    def endpoint_id(self) -> str | None:
        """The private listener's endpoint id (aws:SourceVpce), or None."""
        return self.listener.endpoint_id

    @property
    def secure_transport(self) -> bool:
        """aws:SecureTransport: True when the request came over TLS."""
        return self.tls is not None
