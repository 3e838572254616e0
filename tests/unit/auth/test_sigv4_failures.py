"""Every way a SigV4 request is refused, with the AWS error class and a clear message."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import timedelta

import pytest

from cipherpost.auth.sigv4 import SignatureMismatch, SignedRequest, parse, verify
from cipherpost.errors import (
    AwsError,
    IncompleteSignature,
    MissingAuthenticationToken,
    RequestExpired,
    SignatureDoesNotMatch,
)

URL = "http://localhost:4566/"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
JSON = {"X-Amz-Target": "TrentService.Encrypt", "Content-Type": "application/x-amz-json-1.1"}
SIG = "a" * 64
CRED = "AKID/20260101/us-east-1/sqs/aws4_request"


def set_header(request: SignedRequest, name: str, value: str | None) -> SignedRequest:
    """``request`` with every ``name`` header replaced by ``value`` (or removed for None)."""
    kept = [(k, v) for k, v in request.headers if k.lower() != name.lower()]
    return dataclasses.replace(request, headers=kept if value is None else [*kept, (name, value)])


def auth_header(request: SignedRequest) -> str:
    value = request.header("authorization")
    assert value is not None
    return value


@pytest.fixture
def post(kit):
    """A KMS JSON POST signed in the Authorization header."""
    return kit.header("POST", URL, service="kms", headers=JSON, data=b'{"KeyId":"k","Plaintext":"aGk="}')


@pytest.fixture
def presigned(kit):
    return kit.presigned("GET", URL, params={"Action": "GetCallerIdentity"}, expires=300)


# --- no or malformed authentication: parse ------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [pytest.param([], id="none"), pytest.param([("Authorization", "  ")], id="blank-authorization")],
)
def test_missing_authentication(headers):
    with pytest.raises(MissingAuthenticationToken):
        parse(SignedRequest("POST", "/", "", [("host", "h"), *headers], b"Action=ListQueues"))


def test_unsigned_request_from_real_client(kit):
    request = set_header(kit.boto("sqs", "list_queues"), "Authorization", None)
    with pytest.raises(MissingAuthenticationToken):
        parse(request)


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        pytest.param("AWS4-HMAC-SHA256", "missing: Credential, SignedHeaders, Signature", id="no-components"),
        pytest.param(f"AWS4-HMAC-SHA256 SignedHeaders=host, Signature={SIG}", "missing: Credential", id="credential"),
        pytest.param(f"AWS4-HMAC-SHA256 Credential={CRED}, Signature={SIG}", "missing: SignedHeaders", id="signed"),
        pytest.param(f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host", "missing: Signature", id="signature"),
        pytest.param(f"AWS4-HMAC-SHA256 Credential={CRED} SignedHeaders=host", "missing: SignedHeaders", id="no-comma"),
        pytest.param(f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders", "not a name=value", id="no-equals"),
        pytest.param(f"AWS4-HMAC-SHA256 Credential={CRED}, Foo=1", "Unexpected or repeated 'Foo'", id="unknown"),
        pytest.param(f"AWS4-HMAC-SHA256 Signature={SIG}, Signature={SIG}", "repeated 'Signature'", id="repeated"),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs, SignedHeaders=host, Signature={SIG}",
            "Credential must be <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request",
            id="credential-4-parts",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential=AKID/20260101//sqs/aws4_request, SignedHeaders=host, Signature={SIG}",
            "Credential should be scoped to a valid region",
            id="credential-empty-region",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential=/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature={SIG}",
            "valid access key id",
            id="credential-empty-key",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential=AKID/2026-1-1/us-east-1/sqs/aws4_request, SignedHeaders=host, "
            f"Signature={SIG}",
            "scope date must be YYYYMMDD",
            id="credential-bad-date",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=Host;x-amz-date, Signature={SIG}",
            "SignedHeaders must be lower-case",
            id="signed-headers-case",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;;x-amz-date, Signature={SIG}",
            "SignedHeaders must be lower-case header names",
            id="signed-headers-empty-name",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature=abc",
            "64 lower-case hexadecimal",
            id="signature-short",
        ),
        pytest.param(
            f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature={'A' * 64}",
            "64 lower-case hexadecimal",
            id="signature-upper",
        ),
        pytest.param("AWS AKIDEXAMPLE:c2lnbmF0dXJl", "Signature Version 2 is not supported", id="sigv2"),
        pytest.param(
            f"AWS4-ECDSA-P256-SHA256 Credential=AKID/20260101/sqs/aws4_request, SignedHeaders=host, Signature={SIG}",
            "Unsupported signing algorithm 'AWS4-ECDSA-P256-SHA256'",
            id="sigv4a",
        ),
        pytest.param("Bearer abc.def", "Unsupported signing algorithm 'Bearer'", id="bearer"),
    ],
)
def test_malformed_authorization_header(authorization, message):
    request = SignedRequest(
        "GET", "/", "", [("host", "h"), ("x-amz-date", "20260101T120000Z"), ("Authorization", authorization)]
    )
    with pytest.raises(IncompleteSignature, match=message.replace("(", r"\(")) as caught:
        parse(request)
    assert type(caught.value) is IncompleteSignature


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param([], "requires an X-Amz-Date or a Date header", id="no-date"),
        pytest.param([("x-amz-date", "2026-01-01T12:00:00Z")], "must be YYYYMMDDTHHMMSSZ", id="iso-extended"),
        pytest.param([("x-amz-date", "20261301T120000Z")], "not a valid time", id="month-13"),
        pytest.param([("x-amz-date", "20260101T120000Z")] * 2, "x-amz-date header must appear only once", id="twice"),
        pytest.param([("date", "yesterday")], "not an HTTP date", id="bad-date-header"),
        pytest.param([("date", "Fri, 31 Dec 9999 23:59:59 -2359")], "not an HTTP date", id="date-past-year-9999"),
        pytest.param([("date", "Thu, 01 Jan 2026 12:00:00 +9999")], "not an HTTP date", id="date-bad-offset"),
        pytest.param([("date", "1 Jan 99999999999999999999 00:00:00 GMT")], "not an HTTP date", id="date-huge"),
    ],
)
def test_bad_request_time(headers, message):
    authorization = f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={SIG}"
    request = SignedRequest("GET", "/", "", [("host", "h"), ("authorization", authorization), *headers])
    with pytest.raises(IncompleteSignature, match=message):
        parse(request)


def test_repeated_authorization_header(post):
    twice = dataclasses.replace(post, headers=[*post.headers, ("Authorization", auth_header(post))])
    with pytest.raises(IncompleteSignature, match="only once"):
        parse(twice)


@pytest.mark.parametrize(
    ("query", "body"),
    [
        pytest.param("AWSAccessKeyId=AKID&SignatureVersion=2&Signature=x", b"", id="query"),
        pytest.param("", b"Action=ListQueues&AWSAccessKeyId=AKID&SignatureVersion=2&Signature=x", id="form"),
    ],
)
def test_sigv2_query_or_form_is_named(query, body):
    with pytest.raises(IncompleteSignature, match="Signature Version 2 is not supported"):
        parse(SignedRequest("POST", "/", query, [("host", "h")], body))


def test_header_and_query_auth_together(post, presigned):
    both = set_header(presigned, "Authorization", auth_header(post))
    with pytest.raises(IncompleteSignature, match="Only one authentication mechanism"):
        parse(both)


@pytest.mark.parametrize(
    "dropped", ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"]
)
def test_presigned_missing_component(presigned, dropped):
    query = "&".join(p for p in str(presigned.query_string).split("&") if not p.startswith(dropped + "="))
    with pytest.raises(IncompleteSignature, match=f"missing: {dropped}"):
        parse(dataclasses.replace(presigned, query_string=query))


def test_presigned_repeated_component(presigned):
    query = f"{presigned.query_string}&X-Amz-Date=20260101T120000Z"
    with pytest.raises(IncompleteSignature, match="X-Amz-Date query parameter must appear only once"):
        parse(dataclasses.replace(presigned, query_string=query))


@pytest.mark.parametrize("algorithm", ["AWS4-ECDSA-P256-SHA256", "HMAC-SHA256"])
def test_presigned_unsupported_algorithm(presigned, algorithm):
    query = str(presigned.query_string).replace("AWS4-HMAC-SHA256", algorithm)
    with pytest.raises(IncompleteSignature, match="Unsupported signing algorithm"):
        parse(dataclasses.replace(presigned, query_string=query))


@pytest.mark.parametrize("expires", ["0", "604801", "abc", "-1", "1.5", "٣", "", "9" * 5000])
def test_presigned_expires_out_of_range(presigned, expires):
    query = str(presigned.query_string).replace("X-Amz-Expires=300", f"X-Amz-Expires={expires}")
    with pytest.raises(IncompleteSignature, match="X-Amz-Expires must be whole seconds from 1 to 604800"):
        parse(dataclasses.replace(presigned, query_string=query))


# --- signature and integrity: verify ------------------------------------------------------


def test_wrong_secret(kit, post):
    with pytest.raises(SignatureMismatch) as caught:
        kit.check(post, secret=kit.SECRET_KEY + "x")
    error = caught.value
    assert isinstance(error, SignatureDoesNotMatch)
    assert error.code == "SignatureDoesNotMatch"
    assert error.json_code == "InvalidSignatureException"
    assert error.canonical_request.startswith("POST\n/\n\ncontent-type:application/x-amz-json-1.1\n")
    assert error.string_to_sign.startswith("AWS4-HMAC-SHA256\n20260101T120000Z\n")
    assert "content-type" not in error.message
    assert "AWS4-HMAC-SHA256" not in str(error)


def test_tampered_body(kit, post):
    with pytest.raises(SignatureMismatch):
        kit.check(dataclasses.replace(post, body=post.body.replace(b'"k"', b'"K"')))


def test_tampered_signed_header(kit, post):
    with pytest.raises(SignatureMismatch):
        kit.check(set_header(post, "X-Amz-Target", "TrentService.Decrypt"))


def test_tampered_method_path_and_query(kit):
    request = kit.header("GET", URL + "123456789012/q", params={"Action": "ReceiveMessage"})
    for changed in (
        dataclasses.replace(request, method="DELETE"),
        dataclasses.replace(request, path="/123456789012/r"),
        dataclasses.replace(request, query_string="Action=DeleteQueue"),
        dataclasses.replace(request, query_string=f"{request.query_string}&Extra=1"),
    ):
        with pytest.raises(SignatureMismatch):
            kit.check(changed)


def test_unsigned_headers_do_not_matter(kit, post):
    changed = set_header(set_header(post, "User-Agent", "curl/8"), "X-Forwarded-For", "10.0.0.1")
    kit.check(changed)


def test_signed_header_missing_from_request(kit, post):
    with pytest.raises(SignatureDoesNotMatch, match="signed header 'x-amz-target' is not in the request"):
        kit.check(set_header(post, "X-Amz-Target", None))


def test_host_with_default_port_differs_from_what_was_signed(kit):
    request = kit.header("GET", "https://localhost:443/", params={"Action": "ListQueues"})
    assert request.header("host") == "localhost"
    kit.check(request)
    with pytest.raises(SignatureMismatch):
        kit.check(set_header(request, "host", "localhost:443"))


@pytest.mark.parametrize(
    ("signed", "message"),
    [
        pytest.param("SignedHeaders=x-amz-date;x-amz-target", "host header must be signed", id="host"),
        pytest.param("SignedHeaders=host;x-amz-target", "x-amz-date header must be signed", id="x-amz-date"),
    ],
)
def test_required_headers_not_signed(kit, post, signed, message):
    authorization = auth_header(post).replace("SignedHeaders=content-type;host;x-amz-date;x-amz-target", signed)
    assert authorization != auth_header(post)
    with pytest.raises(IncompleteSignature, match=message):
        kit.check(set_header(post, "Authorization", authorization))


def test_presigned_host_not_signed(kit, presigned):
    query = str(presigned.query_string).replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-foo")
    with pytest.raises(IncompleteSignature, match="host header must be signed"):
        kit.check(dataclasses.replace(presigned, query_string=query))


def test_tampered_presigned_signature_and_params(kit, presigned):
    query = str(presigned.query_string)
    signature = query.rsplit("X-Amz-Signature=", 1)[1]
    flipped = query.replace(signature, ("0" if signature[0] != "0" else "1") + signature[1:])
    for changed in (query.replace("GetCallerIdentity", "AssumeRole"), flipped):
        with pytest.raises(SignatureMismatch):
            kit.check(dataclasses.replace(presigned, query_string=changed))


# --- scope --------------------------------------------------------------------------------


def test_wrong_region(kit, post):
    with pytest.raises(SignatureDoesNotMatch, match="scoped to a valid region: this endpoint serves 'eu-west-1'"):
        kit.check(post, region="eu-west-1")


def test_signed_for_another_region(kit):
    request = kit.header("GET", URL, params={"Action": "ListQueues"}, region="us-west-2")
    with pytest.raises(SignatureDoesNotMatch, match="the request was signed for 'us-west-2'"):
        kit.check(request)


def test_wrong_service(kit, post):
    with pytest.raises(SignatureDoesNotMatch, match="scoped to the correct service: 'sqs', not 'kms'"):
        kit.check(post, service="sqs")


def test_scope_date_differs_from_request_date(kit, post):
    changed = set_header(post, "X-Amz-Date", "20260102T000100Z")
    with pytest.raises(SignatureDoesNotMatch, match="scope date 20260101 does not match the request date 20260102"):
        kit.check(changed, now=kit.NOW + timedelta(hours=12))


def test_wrong_terminator(kit, post):
    authorization = auth_header(post).replace("/aws4_request", "/aws5_request")
    with pytest.raises(SignatureDoesNotMatch, match="terminator 'aws4_request', not 'aws5_request'"):
        kit.check(set_header(post, "Authorization", authorization))


# --- time ---------------------------------------------------------------------------------

SKEW = timedelta(minutes=15)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize("offset", [-SKEW, SKEW, timedelta(0)], ids=["-15min", "+15min", "0"])
def test_skew_window_edges_pass(kit, post, offset):
    kit.check(post, now=kit.NOW + offset)


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        pytest.param(SKEW + SECOND, "Signature expired: request time 20260101T120000Z is more than 15 min before "
                     "the server time 20260101T121501Z", id="too-old"),
        pytest.param(-SKEW - SECOND, "Signature not yet current: request time 20260101T120000Z is more than 15 min "
                     "ahead of the server time 20260101T114459Z", id="too-new"),
    ],
)  # fmt: skip
def test_skew_exceeded(kit, post, offset, message):
    with pytest.raises(RequestExpired, match=message):
        kit.check(post, now=kit.NOW + offset)


def test_custom_max_skew(kit, post):
    with pytest.raises(RequestExpired, match="more than 5 min before"):
        kit.check(post, now=kit.NOW + timedelta(minutes=6), max_skew=timedelta(minutes=5))


def test_presigned_valid_until_expiry(kit, presigned):
    kit.check(presigned, now=kit.NOW + timedelta(seconds=300))


def test_presigned_expired(kit, presigned):
    with pytest.raises(RequestExpired, match="Presigned request expired: signed at 20260101T120000Z for 300"):
        kit.check(presigned, now=kit.NOW + timedelta(seconds=301))


def test_presigned_from_the_future(kit, presigned):
    with pytest.raises(RequestExpired, match="not yet current"):
        kit.check(presigned, now=kit.NOW - SKEW - SECOND)


@pytest.mark.parametrize(
    ("amz_date", "message"),
    [("99991231T235959Z", "not yet current"), ("00010101T000000Z", "Presigned request expired")],
    ids=["year-9999", "year-1"],
)
def test_presigned_extreme_dates_do_not_overflow(kit, amz_date, message):
    request = kit.presigned("GET", URL, expires=604800)
    query = str(request.query_string).replace("X-Amz-Date=20260101T120000Z", f"X-Amz-Date={amz_date}")
    query = query.replace("%2F20260101%2F", f"%2F{amz_date[:8]}%2F")
    with pytest.raises(RequestExpired, match=message):
        kit.check(dataclasses.replace(request, query_string=query))


def test_presigned_longer_than_skew_is_fine(kit):
    request = kit.presigned("GET", URL, expires=604800)
    kit.check(request, now=kit.NOW + timedelta(days=7))


# --- payload hash -------------------------------------------------------------------------


def signed_with_content_sha256(kit, value: str, body: bytes = b"Action=ListQueues"):
    return kit.header("POST", URL, headers={**FORM, "X-Amz-Content-SHA256": value}, data=body)


def test_correct_content_sha256(kit):
    body = b"Action=ListQueues"
    kit.check(signed_with_content_sha256(kit, hashlib.sha256(body).hexdigest(), body))


def test_bad_content_sha256(kit):
    request = signed_with_content_sha256(kit, hashlib.sha256(b"other").hexdigest())
    with pytest.raises(SignatureDoesNotMatch, match="x-amz-content-sha256 header is not the SHA-256"):
        kit.check(request)


def test_content_sha256_unsigned_but_wrong(kit, post):
    with pytest.raises(SignatureDoesNotMatch, match="x-amz-content-sha256"):
        kit.check(set_header(post, "x-amz-content-sha256", "0" * 64))


def test_content_sha256_unsigned_and_right_is_ignored(kit, post):
    kit.check(set_header(post, "x-amz-content-sha256", hashlib.sha256(post.body).hexdigest()))


def test_unsigned_payload_refused_by_default(kit):
    request = signed_with_content_sha256(kit, "UNSIGNED-PAYLOAD")
    with pytest.raises(IncompleteSignature, match="UNSIGNED-PAYLOAD is not accepted"):
        kit.check(request)


def test_unsigned_payload_when_allowed(kit):
    request = signed_with_content_sha256(kit, "UNSIGNED-PAYLOAD")
    kit.check(request, allow_unsigned_payload=True)
    kit.check(dataclasses.replace(request, body=b"Action=DeleteQueue"), allow_unsigned_payload=True)


def test_every_failure_is_an_aws_error(kit, post):
    for changed in (dataclasses.replace(post, body=b"x"), set_header(post, "Authorization", "AWS4 x")):
        with pytest.raises(AwsError):
            verify(changed, parse(changed), kit.SECRET_KEY, now=kit.NOW, region=kit.REGION)
