"""Every way a request can be wrong gets the service's own error code, naming the member."""

from __future__ import annotations

import pytest

from cipherpost.errors import AwsError
from cipherpost.protocol import HttpRequest, parse, route

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


def _json(target: str, version: str = "1.1") -> dict[str, str]:
    return {"x-amz-target": target, "content-type": f"application/x-amz-json-{version}"}


def _fail(signed: str | None, headers: dict[str, str], body: bytes, method: str = "POST",
          query: str = "") -> AwsError:
    request = HttpRequest(method, "/", query, headers, body)
    with pytest.raises(AwsError) as caught:
        parse(route(request, signed), request)
    return caught.value


KMS = _json("TrentService.Encrypt")
SQS_JSON = _json("AmazonSQS.SendMessage", "1.0")
TRAIL = _json("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")

CASES = [
    # id, signed service, headers, body, expected code, text in message
    ("sts-missing", "sts", FORM, b"Action=AssumeRole&RoleArn=arn", "ValidationError", "'RoleSessionName'"),
    ("sts-bad-int", "sts", FORM, b"Action=AssumeRole&RoleArn=a&RoleSessionName=s&DurationSeconds=1.5",
     "ValidationError", "'DurationSeconds'"),
    ("iam-missing", "iam", FORM, b"Action=CreateUser", "ValidationError", "Value null at 'UserName'"),
    ("iam-bad-bool", "iam", FORM, b"Action=CreatePolicyVersion&PolicyArn=a&PolicyDocument=d&SetAsDefault=yes",
     "ValidationError", "must be a boolean"),
    ("sns-missing", "sns", FORM, b"Action=Subscribe&Protocol=sqs", "InvalidParameter",
     "Invalid parameter: TopicArn Reason: no value for required parameter"),
    ("sns-missing-nested", "sns", FORM,
     b"Action=Publish&Message=m&MessageAttributes.entry.1.Name=a&MessageAttributes.entry.1.Value.StringValue=v",
     "InvalidParameter", "Value null at 'MessageAttributes.entry.1.Value.DataType'"),
    ("sns-bad-blob", "sns", FORM,
     b"Action=Publish&Message=m&MessageAttributes.entry.1.Name=a"
     b"&MessageAttributes.entry.1.Value.DataType=Binary&MessageAttributes.entry.1.Value.BinaryValue=%21%21",
     "InvalidParameter", "'MessageAttributes.entry.1.Value.BinaryValue'"),
    ("sns-map-entry-without-value", "sns", FORM, b"Action=Publish&Message=m&MessageAttributes.entry.1.Name=a",
     "InvalidParameter", "'MessageAttributes.entry.1.Value'"),
    ("sqs-query-missing", "sqs", FORM, b"Action=SendMessage&MessageBody=x", "MissingParameter",
     "The request must contain the parameter QueueUrl."),
    ("sqs-query-bad-int", "sqs", FORM, b"Action=SendMessage&QueueUrl=u&MessageBody=x&DelaySeconds=soon",
     "InvalidParameterValue", "'DelaySeconds'"),
    ("sqs-query-bad-utf8", "sqs", FORM, b"Action=SendMessage&QueueUrl=u&MessageBody=%ff",
     "InvalidParameterValue", "not valid UTF-8"),
    ("sqs-query-raw-non-utf8", "sqs", FORM, b"Action=SendMessage&QueueUrl=u&MessageBody=\xff",
     "InvalidParameterValue", "not valid UTF-8"),
    ("sqs-json-missing", "sqs", SQS_JSON, b'{"MessageBody": "x"}', "MissingParameter", "'queueUrl'"),
    ("sqs-json-bad-type", "sqs", SQS_JSON, b'{"QueueUrl": "u", "MessageBody": "x", "DelaySeconds": "5"}',
     "InvalidParameterValue", "'delaySeconds'"),
    ("sqs-json-malformed", "sqs", SQS_JSON, b'{"QueueUrl": ', "SerializationException", "not valid JSON"),
    ("kms-missing", "kms", KMS, b'{"Plaintext": "AA=="}', "ValidationException", "Value null at 'keyId'"),
    ("kms-bad-enum", "kms", KMS, b'{"KeyId": "k", "Plaintext": "AA==", "EncryptionAlgorithm": "ROT13"}',
     "ValidationException", "enum value set"),
    ("kms-bad-base64", "kms", KMS, b'{"KeyId": "k", "Plaintext": "not base64!"}', "SerializationException",
     "'plaintext'"),
    ("kms-wrong-type", "kms", KMS, b'{"KeyId": 7, "Plaintext": "AA=="}', "SerializationException", "'keyId'"),
    ("kms-bool-as-int", "kms", _json("TrentService.ListKeys"), b'{"Limit": true}', "SerializationException",
     "'limit'"),
    ("kms-map-wrong-type", "kms", KMS, b'{"KeyId": "k", "Plaintext": "AA==", "EncryptionContext": ["a"]}',
     "SerializationException", "'encryptionContext'"),
    ("kms-malformed", "kms", KMS, b"{nope", "SerializationException", "not valid JSON"),
    ("kms-not-object", "kms", KMS, b'["KeyId"]', "SerializationException", "JSON object"),
    ("kms-null-body", "kms", KMS, b"null", "SerializationException", "JSON object"),
    ("kms-non-utf8", "kms", KMS, b'{"KeyId": "\xff"}', "SerializationException", "UTF-8"),
    ("kms-wrong-content-type", "kms", {**KMS, "content-type": "text/plain"}, b"{}", "ValidationException",
     "Content-Type"),
    ("kms-no-content-type", "kms", {"x-amz-target": "TrentService.ListKeys"}, b"{}", "ValidationException",
     "Content-Type"),
    ("trail-bad-timestamp", "cloudtrail", TRAIL, b'{"StartTime": "yesterday"}', "SerializationException",
     "'startTime'"),
    ("trail-bad-nested", "cloudtrail", TRAIL, b'{"LookupAttributes": [{"AttributeKey": "Nope"}]}',
     "ValidationException", "'lookupAttributes.1.member.attributeValue'"),
    ("sns-json-content-type", "sns", {"content-type": "application/json"}, b'{"Action": "Publish"}',
     "MissingAction", "Action"),
    ("sns-form-as-text", "sns", {"content-type": "text/plain"}, b"Message=m", "InvalidParameter",
     "Content-Type"),
]


@pytest.mark.parametrize(("signed", "headers", "body", "code", "text"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_invalid_request_gets_service_code(signed: str, headers: dict[str, str], body: bytes, code: str,
                                           text: str) -> None:
    query = "Action=Publish" if body == b"Message=m" else ""

    error = _fail(signed, headers, body, query=query)

    assert error.code == code
    assert text in error.message
    assert error.status == 400


def test_all_problems_are_reported_together() -> None:
    error = _fail("kms", KMS, b'{"EncryptionAlgorithm": "ROT13"}')

    assert error.message.startswith("3 validation errors detected: ")
    assert "'keyId'" in error.message and "'plaintext'" in error.message


def test_unknown_members_and_params_are_ignored() -> None:
    json_request = HttpRequest("POST", "/", "", _json("TrentService.ListKeys"), b'{"Limit": 5, "Extra": [1]}')
    query_request = HttpRequest("POST", "/", "", FORM, b"Action=GetCallerIdentity&Bogus.1.x=2&Version=v")

    assert parse(route(json_request, "kms"), json_request) == {"Limit": 5}
    assert parse(route(query_request, "sts"), query_request) == {}


def test_json_null_means_absent() -> None:
    request = HttpRequest("POST", "/", "", _json("TrentService.ListKeys"), b'{"Limit": null, "Marker": "m"}')

    assert parse(route(request, "kms"), request) == {"Marker": "m"}


def test_empty_json_body_is_an_empty_object() -> None:
    request = HttpRequest("POST", "/", "", _json("TrentService.ListKeys"), b"")

    assert parse(route(request, "kms"), request) == {}


def test_get_query_string_request() -> None:
    request = HttpRequest("GET", "/", "Action=GetCallerIdentity&Version=2011-06-15", {}, b"")

    assert parse(route(request, None), request) == {}


def test_query_booleans_and_floats() -> None:
    request = HttpRequest("POST", "/", "", FORM, b"Action=Subscribe&TopicArn=t&Protocol=sqs"
                                                 b"&ReturnSubscriptionArn=TRUE")

    assert parse(route(request, "sns"), request)["ReturnSubscriptionArn"] is True


@pytest.mark.parametrize(("target", "body", "code"), [
    ("TrentService.ListKeys", b'{"Limit": 1' + b"0" * 400 + b"}", "SerializationException"),
    ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", b'{"StartTime": 1' + b"0" * 400 + b"}",
     "SerializationException"),
    ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", b'{"StartTime": 1e400}',
     "SerializationException"),
    ("TrentService.ListKeys", b"[" * 100_000, "SerializationException"),
])
def test_out_of_range_numbers_and_deep_nesting(target: str, body: bytes, code: str) -> None:
    assert _fail("kms", _json(target), body).code == code


def test_non_ascii_digits_are_not_list_indices() -> None:
    request = HttpRequest("POST", "/", "", FORM, "Action=UntagQueue&QueueUrl=u&TagKey.²=a&TagKey.1=b".encode())

    assert parse(route(request, "sqs"), request) == {"QueueUrl": "u", "TagKeys": ["b"]}
