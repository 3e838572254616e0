"""botocore serializes a request; our route + parse must give back the same operation
and parameters (STYLE.md point 9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cipherpost.protocol import parse, route

from .wire import botocore_request

QUEUE_URL = "https://cipherpost.example:4566/123456789012/orders"
XML_SPECIAL = "<b>&amp; \"quoted\" 'single' — ünïcødé ✓ 𝄞 tab\there"

MESSAGE_ATTRIBUTES = {
    "name": {"DataType": "String", "StringValue": XML_SPECIAL},
    "count": {"DataType": "Number", "StringValue": "42"},
    "raw": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10binary"},
}

SQS_CASES: list[tuple[str, dict[str, Any]]] = [
    ("SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": XML_SPECIAL, "DelaySeconds": 5,
                     "MessageAttributes": MESSAGE_ATTRIBUTES,
                     "MessageSystemAttributes": {"AWSTraceHeader": {"DataType": "String",
                                                                    "StringValue": "Root=1-abc"}},
                     "MessageDeduplicationId": "d1", "MessageGroupId": "g1"}),
    ("SendMessageBatch", {"QueueUrl": QUEUE_URL, "Entries": [
        {"Id": "a", "MessageBody": "one", "MessageAttributes": MESSAGE_ATTRIBUTES},
        {"Id": "b", "MessageBody": "two", "DelaySeconds": 0}]}),
    ("ReceiveMessage", {"QueueUrl": QUEUE_URL, "AttributeNames": ["All"],
                        "MessageSystemAttributeNames": ["SentTimestamp", "ApproximateReceiveCount"],
                        "MessageAttributeNames": ["All", "name"], "MaxNumberOfMessages": 10,
                        "VisibilityTimeout": 30, "WaitTimeSeconds": 20, "ReceiveRequestAttemptId": "r"}),
    ("CreateQueue", {"QueueName": "orders.fifo",
                     "Attributes": {"FifoQueue": "true", "KmsMasterKeyId": "alias/aws/sqs",
                                    "Policy": '{"Version":"2012-10-17","Statement":[]}'},
                     "tags": {"team": "billing", "env": "prod <&>"}}),
    ("GetQueueAttributes", {"QueueUrl": QUEUE_URL, "AttributeNames": ["All", "Policy"]}),
    ("SetQueueAttributes", {"QueueUrl": QUEUE_URL, "Attributes": {"VisibilityTimeout": "60"}}),
    ("DeleteMessageBatch", {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "ReceiptHandle": "rh+/="}]}),
    ("ChangeMessageVisibilityBatch", {"QueueUrl": QUEUE_URL, "Entries": [
        {"Id": "1", "ReceiptHandle": "rh", "VisibilityTimeout": 0}]}),
    ("AddPermission", {"QueueUrl": QUEUE_URL, "Label": "l", "AWSAccountIds": ["111122223333", "444455556666"],
                       "Actions": ["SendMessage", "ReceiveMessage"]}),
    ("TagQueue", {"QueueUrl": QUEUE_URL, "Tags": {"k": "v"}}),
    ("UntagQueue", {"QueueUrl": QUEUE_URL, "TagKeys": ["k", "other"]}),
    ("ListQueues", {"QueueNamePrefix": "ord", "MaxResults": 10}),
    ("ListQueues", {}),
    ("PurgeQueue", {"QueueUrl": QUEUE_URL}),
]

CASES: list[tuple[str, str | None, str, dict[str, Any]]] = [
    ("sts", None, "GetCallerIdentity", {}),
    ("sts", None, "AssumeRole", {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "session",
                                 "DurationSeconds": 900, "Tags": [{"Key": "k", "Value": "v"}],
                                 "TransitiveTagKeys": ["k"], "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/x"}],
                                 "Policy": '{"Version": "2012-10-17"}'}),
    ("iam", None, "CreateUser", {"UserName": "alice", "Path": "/eng/", "Tags": [{"Key": "a", "Value": "b"}]}),
    ("iam", None, "PutUserPolicy", {"UserName": "alice", "PolicyName": "p",
                                    "PolicyDocument": '{"Statement":[{"Effect":"Allow","Action":"sqs:*"}]}'}),
    ("iam", None, "ListUsers", {"PathPrefix": "/", "MaxItems": 5, "Marker": "m"}),
    ("sns", None, "Publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": XML_SPECIAL,
                              "Subject": "s", "MessageAttributes": {
                                  "a": {"DataType": "String", "StringValue": "x"},
                                  "b": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}}}),
    ("sns", None, "SetTopicAttributes", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
                                         "AttributeName": "KmsMasterKeyId", "AttributeValue": "alias/aws/sns"}),
    ("sns", None, "Subscribe", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Protocol": "sqs",
                                "Endpoint": "arn:aws:sqs:us-east-1:123456789012:q", "ReturnSubscriptionArn": True,
                                "Attributes": {"RawMessageDelivery": "true", "FilterPolicy": '{"a": ["b"]}'}}),
    # botocore writes an empty list as `Tags=` but nothing at all for an empty map.
    ("sns", None, "CreateTopic", {"Name": "t", "Tags": []}),
    ("kms", None, "Encrypt", {"KeyId": "alias/k", "Plaintext": b"\x00secret\xff",
                              "EncryptionContext": {"tenant": "a", "ünï": "cødé"},
                              "GrantTokens": ["g1"], "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
    ("kms", None, "Decrypt", {"CiphertextBlob": bytes(range(256)), "EncryptionContext": {"a": "b"}}),
    ("kms", None, "CreateKey", {"Description": "d", "KeyUsage": "ENCRYPT_DECRYPT", "KeySpec": "SYMMETRIC_DEFAULT",
                                "Tags": [{"TagKey": "k", "TagValue": "v"}], "MultiRegion": False,
                                "BypassPolicyLockoutSafetyCheck": True}),
    ("kms", None, "ListKeys", {"Limit": 10, "Marker": "m"}),
    ("kms", None, "ListKeys", {}),
    ("cloudtrail", None, "LookupEvents", {
        "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}],
        "StartTime": datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC),
        "EndTime": datetime(2024, 5, 2, 0, 0, 30, tzinfo=UTC), "MaxResults": 50}),
    *[("sqs", "json", op, params) for op, params in SQS_CASES],
    *[("sqs", "query", op, params) for op, params in SQS_CASES],
]


def _id(case: tuple[str, str | None, str, dict[str, Any]]) -> str:
    service, protocol, operation, params = case
    return f"{service}-{protocol or 'native'}-{operation}-{len(params)}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_botocore_request_parses_to_same_params(case: tuple[str, str | None, str, dict[str, Any]]) -> None:
    service, protocol, operation, params = case
    request = botocore_request(service, operation, params, protocol)

    found = route(request, service)

    assert (found.service, found.name) == (service, operation)
    assert found.protocol == (protocol or found.protocol)
    assert parse(found, request) == params


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in {"sts", "iam", "sns"} or c[1] == "query"],
                         ids=_id)
def test_unsigned_query_request_routes_by_version(case: tuple[str, str | None, str, dict[str, Any]]) -> None:
    service, protocol, operation, params = case
    request = botocore_request(service, operation, params, protocol)

    found = route(request, None)

    assert (found.service, found.protocol, found.name) == (service, "query", operation)
    assert parse(found, request) == params


def test_timestamps_parse_as_utc_datetimes() -> None:
    request = botocore_request("cloudtrail", "LookupEvents",
                               {"StartTime": datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)})

    params = parse(route(request, "cloudtrail"), request)

    assert params["StartTime"] == datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)
    assert params["StartTime"].tzinfo is UTC
