"""Property tests: whatever botocore signs verifies; any single change to what it signed fails;
parsing arbitrary input raises only the documented AWS errors."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, timedelta
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cipherpost.auth.sigv4 import SignatureMismatch, SignedRequest, parse, scope_service, verify
from cipherpost.errors import IncompleteSignature, MissingAuthenticationToken, RequestExpired, SignatureDoesNotMatch

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PARSE_ERRORS = (IncompleteSignature, MissingAuthenticationToken)
VERIFY_ERRORS = (IncompleteSignature, SignatureDoesNotMatch, RequestExpired)

#: Header values as a server decodes them: latin-1 text without control characters but tab.
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
                        | st.just("\t"), max_size=40)  # fmt: skip
header_names = st.from_regex(r"x-h-[a-z0-9-]{1,12}", fullmatch=True)
headers = st.dictionaries(header_names, header_values, max_size=6)
params = st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=24), max_size=6)
path_segments = st.lists(st.text(min_size=1, max_size=10), max_size=4)
bodies = st.binary(max_size=300)


def url_for(segments: list[str]) -> str:
    """A URL whose path segments are percent-encoded as an SDK would (``/`` inside a name too)."""
    return "http://localhost:4566/" + "/".join(quote(segment, safe="") for segment in segments)


def with_header(request: SignedRequest, name: str, value: str) -> SignedRequest:
    kept = [(k, v) for k, v in request.headers if k.lower() != name]
    return dataclasses.replace(request, headers=[*kept, (name, value)])


@PROPERTY
@given(headers=headers, params=params, segments=path_segments, body=bodies)
def test_botocore_signed_post_verifies(kit, headers, params, segments, body):
    request = kit.header("POST", url_for(segments), headers=headers, params=params, data=body)
    kit.check(request)


@PROPERTY
@given(params=params, segments=path_segments, token=st.none() | st.text(min_size=1, max_size=30))
def test_botocore_presigned_get_verifies(kit, params, segments, token):
    kit.check(kit.presigned("GET", url_for(segments), params=params, token=token))


@PROPERTY
@given(body=bodies.filter(bool), data=st.data())
def test_flipping_a_body_byte_fails(kit, body, data):
    request = kit.header("POST", "http://localhost:4566/", data=body)
    index = data.draw(st.integers(0, len(body) - 1))
    mask = data.draw(st.integers(1, 255))
    flipped = body[:index] + bytes([body[index] ^ mask]) + body[index + 1 :]
    with pytest.raises(SignatureMismatch):
        kit.check(dataclasses.replace(request, body=flipped))


@PROPERTY
@given(data=st.data())
def test_flipping_a_signature_digit_fails(kit, data):
    request = kit.header("GET", "http://localhost:4566/", params={"Action": "ListQueues"})
    authorization = request.header("authorization") or ""
    position = len(authorization) - data.draw(st.integers(1, 64))
    digit = data.draw(st.sampled_from("0123456789abcdef").filter(lambda d: d != authorization[position]))
    tampered = authorization[:position] + digit + authorization[position + 1 :]
    with pytest.raises(SignatureMismatch):
        kit.check(with_header(request, "authorization", tampered))


@PROPERTY
@given(headers=headers.filter(bool), data=st.data())
def test_changing_a_signed_header_fails(kit, headers, data):
    request = kit.header("POST", "http://localhost:4566/", headers=headers, data=b"{}")
    name = data.draw(st.sampled_from([*sorted(headers), "host"]))
    old = (request.header(name) or "").strip()
    position = data.draw(st.integers(0, len(old)))  # == len(old): append one character
    char = data.draw(st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f\x85\xa0"))
    new = old[:position] + char + old[position + 1 :]
    assume(" ".join(new.split()) != " ".join(old.split()))
    with pytest.raises(SignatureMismatch):
        kit.check(with_header(request, name, new))


@PROPERTY
@given(headers=headers, extra=header_values)
def test_unsigned_headers_do_not_matter(kit, headers, extra):
    request = kit.header("POST", "http://localhost:4566/", headers=headers, data=b"{}")
    kit.check(with_header(with_header(request, "user-agent", extra), "x-unsigned", extra))


@settings(max_examples=500, deadline=None)
@given(
    authorization=st.text(max_size=200)
    | st.builds(
        lambda parts: "AWS4-HMAC-SHA256 " + ", ".join(parts),
        st.lists(
            st.sampled_from(["Credential=", "SignedHeaders=", "Signature=", "X=", ""]).flatmap(
                lambda key: st.text(max_size=60).map(lambda value: key + value)
            ),
            max_size=4,
        ),
    ),
    date=st.none() | st.text(max_size=30) | st.just("20260101T120000Z"),
    http_date=st.none() | st.text(max_size=40) | st.just("Thu, 01 Jan 2026 12:00:00 GMT"),
)
def test_parse_arbitrary_authorization_raises_only_aws_errors(authorization, date, http_date):
    headers = [("host", "h"), ("authorization", authorization)]
    headers += [("x-amz-date", date)] if date is not None else []
    headers += [("date", http_date)] if http_date is not None else []
    request = SignedRequest("POST", "/", "", headers, b"")
    scope_service(request)  # never raises
    try:
        credential = parse(request)
    except PARSE_ERRORS:
        return
    with contextlib.suppress(*VERIFY_ERRORS):
        verify(request, credential, "secret", now=credential.request_time + timedelta(seconds=1), region="r")


@settings(max_examples=500, deadline=None)
@given(
    query=st.text(max_size=200)
    | st.lists(
        st.tuples(
            st.sampled_from(
                ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                 "X-Amz-Signature", "X-Amz-Security-Token", "Action"]
            ),
            st.text(max_size=40) | st.sampled_from(["AWS4-HMAC-SHA256", "20260101T120000Z", "host", "a" * 64]),
        ),
        max_size=8,
    ).map(lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)),
    path=st.text(max_size=40) | st.binary(max_size=40),
)  # fmt: skip
def test_parse_arbitrary_query_raises_only_aws_errors(query, path):
    request = SignedRequest("GET", path, query, [("host", "h")])
    scope_service(request)
    try:
        credential = parse(request)
    except PARSE_ERRORS:
        return
    with contextlib.suppress(*VERIFY_ERRORS):
        verify(request, credential, "secret", now=credential.request_time, region="r")


http_dates = st.builds(
    "{}, {} {} {} {:02}:{:02}:{:02} {}".format,
    st.sampled_from(["Mon", "Thu", "Xyz"]),
    st.integers(-5, 40),
    st.sampled_from(["Jan", "Feb", "Dec", "Foo"]),
    st.integers(-10, 10**25),
    st.integers(0, 99),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(["GMT", "UTC", "-0000", "+2359", "-2359", "+9999", "EST", ""]),
)
amz_dates = st.builds(
    "{:04}{:02}{:02}T{:02}{:02}{:02}Z".format, *[st.integers(0, 9999)] + [st.integers(0, 99)] * 5
)


@settings(max_examples=1000, deadline=None)
@given(date=http_dates | amz_dates, expires=st.integers(1, 604800), now=st.datetimes(timezones=st.just(UTC)))
def test_extreme_times_raise_only_aws_errors(date, expires, now):
    """Any time a client can write, with any server clock, ends in a verdict, never a crash."""
    name = "date" if "," in date else "x-amz-date"
    scope = f"AKID/{date[:8] if name == 'x-amz-date' else '20260101'}/r/s/aws4_request"
    authorization = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;{name}, Signature={'0' * 64}"
    header_request = SignedRequest("GET", "/", "", [("host", "h"), (name, date), ("authorization", authorization)])
    query = (
        f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={quote(scope, safe='')}&X-Amz-Date={date}"
        f"&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={'0' * 64}"
    )
    for request in (header_request, SignedRequest("GET", "/", query, [("host", "h")])):
        try:
            verify(request, parse(request), "secret", now=now, region="r")
        except (*PARSE_ERRORS, *VERIFY_ERRORS):
            pass
