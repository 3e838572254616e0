"""SigV4 as the server sees a request: the request model, its time, and the canonical forms
(URI, query, headers, canonical request, string to sign) and signing key.

Pure functions, no I/O. The rules are those of the AWS Signature Version 4 specification
("Create a canonical request", "Create a string to sign", "Calculate the signature") as
the AWS SDKs apply them to the non-S3 services Cipherpost speaks (SNS, SQS, KMS, IAM, STS).
Where the specification leaves room, the choice is the one botocore's ``SigV4Auth`` makes,
since botocore-based clients are the ones that must verify here byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

from cipherpost.errors import IncompleteSignature

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

#: RFC 3986 unreserved characters besides letters and digits (which ``quote`` never
#: encodes). SigV4: "URI-encode each parameter name and value ... do not encode any of
#: the unreserved characters"; everything else becomes ``%XY`` with upper-case hex.
_QUERY_SAFE = "-_.~"
#: Path encoding keeps the separators. ``-_.`` are always safe for ``quote``.
_PATH_SAFE = "/~"
#: A path ``quote(path, safe=_PATH_SAFE)`` leaves as it is: only letters, digits, ``-_.~``
#: (never encoded) and ``/`` (safe). Most paths are ``/`` or ``/<account>/<queue-name>``.
_PLAIN_PATH = re.compile(rb"[A-Za-z0-9_.~/-]*")

Headers = Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as received, reduced to what SigV4 covers.

    ``path`` and ``query_string`` are raw, percent-encoded as on the wire (ASGI's
    ``raw_path`` and ``query_string``). ``headers`` is a mapping or the raw ``(name, value)``
    list (values decoded as latin-1, as ASGI bytes are); names are matched case-insensitively
    and a repeated header keeps all its values.
    """

    method: str
    path: str | bytes
    query_string: str | bytes
    headers: Headers
    body: bytes = b""
    #: ``header_values`` already built by the caller from ``headers`` (the server indexes the
    #: headers once for both of its request views); it must be exactly what ``headers`` gives.
    #: An init-only variable, so ``dataclasses.replace`` with new headers re-indexes them.
    indexed_headers: InitVar[Mapping[str, list[str]] | None] = None
    #: Lower-case header name -> every value received, in order.
    header_values: Mapping[str, list[str]] = field(init=False, repr=False, compare=False)
    #: ``path`` as bytes.
    raw_path: bytes = field(init=False, repr=False, compare=False)
    #: Decoded query parameters, in wire order.
    query_pairs: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self, indexed_headers: Mapping[str, list[str]] | None) -> None:
        values = indexed_headers
        if values is None:
            values = {}
            items = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
            for name, value in items:
                values.setdefault(name.lower(), []).append(value)
        object.__setattr__(self, "header_values", values)
        object.__setattr__(self, "raw_path", _to_bytes(self.path))
        object.__setattr__(self, "query_pairs", split_query(_to_bytes(self.query_string)))

    def header(self, name: str) -> str | None:
        """The single value of a header.

        :param name: lower-case header name.
        :returns: its value, or ``None`` when absent.
        :raises IncompleteSignature: when the header is repeated (SigV4 needs one value).
        """
        values = self.header_values.get(name)
        if values is None:
            return None
        if len(values) != 1:
            raise IncompleteSignature(f"The {name} header must appear only once.")
        return values[0]


def quoted(text: str) -> str:
    """Client-supplied text for an error message: quoted and cut to 64 characters."""
    return repr(text if len(text) <= 64 else text[:64] + "...")


def _to_bytes(value: str | bytes) -> bytes:
    """Raw wire text as bytes (a ``str`` is taken as UTF-8, as botocore encodes it)."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def split_query(query: bytes) -> tuple[tuple[bytes, bytes], ...]:
    """Split a raw query string into decoded ``(name, value)`` byte pairs, in wire order.

    ``+`` decodes to a space, as in ``application/x-www-form-urlencoded``: botocore sends
    ``params`` with ``urlencode`` (a space on the wire is ``+``) but signs them with ``%20``,
    and the protocol layer reads the query the same way, so the signature covers what the
    server acts on. Empty ``&&`` segments carry no parameter and are skipped.

    :param query: the query string as received, without the leading ``?``.
    :returns: the decoded pairs; a name without ``=`` has the value ``b""``.
    """
    if not query:
        return ()
    pairs: list[tuple[bytes, bytes]] = []
    for item in query.split(b"&"):
        if item:
            name, _, value = item.partition(b"=")
            pairs.append((_form_unquote(name), _form_unquote(value)))
    return tuple(pairs)


def _form_unquote(raw: bytes) -> bytes:
    """Percent-decode one query component, treating ``+`` as a space."""
    if b"%" not in raw and b"+" not in raw:
        return raw
    return unquote_to_bytes(raw.replace(b"+", b" "))


def canonical_query(pairs: Sequence[tuple[bytes, bytes]], *, exclude: bytes = b"") -> str:
    """The canonical query string: re-encoded pairs sorted by encoded name, then value.

    SigV4: "Sort the parameters by name ... if two parameters share a name, sort by value"
    — both comparisons on the *encoded* form, which is also what botocore does.

    :param pairs: decoded pairs from :func:`split_query`.
    :param exclude: a parameter name to leave out (``X-Amz-Signature`` for presigned URLs:
        the signature cannot cover itself).
    :returns: ``name=value`` items joined with ``&``; ``""`` for no parameters.
    """
    if not pairs:
        return ""
    encoded = sorted(
        (quote(name, safe=_QUERY_SAFE), quote(value, safe=_QUERY_SAFE))
        for name, value in pairs
        if name != exclude
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_uri(path: bytes) -> str:
    """The canonical URI of a raw (already percent-encoded) request path.

    For every service except S3, SigV4 normalizes the path (RFC 3986 §5.2.4 dot-segment
    removal, plus collapsing empty segments) and then URI-encodes it *again*, so an
    on-the-wire ``%20`` is signed as ``%2520``.

    :param path: the path exactly as received, e.g. ``b"/123456789012/my%20queue"``.
    :returns: the canonical URI; ``"/"`` for an empty path.
    """
    path = normalize_path(path)
    if _PLAIN_PATH.fullmatch(path):
        return path.decode("ascii")  # nothing to encode: ``quote`` would return it unchanged
    return quote(path, safe=_PATH_SAFE)


def normalize_path(path: bytes) -> bytes:
    """Remove ``.``/``..`` and empty segments, keeping the leading and trailing ``/``.

    :param path: a raw path.
    :returns: the normalized path (``b"/"`` for an empty one).
    """
    if not path:
        return b"/"
    if path.startswith(b"/") and b"//" not in path and b"/." not in path:
        return path  # already normal: the common case, skip the allocation
    segments: list[bytes] = []
    for segment in path.split(b"/"):
        if segment == b"..":
            if segments:
                segments.pop()
        elif segment and segment != b".":
            segments.append(segment)
    lead = b"/" if path.startswith(b"/") else b""
    trail = b"/" if path.endswith(b"/") and segments else b""
    return lead + b"/".join(segments) + trail


def canonical_headers(headers: Mapping[str, Sequence[str]], names: Sequence[str]) -> str:
    """The canonical headers block: one ``name:value\\n`` line per signed header.

    SigV4: values are trimmed and runs of whitespace collapse to one space ("Trimall");
    a header repeated on the wire contributes its values in order, joined with ``,``.

    :param headers: lower-case name -> every value received, in order.
    :param names: the signed header names, in the order the client listed them.
    :returns: the block, each line ending in a newline.
    :raises KeyError: when a signed header is absent (the caller checks first).
    """
    lines = []
    for name in names:
        values = headers[name]
        value = " ".join(values[0].split()) if len(values) == 1 else ",".join(" ".join(v.split()) for v in values)
        lines.append(f"{name}:{value}\n")
    return "".join(lines)


def canonical_request(
    request: SignedRequest, signed_headers: Sequence[str], payload_hash: str, *, presigned: bool
) -> str:
    """The SigV4 canonical request: method, URI, query, headers, signed names, payload hash.

    :param request: the received request.
    :param signed_headers: the names the client signed, in its order.
    :param payload_hash: lower-case hex SHA-256 of the body, or ``UNSIGNED-PAYLOAD``.
    :param presigned: leave ``X-Amz-Signature`` out of the query (a signature cannot cover
        itself; SigV4 query auth signs every other parameter).
    :returns: the canonical request text (with the specification's blank line after the
        headers block, whose lines each end in a newline).
    :raises KeyError: when a signed header is absent (the caller checks first).
    """
    uri = canonical_uri(request.raw_path)
    query = canonical_query(request.query_pairs, exclude=b"X-Amz-Signature" if presigned else b"")
    headers = canonical_headers(request.header_values, signed_headers)
    return f"{request.method}\n{uri}\n{query}\n{headers}\n{';'.join(signed_headers)}\n{payload_hash}"


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """The SigV4 string to sign.

    :param amz_date: the request time as ``YYYYMMDDTHHMMSSZ``.
    :param scope: ``date/region/service/aws4_request``.
    :param canonical: the canonical request.
    :returns: algorithm, time, scope and the hex SHA-256 of the canonical request, one per line.
    """
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def header_time(request: SignedRequest) -> tuple[str, datetime, str]:
    """The request time for header auth; ``X-Amz-Date`` takes precedence over ``Date`` (SigV4).

    :param request: the received request.
    :returns: the time as it enters the string to sign (``YYYYMMDDTHHMMSSZ``), as a UTC
        datetime, and the name of the header it came from.
    :raises IncompleteSignature: when neither header is present or the value is malformed.
    """
    amz_date = request.header("x-amz-date")
    if amz_date is not None:
        return amz_date, parse_amz_date(amz_date), "x-amz-date"
    date = request.header("date")
    if date is None:
        raise IncompleteSignature("SigV4 requires an X-Amz-Date or a Date header.")
    try:
        when = parsedate_to_datetime(date)
        # RFC 5322 "-0000" yields a naive datetime; HTTP dates are always UTC.
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise IncompleteSignature(f"The Date header is not an HTTP date: {quoted(date)}.") from None
    return when.strftime(AMZ_DATE_FORMAT), when, "date"


def parse_amz_date(text: str) -> datetime:
    """Parse ``YYYYMMDDTHHMMSSZ`` (ISO 8601 basic format, UTC) without strptime's cost.

    :param text: an ``X-Amz-Date`` header or parameter value.
    :returns: the time, UTC.
    :raises IncompleteSignature: when it is not in that exact form or not a real time.
    """
    digits = text[:8] + text[9:15]
    if len(text) != 16 or text[8] != "T" or text[15] != "Z" or not (digits.isascii() and digits.isdigit()):
        raise IncompleteSignature(f"X-Amz-Date must be YYYYMMDDTHHMMSSZ, got {quoted(text)}.")
    try:
        # The exact shape is checked above; within it, ``fromisoformat`` (C code; ISO 8601
        # basic format and ``Z`` since Python 3.11) reads the same six fields as
        # ``datetime(y, m, d, H, M, S, tzinfo=UTC)`` would and rejects the same out-of-range ones.
        return datetime.fromisoformat(text)
    except ValueError:
        raise IncompleteSignature(f"X-Amz-Date is not a valid time: {quoted(text)}.") from None


@lru_cache(maxsize=4096)
def signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """Derive the SigV4 signing key (four chained HMAC-SHA256 steps), cached.

    The key depends only on the secret and the scope, so one derivation serves every
    request a client signs that day; caching it removes four of the five HMACs per verify.

    :param secret_access_key: the secret for the request's access key id.
    :param date: scope date ``YYYYMMDD``.
    :param region: scope region.
    :param service: scope service.
    :returns: the 32-byte signing key.
    """
    key = ("AWS4" + secret_access_key).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return key


def signature(key: bytes, text: str) -> str:
    """The hex HMAC-SHA256 of a string to sign.

    :param key: from :func:`signing_key`.
    :param text: from :func:`string_to_sign`.
    :returns: 64 lower-case hex digits.
    """
    mac = _keyed_hmac(key).copy()
    mac.update(text.encode("utf-8"))
    return mac.hexdigest()


@lru_cache(maxsize=4096)
def _keyed_hmac(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 already keyed with ``key``, copied per message by :func:`signature`.

    Copying the keyed state gives the same MAC as ``hmac.digest(key, text, "sha256")``
    while skipping OpenSSL's per-call digest lookup and key schedule (half its cost). It
    holds no more than :func:`signing_key`'s cache already does, for as many keys.
    """
    return hmac.new(key, digestmod=hashlib.sha256)
