"""SigV4: reading what a request claims (the Credential), before anything is verified.

Split from :mod:`cipherpost.auth.sigv4`, which verifies; both are pure logic, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from cipherpost.auth import sigv4_canonical as canon
from cipherpost.auth.sigv4_canonical import SignedRequest, quoted
from cipherpost.errors import IncompleteSignature, MissingAuthenticationToken

__all__ = ["MAX_EXPIRES", "Credential", "parse", "scope_service"]

#: SigV4 query auth: "X-Amz-Expires ... minimum 1, maximum 604800 seconds (seven days)".
MAX_EXPIRES = 604_800
_HEADER_FIELDS = ("Credential", "SignedHeaders", "Signature")
_QUERY_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature")
_QUERY_OPTIONAL = ("X-Amz-Expires", "X-Amz-Security-Token")
_QUERY_AUTH = frozenset(name.encode() for name in _QUERY_FIELDS + _QUERY_OPTIONAL)
#: Any of these in the query makes the request a presigned one (X-Amz-Date alone does not).
_QUERY_MARKERS = frozenset(name.encode() for name in _QUERY_FIELDS if name != "X-Amz-Date")
#: A signature as SigV4 writes it: 64 lower-case hex digits.
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
#: The Authorization header exactly as the AWS SDKs write it (botocore: ``"AWS4-HMAC-SHA256
#: Credential=%s, SignedHeaders=%s, Signature=%s"``), each value printable ASCII other than
#: space, ``,`` and ``=`` (the ranges ``!-+``, ``--<``, ``>-~``). Values without commas, equals
#: signs or whitespace are exactly what the general parser would split out, so a match skips
#: it; anything else (other order, spacing, characters) takes the general path.
_VALUE = r"([!-+\--<>-~]+)"
_SDK_AUTHORIZATION = re.compile(
    rf"AWS4-HMAC-SHA256 Credential={_VALUE}, ?SignedHeaders={_VALUE}, ?Signature={_VALUE}"
)
_SIGV2_UNSUPPORTED = "Signature Version 2 is not supported; sign requests with AWS4-HMAC-SHA256 (SigV4)."



@dataclass(frozen=True, slots=True)
class Credential:
    """The SigV4 claims of a request, as parsed; nothing here is verified yet."""

    #: The access key id the client signed with.
    access_key_id: str
    #: Scope date, ``YYYYMMDD``.
    date: str
    #: Scope region.
    region: str
    #: Scope service (signing name), e.g. ``sqs``.
    service: str
    #: Scope terminator; valid only when ``aws4_request``.
    terminator: str
    #: Signed header names, lower-case, in the client's order.
    signed_headers: tuple[str, ...]
    #: The signature, 64 lower-case hex digits.
    signature: str
    #: Request time as it enters the string to sign, ``YYYYMMDDTHHMMSSZ``.
    amz_date: str
    #: Request time, UTC.
    request_time: datetime
    #: Where the time came from: ``x-amz-date`` or ``date`` header, or the ``X-Amz-Date`` param.
    date_source: str
    #: True for query-string (presigned URL) authentication.
    presigned: bool
    #: Presigned lifetime in seconds (``X-Amz-Expires``); ``None`` for header auth.
    expires: int | None
    #: ``X-Amz-Security-Token`` (temporary credentials), header or param.
    security_token: str | None

    @property
    def scope(self) -> str:
        """The credential scope, ``date/region/service/terminator``."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


def scope_service(request: SignedRequest) -> str | None:
    """The service the client signed for, for routing before verification; never raises.

    :param request: the received request.
    :returns: the scope's service, or ``None`` when there is no recognizable credential.
    """
    credential = ""
    authorization = request.header_values.get("authorization")
    if authorization:
        start = authorization[0].find("Credential=")
        if start >= 0:
            credential = authorization[0][start + 11 :].split(",", 1)[0].strip()
    else:
        for name, value in request.query_pairs:
            if name == b"X-Amz-Credential":
                credential = value.decode("utf-8", "replace")
    parts = credential.rsplit("/", 4)
    if len(parts) != 5:
        return None
    return parts[3] or None


def parse(request: SignedRequest) -> Credential:
    """Find and parse the request's SigV4 authentication (header or presigned query).

    :param request: the received request.
    :returns: the claimed credential.
    :raises MissingAuthenticationToken: when the request carries no authentication.
    :raises IncompleteSignature: when it is malformed, incomplete, ambiguous, or uses
        another algorithm (SigV2, SigV4a): the request "does not conform to AWS standards";
        InvalidClientTokenId would wrongly suggest the key is unknown.
    """
    params = _query_auth_params(request)
    authorization = request.header_values.get("authorization")
    if authorization and params:
        raise IncompleteSignature(
            "Only one authentication mechanism is allowed: send either the Authorization header "
            "or the X-Amz-* query parameters, not both."
        )
    if params:
        return _parse_query(request, params)
    if not authorization or not authorization[0].strip():
        _raise_missing(request)
    if len(authorization) != 1:
        raise IncompleteSignature("The Authorization header must appear only once.")
    return _parse_header(request, authorization[0])


def _raise_missing(request: SignedRequest) -> NoReturn:
    """Raise MissingAuthenticationToken, naming SigV2 when the request looks like it."""
    sigv2 = any(name in (b"AWSAccessKeyId", b"SignatureVersion") for name, _ in request.query_pairs)
    if sigv2 or (b"AWSAccessKeyId=" in request.body and b"SignatureVersion=" in request.body):
        raise IncompleteSignature(_SIGV2_UNSUPPORTED)
    raise MissingAuthenticationToken()


def _parse_header(request: SignedRequest, authorization: str) -> Credential:
    """Parse ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``."""
    sdk = _SDK_AUTHORIZATION.fullmatch(authorization)
    if sdk:
        credential, signed_headers, signature = sdk.groups()
        fields = {"Credential": credential, "SignedHeaders": signed_headers, "Signature": signature}
    else:
        fields = _header_fields(authorization)
    amz_date, when, source = canon.header_time(request)
    token = request.header("x-amz-security-token")
    return _credential(fields, amz_date, when, source, presigned=False, expires=None, token=token)


def _header_fields(authorization: str) -> dict[str, str]:
    """The Credential, SignedHeaders and Signature of any well-formed SigV4 Authorization."""
    algorithm, _, rest = authorization.strip().partition(" ")
    _check_algorithm(algorithm)
    fields: dict[str, str] = {}
    for part in filter(None, map(str.strip, rest.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise IncompleteSignature(f"{quoted(part)} is not a name=value pair in the Authorization header.")
        if name not in _HEADER_FIELDS or name in fields:
            raise IncompleteSignature(f"Unexpected or repeated {quoted(name)} in the Authorization header.")
        fields[name] = value.strip()
    missing = [name for name in _HEADER_FIELDS if name not in fields]
    if missing:
        raise IncompleteSignature(f"The Authorization header is missing: {', '.join(missing)}.")
    return fields


def _query_auth_params(request: SignedRequest) -> dict[str, str]:
    """The X-Amz-* authentication parameters of a presigned request; empty when not presigned."""
    if not request.query_pairs:
        return {}
    found = [(name, value) for name, value in request.query_pairs if name in _QUERY_AUTH]
    if not any(name in _QUERY_MARKERS for name, _ in found):
        return {}
    params: dict[str, str] = {}
    for name, value in found:
        key = name.decode()
        if key in params:
            raise IncompleteSignature(f"The {key} query parameter must appear only once.")
        try:
            params[key] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise IncompleteSignature(f"The {key} query parameter is not valid UTF-8.") from None
    return params


def _parse_query(request: SignedRequest, params: dict[str, str]) -> Credential:
    """Parse presigned-URL authentication from its query parameters."""
    missing = [name for name in _QUERY_FIELDS if name not in params]
    if missing:
        raise IncompleteSignature(f"The presigned request is missing: {', '.join(missing)}.")
    _check_algorithm(params["X-Amz-Algorithm"])
    expires = params.get("X-Amz-Expires")
    fields = {
        "Credential": params["X-Amz-Credential"],
        "SignedHeaders": params["X-Amz-SignedHeaders"],
        "Signature": params["X-Amz-Signature"],
    }
    amz_date = params["X-Amz-Date"]
    token = params.get("X-Amz-Security-Token") or request.header("x-amz-security-token")
    return _credential(
        fields,
        amz_date,
        canon.parse_amz_date(amz_date),
        "X-Amz-Date",
        presigned=True,
        expires=None if expires is None else _parse_expires(expires),
        token=token,
    )


def _credential(
    fields: Mapping[str, str],
    amz_date: str,
    when: datetime,
    source: str,
    *,
    presigned: bool,
    expires: int | None,
    token: str | None,
) -> Credential:
    """Validate the three SigV4 components and assemble the Credential."""
    scope = fields["Credential"].rsplit("/", 4)
    if len(scope) != 5:
        raise IncompleteSignature(
            "Credential must be <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request, "
            f"got {quoted(fields['Credential'])}."
        )
    if "" in scope:
        label = ("access key id", "date", "region", "service", "terminator")[scope.index("")]
        raise IncompleteSignature(f"Credential should be scoped to a valid {label}; it is empty.")
    if len(scope[1]) != 8 or not (scope[1].isascii() and scope[1].isdigit()):
        raise IncompleteSignature(f"The Credential scope date must be YYYYMMDD, got {quoted(scope[1])}.")
    names = fields["SignedHeaders"]
    signed = tuple(names.split(";"))
    if "" in signed or names != names.lower():
        raise IncompleteSignature("SignedHeaders must be lower-case header names separated by ';'.")
    signature = fields["Signature"]
    if not _SIGNATURE.fullmatch(signature):
        raise IncompleteSignature("Signature must be 64 lower-case hexadecimal digits.")
    access_key_id, date, region, service, terminator = scope
    return Credential(
        access_key_id=access_key_id,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=signed,
        signature=signature,
        amz_date=amz_date,
        request_time=when,
        date_source=source,
        presigned=presigned,
        expires=expires,
        security_token=token,
    )


def _check_algorithm(algorithm: str) -> None:
    """Reject anything but AWS4-HMAC-SHA256 with a message that says what to use."""
    if algorithm == canon.ALGORITHM:
        return
    if algorithm == "AWS":  # SigV2 header: "AWS AKID:signature"
        raise IncompleteSignature(_SIGV2_UNSUPPORTED)
    raise IncompleteSignature(f"Unsupported signing algorithm {quoted(algorithm)}; use AWS4-HMAC-SHA256.")


def _parse_expires(text: str) -> int:
    """Parse ``X-Amz-Expires``: whole seconds, 1 to 604800 (seven days)."""
    # The length bound comes first: int() refuses over 4300 digits with a ValueError.
    if not (len(text) <= 20 and text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_EXPIRES:
        raise IncompleteSignature(
            f"X-Amz-Expires must be whole seconds from 1 to {MAX_EXPIRES}, got {quoted(text)}."
        )
    return int(text)
