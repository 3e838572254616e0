"""Requests signed by botocore (its signers and real boto3 clients) verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cipherpost.auth.sigv4 import SignedRequest, parse, scope_service, signing_key, verify

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
URL = "http://localhost:4566/"

# (id, method, url, service, headers, data, params)
HEADER_CASES = [
    ("sts-form-post", "POST", URL, "sts", FORM, {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, None),
    ("sqs-query-get", "GET", URL, "sqs", {}, None, {"Action": "ListQueues", "QueueNamePrefix": "a b+c"}),
    (
        "sqs-json-target",
        "POST",
        URL,
        "sqs",
        {"X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0"},
        b'{"QueueUrl":"http://localhost:4566/123456789012/q","MessageBody":"h\\u00e9"}',
        None,
    ),
    (
        "kms-json-target",
        "POST",
        URL,
        "kms",
        {"X-Amz-Target": "TrentService.Encrypt", "Content-Type": "application/x-amz-json-1.1"},
        b'{"KeyId":"alias/aws/sqs","Plaintext":"aGk="}',
        None,
    ),
    (
        "sns-publish-unicode",
        "POST",
        URL,
        "sns",
        FORM,
        {"Action": "Publish", "Message": "héllo wörld ✓ + & = / ~ %2F", "TopicArn": "arn:aws:sns:us-east-1:1:t"},
        None,
    ),
    ("queue-path", "POST", "http://localhost:4566/123456789012/my-queue", "sqs", FORM, {"Action": "X"}, None),
    ("path-space", "GET", "http://localhost:4566/123456789012/my%20queue", "sqs", {}, None, None),
    ("path-plus", "GET", "http://localhost:4566/a+b/c", "sqs", {}, None, None),
    ("path-encoded-slash", "GET", "http://localhost:4566/a%2Fb/", "sqs", {}, None, None),
    ("path-tilde-unicode", "GET", "http://localhost:4566/~user/%C3%A9t%C3%A9", "sqs", {}, None, None),
    ("path-dot-segments", "GET", "http://localhost:4566/a/./b/../c//d/", "sqs", {}, None, None),
    ("query-reserved", "GET", URL, "sqs", {}, None, {"k y": "v+a/l=u&e ~%2F", "é": "ü", "Z": "", "a": "1"}),
    ("query-in-url", "GET", "http://localhost:4566/?b=2&a=1&a=0&c", "sqs", {}, None, None),
    ("https-default-port", "GET", "https://localhost:443/", "sqs", {}, None, {"Action": "ListQueues"}),
    ("http-other-port", "GET", "http://127.0.0.1:9324/", "sqs", {}, None, {"Action": "ListQueues"}),
    ("ipv6-host", "GET", "http://[::1]:4566/", "sqs", {}, None, {"Action": "ListQueues"}),
    ("header-whitespace", "GET", URL, "sqs", {"X-Custom": "  a   b \t c  "}, None, None),
    ("repeated-header", "GET", URL, "sqs", [("X-Custom", "one"), ("x-custom", " two  2 ")], None, None),
]


@pytest.mark.parametrize(
    ("method", "url", "service", "headers", "data", "params"),
    [pytest.param(*case[1:], id=case[0]) for case in HEADER_CASES],
)
def test_header_auth_round_trip(kit, method, url, service, headers, data, params):
    request = kit.header(method, url, service=service, headers=headers, data=data, params=params)
    credential = kit.check(request, service=service)
    assert (credential.access_key_id, credential.service, credential.presigned) == (kit.ACCESS_KEY, service, False)


def test_session_token_header(kit):
    data = {"Action": "GetCallerIdentity"}
    request = kit.header("POST", URL, service="sts", headers=FORM, data=data, token=kit.TOKEN)
    credential = kit.check(request)
    assert credential.security_token == kit.TOKEN
    assert "x-amz-security-token" in credential.signed_headers


def test_date_header_instead_of_x_amz_date(kit):
    request = kit.header("GET", URL, headers={"Date": "placeholder"}, params={"Action": "ListQueues"})
    assert "x-amz-date" not in request.header_values
    credential = kit.check(request)
    assert (credential.date_source, credential.amz_date) == ("date", "20260101T120000Z")


def test_x_amz_date_wins_over_date(kit):
    request = kit.header("GET", URL, params={"Action": "ListQueues"})
    extra = SignedRequest(
        request.method, request.path, request.query_string, [*request.headers, ("Date", "garbage")], request.body
    )
    assert kit.check(extra).date_source == "x-amz-date"


def test_mapping_headers_accepted(kit):
    request = kit.header("POST", URL, headers=FORM, data={"Action": "ListQueues"})
    as_mapping = SignedRequest(request.method, request.path, request.query_string, dict(request.headers), request.body)
    kit.check(as_mapping)


def test_bytes_path_and_query(kit):
    request = kit.header("GET", "http://localhost:4566/a%20b", params={"x": "é y"})
    raw = SignedRequest(
        "GET", str(request.path).encode(), str(request.query_string).encode(), request.headers, request.body
    )
    kit.check(raw)


@pytest.mark.parametrize(
    ("params", "token", "expires"),
    [
        pytest.param({"Action": "GetCallerIdentity", "Version": "2011-06-15"}, None, 60, id="sts-gci"),
        pytest.param({"Action": "GetCallerIdentity"}, "tok/en+=", 3600, id="with-token"),
        pytest.param({"Action": "X", "v": "a b+c/~%2F é"}, None, 604800, id="reserved-max-expiry"),
        pytest.param({}, None, 1, id="no-params-min-expiry"),
    ],
)
def test_presigned_round_trip(kit, params, token, expires):
    request = kit.presigned("GET", "https://sts.localhost/", params=params, token=token, expires=expires)
    credential = kit.check(request)
    assert credential.presigned
    assert (credential.expires, credential.security_token, credential.date_source) == (expires, token, "X-Amz-Date")


def test_presigned_path_with_reserved_characters(kit):
    request = kit.presigned("GET", "http://localhost:4566/123456789012/my%20queue/a+b", service="sqs")
    kit.check(request, service="sqs")


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        pytest.param("sts", "get_caller_identity", {}, id="sts-GetCallerIdentity"),
        pytest.param("iam", "list_users", {"PathPrefix": "/a b/"}, id="iam-ListUsers"),
        pytest.param(
            "sqs",
            "send_message",
            {"QueueUrl": "http://localhost:4566/123456789012/q", "MessageBody": "héllo ✓ <&>"},
            id="sqs-json-SendMessage",
        ),
        pytest.param("sqs", "get_queue_url", {"QueueName": "my-queue.fifo"}, id="sqs-json-GetQueueUrl"),
        pytest.param("kms", "encrypt", {"KeyId": "alias/aws/sns", "Plaintext": b"\x00\xff"}, id="kms-Encrypt"),
        pytest.param(
            "sns",
            "publish",
            {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "a+b c=d&e"},
            id="sns-query-Publish",
        ),
    ],
)
def test_real_boto3_clients(kit, service, operation, params):
    request = kit.boto(service, operation, **params)
    assert kit.check(request, service=service).service == service
    assert scope_service(request) == service


def test_real_boto3_client_with_session_token(kit):
    request = kit.boto("kms", "list_keys", token=kit.TOKEN)
    assert kit.check(request).security_token == kit.TOKEN


def test_boto3_generate_presigned_url(kit):
    request = kit.presigned_url("sts", "get_caller_identity", expires=120)
    credential = kit.check(request)
    assert credential.presigned
    assert credential.expires == 120
    assert scope_service(request) == "sts"


def test_parse_fields(kit):
    request = kit.header("GET", URL, service="sqs", params={"Action": "ListQueues"}, token="t")
    credential = parse(request)
    assert credential.access_key_id == kit.ACCESS_KEY
    assert (credential.date, credential.region, credential.service, credential.terminator) == (
        "20260101",
        "us-east-1",
        "sqs",
        "aws4_request",
    )
    assert credential.scope == "20260101/us-east-1/sqs/aws4_request"
    assert credential.request_time == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert credential.signed_headers == ("host", "x-amz-date", "x-amz-security-token")
    assert (credential.expires, credential.security_token, credential.presigned) == (None, "t", False)


def test_access_key_id_may_contain_slash(kit):
    class SlashKit(type(kit)):
        ACCESS_KEY = "AK/ID"

    credential = SlashKit().check(SlashKit().header("GET", URL, params={"Action": "ListQueues"}))
    assert (credential.access_key_id, credential.date) == ("AK/ID", "20260101")


def test_scope_service_without_auth_is_none():
    assert scope_service(SignedRequest("GET", "/", "", [])) is None
    assert scope_service(SignedRequest("GET", "/", "", [("authorization", "garbage")])) is None
    assert scope_service(SignedRequest("GET", "/", "X-Amz-Credential=a%2Fb", [])) is None


def test_signing_key_is_cached(kit):
    signing_key.cache_clear()
    request = kit.header("GET", URL, params={"Action": "ListQueues"})
    for _ in range(3):
        kit.check(request)
    info = signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_verify_accepts_non_utc_now(kit):
    request = kit.header("GET", URL, params={"Action": "ListQueues"})
    eastern = kit.NOW.astimezone(timezone(timedelta(hours=-5)))
    verify(request, parse(request), kit.SECRET_KEY, now=eastern, region=kit.REGION)
