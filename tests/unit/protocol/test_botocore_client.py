"""A real botocore client talks to our protocol layer in-process (its HTTP send is
replaced by route -> parse -> handler -> serialize), so request signing names, response
parsing and modeled exception classes are exercised exactly as an application sees them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse, HeadersDict
from botocore.config import Config

from cipherpost.errors import AwsError
from cipherpost.protocol import (
    HttpRequest,
    HttpResponse,
    guess_protocol,
    parse,
    route,
    serialize_error,
    serialize_result,
)
from cipherpost.protocol.routing import Route

Handler = Callable[[str, dict[str, Any]], dict[str, Any]]
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request")


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _serve(request: Any, handler: Handler, seen: list[tuple[str, dict[str, Any]]]) -> HttpResponse:
    parts = urlsplit(request.url)
    headers = {k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    body = request.body or b""
    http = HttpRequest(request.method, parts.path or "/", parts.query, headers,
                       body.encode() if isinstance(body, str) else body)
    scope = _SCOPE.search(headers.get("authorization", ""))
    found: Route | None = None
    try:
        found = route(http, scope.group(1) if scope else None)
        params = parse(found, http)
        seen.append((found.name, params))
        return serialize_result(found, handler(found.name, params), "req-42")
    except AwsError as error:
        return serialize_error(error, "req-42", route=found, protocol=guess_protocol(http))


def _client(service: str, handler: Handler,
            validate: bool = True) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    client = botocore.session.get_session().create_client(
        service, region_name="us-east-1", endpoint_url="http://localhost:4566",
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, parameter_validation=validate))
    seen: list[tuple[str, dict[str, Any]]] = []

    def before_send(request: Any, **_: Any) -> AWSResponse:
        response = _serve(request, handler, seen)
        return AWSResponse(request.url, response.status, HeadersDict(dict(response.headers)),
                           _Body(response.body))

    client.meta.events.register("before-send", before_send)
    return client, seen


class QueueDoesNotExist(AwsError):
    """The specified queue does not exist."""

    code = "QueueDoesNotExist"


class DeleteConflictException(AwsError):
    """Cannot delete entity, must delete policies first."""

    code = "DeleteConflictException"
    status = 409


def test_sqs_json_client_round_trip_and_modeled_exception() -> None:
    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "GetQueueUrl":
            raise QueueDoesNotExist()
        return {"MessageId": "m-1", "MD5OfMessageBody": "5d41402abc4b2a76b9719d911017c592"}

    sqs, seen = _client("sqs", handler)

    sent = sqs.send_message(QueueUrl="http://localhost:4566/123456789012/q", MessageBody="hello",
                            MessageAttributes={"a": {"DataType": "Binary", "BinaryValue": b"\x00"}})
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="nope")

    assert sent["MessageId"] == "m-1"
    assert seen[0] == ("SendMessage", {"QueueUrl": "http://localhost:4566/123456789012/q", "MessageBody": "hello",
                                       "MessageAttributes": {"a": {"DataType": "Binary", "BinaryValue": b"\x00"}}})
    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert caught.value.response["ResponseMetadata"]["RequestId"] == "req-42"


def test_kms_client_blobs_and_encryption_context() -> None:
    kms, seen = _client("kms", lambda op, p: {"CiphertextBlob": p["Plaintext"][::-1], "KeyId": "arn:k"})

    result = kms.encrypt(KeyId="alias/a", Plaintext=b"\x01\x02\x03", EncryptionContext={"k": "v"})

    assert result["CiphertextBlob"] == b"\x03\x02\x01"
    assert seen == [("Encrypt", {"KeyId": "alias/a", "Plaintext": b"\x01\x02\x03", "EncryptionContext": {"k": "v"}})]


def test_kms_unknown_key_error_reaches_client_as_modeled_exception() -> None:
    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise type("NotFoundException", (AwsError,), {"code": "NotFoundException"})("no such key")

    kms, _ = _client("kms", handler)

    with pytest.raises(kms.exceptions.NotFoundException):
        kms.describe_key(KeyId="k")


def test_sns_and_sts_query_clients() -> None:
    sns, seen = _client("sns", lambda op, p: {"MessageId": "m"})
    sts, _ = _client("sts", lambda op, p: {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root",
                                           "UserId": "123456789012"})

    published = sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:t", Message="<hi & bye>",
                            MessageAttributes={"n": {"DataType": "Number", "StringValue": "1"}})
    identity = sts.get_caller_identity()

    assert published["MessageId"] == "m"
    assert seen[0][1]["Message"] == "<hi & bye>"
    assert identity["Account"] == "123456789012"


def test_iam_query_error_code_mapping_gives_modeled_exception() -> None:
    def handler(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise DeleteConflictException()

    iam, _ = _client("iam", handler)

    with pytest.raises(iam.exceptions.DeleteConflictException) as caught:
        iam.delete_user(UserName="alice")

    assert caught.value.response["Error"]["Code"] == "DeleteConflict"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_cloudtrail_client_timestamps() -> None:
    when = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    trail, seen = _client("cloudtrail", lambda op, p: {"Events": [{"EventId": "e", "EventTime": p["StartTime"]}]})

    result = trail.lookup_events(StartTime=when, EndTime=when)

    assert result["Events"][0]["EventTime"] == when
    assert seen[0][1] == {"StartTime": when, "EndTime": when}


def test_validation_error_reaches_client_with_service_code() -> None:
    # botocore validates client-side; switch that off to let the bad request through.
    sqs, _ = _client("sqs", lambda op, p: {}, validate=False)

    with pytest.raises(sqs.exceptions.ClientError) as caught:
        sqs.send_message(QueueUrl="http://localhost:4566/123456789012/q")

    assert caught.value.response["Error"]["Code"] == "MissingParameter"
    assert "'messageBody'" in caught.value.response["Error"]["Message"]
