"""SigV4 authentication failures, with the exact AWS code for each protocol."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any
from unittest import mock

import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from e2e_support import REGION, ServerProcess, http_get

STS_FORM = b"Action=GetCallerIdentity&Version=2011-06-15"
KMS_TARGET = {"X-Amz-Target": "TrentService.ListKeys", "Content-Type": "application/x-amz-json-1.1"}
SQS_TARGET = {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"}


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def signed(server: ServerProcess, service: str, body: bytes, headers: dict[str, str], *,
           secret: str | None = None, access_key_id: str | None = None, region: str = REGION,
           when: dt.datetime | None = None) -> tuple[int, dict[str, str], bytes]:
    """Sign a raw request with botocore's signer (optionally at another time) and send it."""
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers=dict(headers))
    creds = Credentials(access_key_id or server.access_key_id, secret or server.secret_access_key)
    clock = (when or dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=clock):
        SigV4Auth(creds, service, region).add_auth(request)
    return http_get(server.url + "/", headers=dict(request.headers.items()), data=body, method="POST")


def query_code(body: bytes) -> str:
    text = body.decode()
    return text.split("<Code>", 1)[1].split("</Code>", 1)[0]


def json_code(body: bytes) -> str:
    return str(json.loads(body)["__type"]).rsplit("#", 1)[-1]


FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.mark.parametrize(
    ("service", "body", "headers", "expected_status", "decode", "expected"),
    [
        ("sts", STS_FORM, FORM, 403, query_code, "MissingAuthenticationToken"),
        ("kms", b"{}", KMS_TARGET, 400, json_code, "MissingAuthenticationTokenException"),
        ("sqs", b"{}", SQS_TARGET, 400, json_code, "MissingAuthenticationTokenException"),
    ],
    ids=["query-sts", "json-kms", "json-sqs"],
)
def test_unsigned_request(server: ServerProcess, service: str, body: bytes, headers: dict[str, str],
                          expected_status: int, decode: Any, expected: str) -> None:
    status, response_headers, payload = http_get(server.url + "/", headers=headers, data=body, method="POST")
    assert status == expected_status
    assert decode(payload) == expected
    assert response_headers.get("x-amzn-requestid")


def test_unsigned_boto3_client(server: ServerProcess) -> None:
    client = server.client("sts", signature_version=UNSIGNED)
    with pytest.raises(ClientError) as exc:
        client.get_caller_identity()
    assert error_code(exc) == "MissingAuthenticationToken"


@pytest.mark.parametrize(
    ("service", "body", "headers", "decode", "expected"),
    [("sts", STS_FORM, FORM, query_code, "SignatureDoesNotMatch"),
     ("kms", b"{}", KMS_TARGET, json_code, "InvalidSignatureException")],
    ids=["query", "json"],
)
def test_wrong_secret(server: ServerProcess, service: str, body: bytes, headers: dict[str, str],
                      decode: Any, expected: str) -> None:
    status, _, payload = signed(server, service, body, headers, secret="not-the-secret")
    assert decode(payload) == expected
    assert status == (403 if decode is query_code else 400)


@pytest.mark.parametrize(
    ("service", "body", "headers", "decode", "expected"),
    [("sts", STS_FORM, FORM, query_code, "InvalidClientTokenId"),
     ("kms", b"{}", KMS_TARGET, json_code, "UnrecognizedClientException")],
    ids=["query", "json"],
)
def test_unknown_access_key(server: ServerProcess, service: str, body: bytes, headers: dict[str, str],
                            decode: Any, expected: str) -> None:
    _, _, payload = signed(server, service, body, headers, access_key_id="AKIAUNKNOWNKEY000000")
    assert decode(payload) == expected


def test_boto3_with_unknown_key(server: ServerProcess) -> None:
    with pytest.raises(ClientError) as exc:
        server.client("sts", access_key_id="AKIAUNKNOWNKEY000000").get_caller_identity()
    assert error_code(exc) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as exc:
        server.client("sts", secret="wrong").get_caller_identity()
    assert error_code(exc) == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("service", "body", "headers", "decode", "expected"),
    [("sts", STS_FORM, FORM, query_code, "RequestExpired"),
     ("kms", b"{}", KMS_TARGET, json_code, "InvalidSignatureException")],
    ids=["query", "json"],
)
def test_clock_skew(server: ServerProcess, service: str, body: bytes, headers: dict[str, str],
                    decode: Any, expected: str) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20)
    _, _, payload = signed(server, service, body, headers, when=long_ago)
    assert decode(payload) == expected
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=20)
    _, _, payload = signed(server, service, body, headers, when=future)
    assert decode(payload) == expected


def test_wrong_region_in_scope(server: ServerProcess) -> None:
    _, _, payload = signed(server, "sts", STS_FORM, FORM, region="eu-west-1")
    assert query_code(payload) == "SignatureDoesNotMatch"
    assert b"us-east-1" in payload


def test_malformed_authorization_header(server: ServerProcess) -> None:
    headers = {**FORM, "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20260101/us-east-1/sts/aws4_request",
               "X-Amz-Date": "20260101T000000Z"}
    status, _, payload = http_get(server.url + "/", headers=headers, data=STS_FORM, method="POST")
    assert status == 403
    assert query_code(payload) == "IncompleteSignature"
    headers = {**KMS_TARGET, "Authorization": "AWS4-HMAC-SHA256 Garbage", "X-Amz-Date": "20260101T000000Z"}
    status, _, payload = http_get(server.url + "/", headers=headers, data=b"{}", method="POST")
    assert status == 400
    assert json_code(payload) == "IncompleteSignatureException"


def test_tampered_body_fails(server: ServerProcess) -> None:
    request = AWSRequest(method="POST", url=server.url + "/", data=STS_FORM, headers=dict(FORM))
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "sts", REGION).add_auth(request)
    status, _, payload = http_get(server.url + "/", headers=dict(request.headers.items()),
                                  data=STS_FORM + b"&X=1", method="POST")
    assert status == 403
    assert query_code(payload) == "SignatureDoesNotMatch"


def test_presigned_url_expires(server: ServerProcess) -> None:
    url = server.client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=1)
    time.sleep(2.1)
    status, _, payload = http_get(url)
    assert status == 400
    assert query_code(payload) == "RequestExpired"
