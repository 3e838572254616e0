"""Known-answer cases in the shape of the AWS SigV4 test suite.

Requests, credentials, region, service and time are the suite's documented ones
(AKIDEXAMPLE, us-east-1, service ``service``, 20150830T123600Z, example.amazonaws.com);
the expected canonical request, string to sign and signature come from botocore's signer,
recorded while it signs, never pasted in. Each case must produce the same text here.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import ClassVar
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cipherpost.auth import sigv4_canonical as canon
from cipherpost.auth.sigv4 import parse, verify

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WHEN = datetime(2015, 8, 30, 12, 36, 0)
HOST = [("Host", "example.amazonaws.com")]
FORM_BODY = b"Param1=value1"
SUITE_TOKEN = "AQoDYXdzEXAMPLE//////////session+token/with=reserved+characters=="

# (id, method, raw path + query, headers, body)
VECTORS = [
    ("get-vanilla", "GET", "/", [], b""),
    ("get-vanilla-empty-query-key", "GET", "/?Param1=value1", [], b""),
    ("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", [], b""),
    ("get-vanilla-query-order-key", "GET", "/?Param1=value2&Param1=Value1", [], b""),
    ("get-vanilla-query-order-value", "GET", "/?Param1=value2&Param1=value1", [], b""),
    ("get-vanilla-query-unreserved", "GET", "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
     "=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], b""),
    ("get-vanilla-utf8-query", "GET", "/?%E1%88%B4=bar", [], b""),
    ("get-utf8", "GET", "/%E1%88%B4", [], b""),
    ("get-space", "GET", "/example%20space/", [], b""),
    ("get-relative", "GET", "/example/..", [], b""),
    ("get-relative-relative", "GET", "/example1/example2/../..", [], b""),
    ("get-slash", "GET", "//", [], b""),
    ("get-slash-dot-slash", "GET", "/./", [], b""),
    ("get-slash-pointless-dot", "GET", "/./example", [], b""),
    ("get-slashes", "GET", "//example//", [], b""),
    ("get-header-key-duplicate", "GET", "/", [("My-Header1", "value2"), ("My-Header1", "value2"),
                                              ("My-Header1", "value1")], b""),
    ("get-header-value-multiline", "GET", "/", [("My-Header1", "value1\n  value2\n     value3")], b""),
    ("get-header-value-order", "GET", "/", [("My-Header1", "value4"), ("My-Header1", "value1"),
                                            ("My-Header1", "value3"), ("My-Header1", "value2")], b""),
    ("get-header-value-trim", "GET", "/", [("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')], b""),
    ("post-vanilla", "POST", "/", [], b""),
    ("post-vanilla-query", "POST", "/?Param1=value1", [], b""),
    ("post-header-key-case", "POST", "/", [], b""),
    ("post-header-key-sort", "POST", "/", [("My-Header1", "value1")], b""),
    ("post-header-value-case", "POST", "/", [("My-Header1", "VALUE1")], b""),
    ("post-x-www-form-urlencoded", "POST", "/", [("Content-Type", "application/x-www-form-urlencoded")],
     FORM_BODY),
    ("post-x-www-form-urlencoded-parameters", "POST", "/",
     [("Content-Type", "application/x-www-form-urlencoded; charset=utf8")], FORM_BODY),
    ("post-sts-header-before", "POST", "/", [("X-Amz-Security-Token", SUITE_TOKEN)],
     b""),
]  # fmt: skip


class Recorder(SigV4Auth):
    """botocore's SigV4 signer, keeping the canonical request and string to sign it built."""

    seen: ClassVar[dict[str, str]] = {}

    def canonical_request(self, request: AWSRequest) -> str:
        self.seen["canonical_request"] = text = super().canonical_request(request)
        return text

    def string_to_sign(self, request: AWSRequest, canonical_request: str) -> str:
        self.seen["string_to_sign"] = text = super().string_to_sign(request, canonical_request)
        return text


def sign(method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> tuple[AWSRequest, dict[str, str]]:
    """Sign the vector with botocore at the suite's time; returns the request and what botocore built."""
    request = AWSRequest(method, "https://example.amazonaws.com" + target, data=body)
    for name, value in HOST + headers:
        request.headers[name] = value
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN):
        Recorder.seen = {}
        Recorder(Credentials(ACCESS_KEY, SECRET_KEY), "service", "us-east-1").add_auth(request)
    return request, dict(Recorder.seen)


@pytest.mark.parametrize(
    ("method", "target", "headers", "body"), [pytest.param(*case[1:], id=case[0]) for case in VECTORS]
)
def test_known_answer(method, target, headers, body):
    signed, expected = sign(method, target, headers, body)
    path, _, query = target.partition("?")
    request = canon.SignedRequest(method, path, query, list(signed.headers.raw_items()), body)
    credential = parse(request)
    payload_hash = canon.EMPTY_SHA256 if not body else hashlib.sha256(body).hexdigest()

    canonical = canon.canonical_request(request, credential.signed_headers, payload_hash, presigned=False)
    assert canonical == expected["canonical_request"]
    to_sign = canon.string_to_sign(credential.amz_date, credential.scope, canonical)
    assert to_sign == expected["string_to_sign"]
    key = canon.signing_key(SECRET_KEY, "20150830", "us-east-1", "service")
    assert canon.signature(key, to_sign) == credential.signature
    verify(request, credential, SECRET_KEY, now=WHEN.replace(tzinfo=UTC), region="us-east-1")


def test_sts_token_added_after_signing_is_not_covered():
    """post-sts-header-after: the token header is sent but not signed; the signature still holds."""
    signed, _ = sign("POST", "/", [], b"")
    headers = [*signed.headers.raw_items(), ("X-Amz-Security-Token", "AQoDYXdzEPT//////////wEXAMPLE")]
    request = canon.SignedRequest("POST", "/", "", headers, b"")
    credential = parse(request)
    assert "x-amz-security-token" not in credential.signed_headers
    verify(request, credential, SECRET_KEY, now=WHEN.replace(tzinfo=UTC), region="us-east-1")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"", "/", id="empty"),
        pytest.param(b"/", "/", id="root"),
        pytest.param(b"/a/b/../../..", "/", id="above-root"),
        pytest.param(b"/a/./b/", "/a/b/", id="dot-keeps-trailing-slash"),
        pytest.param(b"/a%2Fb", "/a%252Fb", id="encoded-slash-double-encoded"),
        pytest.param(b"/a+b~c", "/a%2Bb~c", id="plus-and-tilde"),
        pytest.param(b"/.well-known/x", "/.well-known/x", id="dot-prefixed-segment"),
        pytest.param(b"/%2E%2E/x", "/%252E%252E/x", id="encoded-dots-are-not-dot-segments"),
    ],
)
def test_canonical_uri_matches_botocore(raw, expected):
    botocore_form = SigV4Auth(Credentials("a", "b"), "s", "r")._normalize_url_path(raw.decode())
    assert canon.canonical_uri(raw) == botocore_form == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(b"", "", id="empty"),
        pytest.param(b"b=2&a=1&a=0", "a=0&a=1&b=2", id="sorted-by-key-then-value"),
        pytest.param(b"a&b=", "a=&b=", id="no-value"),
        pytest.param(b"k=a+b%2Bc", "k=a%20b%2Bc", id="plus-is-space"),
        pytest.param(b"k=%7e%2d%41", "k=~-A", id="unreserved-decoded"),
        pytest.param(b"k=%e1%88%b4", "k=%E1%88%B4", id="hex-upper-cased"),
        pytest.param(b"a=1&&b=2", "a=1&b=2", id="empty-segment-skipped"),
        pytest.param(b"B=1&a=1&_=1", "B=1&_=1&a=1", id="byte-order-sort"),
    ],
)
def test_canonical_query(query, expected):
    assert canon.canonical_query(canon.split_query(query)) == expected
