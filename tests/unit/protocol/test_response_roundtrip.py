"""We serialize a result; botocore must parse back exactly the same dict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cipherpost.protocol import registry, serialize_result
from cipherpost.protocol.routing import Route

from .wire import botocore_parse

WHEN = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
TEXT = "<b>&amp; \"quoted\" 'single' — ünïcødé ✓ 𝄞\r\nline\ttab"
QUEUE_URL = "https://cipherpost.example/123456789012/orders"

MESSAGE = {
    "MessageId": "0b6c6d4a-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "ReceiptHandle": "rh+/=", "MD5OfBody": "abc",
    "Body": TEXT,
    "Attributes": {"SentTimestamp": "1714566615123", "ApproximateReceiveCount": "1"},
    "MD5OfMessageAttributes": "def",
    "MessageAttributes": {
        "s": {"DataType": "String", "StringValue": TEXT},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    },
}

SQS_CASES: list[tuple[str, dict[str, Any]]] = [
    ("SendMessage", {"MessageId": "m1", "MD5OfMessageBody": "x", "SequenceNumber": "1"}),
    ("ReceiveMessage", {"Messages": [MESSAGE, {"MessageId": "m2", "Body": ""}]}),
    ("GetQueueAttributes", {"Attributes": {"VisibilityTimeout": "30", "Policy": '{"a": "<&>"}'}}),
    ("ListQueues", {"QueueUrls": [QUEUE_URL, QUEUE_URL + "2"], "NextToken": "n"}),
    ("ListQueueTags", {"Tags": {"team": "billing", "env": "prod"}}),
    ("CreateQueue", {"QueueUrl": QUEUE_URL}),
    ("GetQueueUrl", {"QueueUrl": QUEUE_URL}),
    ("SendMessageBatch", {
        "Successful": [{"Id": "a", "MessageId": "m", "MD5OfMessageBody": "x"}],
        "Failed": [{"Id": "b", "SenderFault": True, "Code": "InvalidParameterValue", "Message": TEXT}]}),
    ("DeleteMessageBatch", {"Successful": [{"Id": "a"}, {"Id": "b"}],
                            "Failed": [{"Id": "c", "SenderFault": False, "Code": "InternalError"}]}),
    ("ListDeadLetterSourceQueues", {"queueUrls": [QUEUE_URL]}),
]

CASES: list[tuple[str, str | None, str, dict[str, Any]]] = [
    ("sts", None, "GetCallerIdentity", {"UserId": "AIDA", "Account": "123456789012",
                                        "Arn": "arn:aws:iam::123456789012:user/alice"}),
    ("sts", None, "AssumeRole", {
        "Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s/+=", "SessionToken": "t",
                        "Expiration": WHEN},
        "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::123456789012:assumed-role/r/s"},
        "PackedPolicySize": 6}),
    ("iam", None, "CreateUser", {"User": {
        "Path": "/", "UserName": "alice", "UserId": "AIDA", "Arn": "arn:aws:iam::123456789012:user/alice",
        "CreateDate": WHEN, "Tags": [{"Key": "k", "Value": TEXT}]}}),
    ("iam", None, "ListUsers", {"Users": [
        {"Path": "/", "UserName": "a", "UserId": "1", "Arn": "arn:a", "CreateDate": WHEN},
        {"Path": "/", "UserName": "b", "UserId": "2", "Arn": "arn:b", "CreateDate": WHEN, "Tags": []}],
        "IsTruncated": True, "Marker": "m"}),
    ("iam", None, "ListUserPolicies", {"PolicyNames": [], "IsTruncated": False}),
    ("sns", None, "Publish", {"MessageId": "m", "SequenceNumber": "10000000000000000001"}),
    ("sns", None, "GetTopicAttributes", {"Attributes": {"TopicArn": "arn:t", "Policy": '{"x": "<&>"}'}}),
    ("sns", None, "ListSubscriptionsByTopic", {"Subscriptions": [
        {"SubscriptionArn": "arn:s", "Owner": "1", "Protocol": "sqs", "Endpoint": "arn:q", "TopicArn": "arn:t"}],
        "NextToken": "n"}),
    ("sns", None, "Subscribe", {"SubscriptionArn": "pending confirmation"}),
    ("kms", None, "Encrypt", {"CiphertextBlob": bytes(range(256)), "KeyId": "arn:aws:kms:k",
                              "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    ("kms", None, "GenerateDataKey", {"CiphertextBlob": b"\x01", "Plaintext": b"\x00" * 32, "KeyId": "k"}),
    ("kms", None, "CreateKey", {"KeyMetadata": {
        "KeyId": "k", "Arn": "arn:k", "CreationDate": WHEN, "Enabled": True, "Description": TEXT,
        "KeyUsage": "ENCRYPT_DECRYPT", "KeyState": "Enabled", "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"],
        "MultiRegion": False}}),
    ("kms", None, "ListKeys", {"Keys": [{"KeyId": "a", "KeyArn": "arn:a"}], "Truncated": False}),
    ("kms", None, "ListKeys", {"Keys": [], "Truncated": False}),
    ("cloudtrail", None, "LookupEvents", {"Events": [{
        "EventId": "e", "EventName": "Encrypt", "ReadOnly": "true", "EventTime": WHEN,
        "EventSource": "kms.amazonaws.com", "Username": "alice",
        "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": "k"}],
        "CloudTrailEvent": '{"eventVersion": "1.08", "x": "<&>"}'}], "NextToken": "n"}),
    *[("sqs", "json", op, result) for op, result in SQS_CASES],
    *[("sqs", "query", op, result) for op, result in SQS_CASES],
]


def _route(service: str, protocol: str | None, operation: str) -> Route:
    protocol = protocol or registry.SERVICES[service].protocols[0]
    return Route(service, protocol, registry.service_model(service, protocol).operation_model(operation))


def _id(case: tuple[str, str | None, str, dict[str, Any]]) -> str:
    return f"{case[0]}-{case[1] or 'native'}-{case[2]}-{len(case[3])}"


def _without_metadata(parsed: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in parsed.items() if key != "ResponseMetadata"}


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_botocore_parses_our_result_back(case: tuple[str, str | None, str, dict[str, Any]]) -> None:
    service, protocol, operation, result = case
    route = _route(service, protocol, operation)

    response = serialize_result(route, result, "req-123")
    parsed = botocore_parse(service, operation, response, route.protocol)

    assert response.status == 200
    assert ("x-amzn-RequestId", "req-123") in response.headers
    assert _without_metadata(parsed) == result
    assert parsed["ResponseMetadata"]["RequestId"] == "req-123"


@pytest.mark.parametrize(("service", "protocol", "content_type"), [
    ("sns", "query", "text/xml"), ("sqs", "query", "text/xml"),
    ("sqs", "json", "application/x-amz-json-1.0"), ("kms", "json", "application/x-amz-json-1.1"),
    ("cloudtrail", "json", "application/x-amz-json-1.1"),
])
def test_content_type_follows_protocol_and_model(service: str, protocol: str, content_type: str) -> None:
    operation = {"sns": "ListTopics", "sqs": "ListQueues", "kms": "ListKeys",
                 "cloudtrail": "LookupEvents"}[service]

    response = serialize_result(_route(service, protocol, operation), {}, "r")

    assert ("Content-Type", content_type) in response.headers


def test_query_response_uses_model_namespace_and_result_wrapper() -> None:
    response = serialize_result(_route("sqs", "query", "ListQueues"), {"QueueUrls": [QUEUE_URL]}, "r")

    assert response.body.startswith(
        b'<ListQueuesResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
        b"<ListQueuesResult><QueueUrl>https://cipherpost.example/123456789012/orders</QueueUrl>")


def test_sqs_query_message_attributes_use_aws_element_names() -> None:
    response = serialize_result(_route("sqs", "query", "ReceiveMessage"), {"Messages": [MESSAGE]}, "r")

    body = response.body.decode()
    assert "<Message><MessageId>" in body
    assert "<Attribute><Name>SentTimestamp</Name><Value>1714566615123</Value></Attribute>" in body
    assert ("<MessageAttribute><Name>b</Name><Value><BinaryValue>AP8=</BinaryValue>"
            "<DataType>Binary</DataType></Value></MessageAttribute>") in body


def test_timestamps_are_iso8601_in_query_and_epoch_seconds_in_json() -> None:
    query = serialize_result(_route("iam", None, "CreateUser"), {"User": {
        "Path": "/", "UserName": "a", "UserId": "1", "Arn": "arn:a", "CreateDate": WHEN}}, "r")
    json_ = serialize_result(_route("kms", None, "CreateKey"), {"KeyMetadata": {
        "KeyId": "k", "CreationDate": WHEN}}, "r")

    assert b"<CreateDate>2024-05-01T12:30:15.123Z</CreateDate>" in query.body
    assert b'"CreationDate":1714566615.123' in json_.body


def test_empty_flattened_list_is_omitted_and_none_members_are_skipped() -> None:
    response = serialize_result(_route("sqs", "query", "ListQueues"), {"QueueUrls": [], "NextToken": None},
                                "r")

    assert _without_metadata(botocore_parse("sqs", "ListQueues", response, "query")) == {}


def test_unknown_result_keys_are_not_written() -> None:
    response = serialize_result(_route("kms", None, "ListKeys"), {"Truncated": True, "Bogus": 1}, "r")

    assert response.body == b'{"Truncated":true}'


def test_operation_without_output_has_only_response_metadata() -> None:
    response = serialize_result(_route("sqs", "query", "DeleteQueue"), {}, "req-9")

    assert response.body == (b'<DeleteQueueResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">'
                             b"<ResponseMetadata><RequestId>req-9</RequestId></ResponseMetadata>"
                             b"</DeleteQueueResponse>")
