"""AWS Signature Version 4 request verification: pure logic, no I/O.

The caller (the server's authentication step) does::

    request = SignedRequest(method, raw_path, raw_query, headers, body)
    credential = parse(request)                    # what the client claims
    secret = <look up credential.access_key_id>    # InvalidClientTokenId / ExpiredToken there
    verify(request, credential, secret, now=clock(), region=config.region)

``scope_service`` is a cheap, never-raising peek at the signed service for routing.
Canonicalization lives in :mod:`cipherpost.auth.sigv4_canonical`, claim parsing in
:mod:`cipherpost.auth.sigv4_parse`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from cipherpost.auth import sigv4_canonical as canon
from cipherpost.auth.sigv4_canonical import SignedRequest, quoted, signing_key
from cipherpost.auth.sigv4_parse import Credential, parse, scope_service
from cipherpost.errors import (
    IncompleteSignature,
    RequestExpired,
    SignatureDoesNotMatch,
)

__all__ = ["Credential", "SignatureMismatch", "SignedRequest", "parse", "scope_service", "signing_key", "verify"]

DEFAULT_MAX_SKEW = timedelta(minutes=15)


class SignatureMismatch(SignatureDoesNotMatch):
    """SignatureDoesNotMatch carrying what the server signed, for debug logs only.

    The canonical request and string to sign never go into the message: AWS's S3 echoes
    them, but here they would hand a prober the exact header set being checked.
    """

    def __init__(self, canonical_request: str, string_to_sign: str) -> None:
        super().__init__(SignatureDoesNotMatch().message)
        #: The canonical request the server computed.
        self.canonical_request = canonical_request
        #: The string to sign the server computed.
        self.string_to_sign = string_to_sign


def verify(
    request: SignedRequest,
    credential: Credential,
    secret_access_key: str,
    *,
    now: datetime,
    region: str,
    service: str | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    allow_unsigned_payload: bool = False,
) -> None:
    """Verify a parsed SigV4 credential against the request and the access key's secret.

    :param request: the received request.
    :param credential: from :func:`parse` on the same request.
    :param secret_access_key: the secret of ``credential.access_key_id``.
    :param now: the server's time, timezone-aware.
    :param region: the region this server answers for.
    :param service: the signing name the operation belongs to, when known (routing).
    :param max_skew: the allowed clock difference (AWS: 15 minutes).
    :param allow_unsigned_payload: accept ``x-amz-content-sha256: UNSIGNED-PAYLOAD``.
        No SNS/SQS/KMS/IAM/STS operation is modelled with an unsigned body (that is an
        S3 feature), so by default the body must be signed.
    :raises SignatureDoesNotMatch: wrong scope, missing signed header, bad payload hash,
        or a signature that does not match (then a :class:`SignatureMismatch`).
    :raises IncompleteSignature: ``host`` or the date header not signed; unsigned payload.
    :raises RequestExpired: outside the clock-skew window or past the presigned expiry.
    """
    _check_scope(credential, region, service)
    _check_signed_headers(request, credential)
    _check_time(credential, now, max_skew)
    payload_hash = _payload_hash(request, credential, allow_unsigned_payload)
    canonical = canon.canonical_request(
        request, credential.signed_headers, payload_hash, presigned=credential.presigned
    )
    to_sign = canon.string_to_sign(credential.amz_date, credential.scope, canonical)
    key = signing_key(secret_access_key, credential.date, credential.region, credential.service)
    if not hmac.compare_digest(canon.signature(key, to_sign).encode(), credential.signature.encode()):
        raise SignatureMismatch(canonical, to_sign)


def _check_scope(credential: Credential, region: str, service: str | None) -> None:
    """SigV4 scope rules: same day as the request, this region, this service, aws4_request."""
    if credential.date != credential.amz_date[:8]:
        raise SignatureDoesNotMatch(
            f"Credential scope date {credential.date} does not match the request date "
            f"{credential.amz_date[:8]} (from {credential.date_source} {credential.amz_date})."
        )
    if credential.region != region:
        raise SignatureDoesNotMatch(
            f"Credential should be scoped to a valid region: this endpoint serves {region!r}, "
            f"the request was signed for {quoted(credential.region)}."
        )
    if service is not None and credential.service != service:
        raise SignatureDoesNotMatch(
            f"Credential should be scoped to the correct service: {service!r}, "
            f"not {quoted(credential.service)}."
        )
    if credential.terminator != canon.TERMINATOR:
        raise SignatureDoesNotMatch(
            f"Credential should be scoped with the terminator {canon.TERMINATOR!r}, "
            f"not {quoted(credential.terminator)}."
        )


def _check_signed_headers(request: SignedRequest, credential: Credential) -> None:
    """``host`` (and for header auth the date header) must be signed and present (SigV4)."""
    signed = credential.signed_headers
    if "host" not in signed:
        raise IncompleteSignature("The host header must be signed: add 'host' to SignedHeaders.")
    if not credential.presigned and credential.date_source not in signed:
        raise IncompleteSignature(f"The {credential.date_source} header must be signed.")
    for name in signed:
        if name not in request.header_values:
            raise SignatureDoesNotMatch(f"The signed header {quoted(name)} is not in the request.")


def _check_time(credential: Credential, now: datetime, max_skew: timedelta) -> None:
    """Header auth: within ``max_skew`` of ``now``. Presigned: not yet expired."""
    when = credential.request_time
    if when - now > max_skew:
        raise RequestExpired(
            f"Signature not yet current: request time {credential.amz_date} is more than "
            f"{_minutes(max_skew)} ahead of the server time {_stamp(now)}."
        )
    if credential.expires is not None:
        if now - when > timedelta(seconds=credential.expires):  # a difference cannot overflow
            raise RequestExpired(
                f"Presigned request expired: signed at {credential.amz_date} for "
                f"{credential.expires} seconds; the server time is {_stamp(now)}."
            )
    elif now - when > max_skew:
        raise RequestExpired(
            f"Signature expired: request time {credential.amz_date} is more than "
            f"{_minutes(max_skew)} before the server time {_stamp(now)}."
        )


def _payload_hash(request: SignedRequest, credential: Credential, allow_unsigned: bool) -> str:
    """The payload hash for the canonical request; checks ``x-amz-content-sha256`` if sent.

    A signed ``x-amz-content-sha256`` value is what the client put in its canonical request;
    otherwise the hash of the body is. For these non-S3 services a claimed hash that differs
    from the body is a signature failure (the body was altered or mis-hashed).
    """
    actual = hashlib.sha256(request.body).hexdigest() if request.body else canon.EMPTY_SHA256
    claimed = request.header("x-amz-content-sha256")
    if claimed is None or claimed == actual:
        return actual
    if claimed != canon.UNSIGNED_PAYLOAD:
        raise SignatureDoesNotMatch("The x-amz-content-sha256 header is not the SHA-256 of the request body.")
    if not allow_unsigned:
        raise IncompleteSignature("UNSIGNED-PAYLOAD is not accepted by this service: sign the request body.")
    return claimed if "x-amz-content-sha256" in credential.signed_headers else actual


def _stamp(when: datetime) -> str:
    """A time as SigV4 writes it, ``YYYYMMDDTHHMMSSZ`` (UTC)."""
    return when.astimezone(UTC).strftime(canon.AMZ_DATE_FORMAT)


def _minutes(delta: timedelta) -> str:
    """A skew window in words, e.g. ``15 min``."""
    return f"{delta.total_seconds() / 60:g} min"
