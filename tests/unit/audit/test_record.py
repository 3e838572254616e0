"""CloudTrail records from request contexts (services/audit/record.py, redact.py, tables.py)."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import pytest

from cipherpost.context import TlsInfo
from cipherpost.errors import AccessDenied
from cipherpost.services.audit.files import gzip_records, read_gzip_json
from cipherpost.services.audit.record import build_event
from cipherpost.services.audit.tables import HIDDEN, is_data_event, is_read_only

from .conftest import ACCOUNT, MARKER, PRIVATE, REGION, ROLE, ROOT, SERVICE, USER, WHEN, make_ctx

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:emr-topic"
QUEUE_URL = f"http://localhost:4566/{ACCOUNT}/emr-queue"


def _event(**kwargs: Any) -> dict[str, Any]:
    ctx = kwargs.pop("ctx", None) or make_ctx()
    return build_event(ctx, params=kwargs.pop("params", None), result=kwargs.pop("result", None),
                       error=kwargs.pop("error", None), event_time=WHEN, **kwargs)


IDENTITIES = [
    pytest.param(ROOT, {"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root",
                        "accountId": ACCOUNT, "accessKeyId": "AKIAROOTROOTROOT0001"}, id="root"),
    pytest.param(USER, {"type": "IAMUser", "principalId": "AIDAEMRUSER000000001",
                        "arn": f"arn:aws:iam::{ACCOUNT}:user/EMRUser", "accountId": ACCOUNT,
                        "accessKeyId": "AKIAEMRUSER000000001", "userName": "EMRUser"}, id="iam-user"),
    pytest.param(ROLE, {"type": "AssumedRole", "principalId": "AROAPUBLISHER0000001:session-1",
                        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Publisher/session-1", "accountId": ACCOUNT,
                        "accessKeyId": "ASIAPUBLISHER0000001",
                        "sessionContext": {
                            "sessionIssuer": {"type": "Role", "principalId": "AROAPUBLISHER0000001",
                                              "arn": f"arn:aws:iam::{ACCOUNT}:role/Publisher",
                                              "accountId": ACCOUNT, "userName": "Publisher"},
                            "attributes": {"creationDate": "2024-05-01T12:00:07Z", "mfaAuthenticated": "false"}}},
                 id="assumed-role"),
    pytest.param(SERVICE, {"type": "AWSService", "invokedBy": "sns.amazonaws.com"}, id="aws-service"),
]


@pytest.mark.parametrize(("caller", "identity"), IDENTITIES)
def test_user_identity(caller: Any, identity: dict[str, Any]) -> None:
    event = _event(ctx=make_ctx(caller=caller), session_created_at=WHEN)
    assert event["userIdentity"] == identity
    assert event["recipientAccountId"] == ACCOUNT


def test_common_fields() -> None:
    event = _event(params={"KeyId": KEY_ID, "Plaintext": b"x"}, result={"KeyId": KEY_ARN, "CiphertextBlob": b"y"})
    assert event["eventVersion"] == "1.09"
    assert event["eventTime"] == "2024-05-01T12:00:07Z"
    assert (event["eventSource"], event["eventName"], event["awsRegion"]) == ("kms.amazonaws.com", "Encrypt", REGION)
    assert (event["sourceIPAddress"], event["userAgent"]) == ("192.0.2.10", "aws-cli/2.15")
    assert event["requestID"] == "req-0001"
    assert uuid.UUID(event["eventID"]).version == 4
    assert event["eventType"] == "AwsApiCall"
    assert (event["managementEvent"], event["eventCategory"], event["readOnly"]) == (True, "Management", True)
    assert event["requestParameters"] == {"keyId": KEY_ID}
    assert event["responseElements"] is None  # KMS cryptographic operations: null, as in CloudTrail
    assert "errorCode" not in event and "vpcEndpointId" not in event and "tlsDetails" not in event


def test_invoked_by_replaces_address_and_agent() -> None:
    event = _event(ctx=make_ctx(operation="GenerateDataKey", invoked_by="sns.amazonaws.com"))
    assert event["userIdentity"]["invokedBy"] == "sns.amazonaws.com"
    assert event["userIdentity"]["userName"] == "EMRUser"
    assert event["sourceIPAddress"] == event["userAgent"] == "sns.amazonaws.com"


def test_service_caller_address_is_the_service() -> None:
    event = _event(ctx=make_ctx(operation="Decrypt", caller=SERVICE))
    assert event["sourceIPAddress"] == event["userAgent"] == "sns.amazonaws.com"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(AccessDenied("User EMRUser is not authorized to perform kms:Encrypt"), "AccessDenied",
                     id="denied"),
        pytest.param(AccessDenied(), "AccessDenied", id="default-message"),
    ],
)
def test_errors_are_recorded(error: AccessDenied, code: str) -> None:
    event = _event(params={"KeyId": KEY_ID}, result={"KeyId": KEY_ARN}, error=error)
    assert event["errorCode"] == code
    assert event["errorMessage"] == error.message
    assert event["responseElements"] is None


def test_private_listener_and_tls() -> None:
    ctx = make_ctx(listener=PRIVATE, source_ip=None, tls=TlsInfo("TLSv1.3", "TLS_AES_256_GCM_SHA384"))
    event = _event(ctx=ctx, host="kms.example.internal")
    assert event["vpcEndpointId"] == "vpce-0a1b2c3d4e"
    assert event["sourceIPAddress"] is None
    assert event["tlsDetails"] == {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_256_GCM_SHA384",
                                   "clientProvidedHostHeader": "kms.example.internal"}


RESOURCES = [
    pytest.param("kms", "Encrypt", {"KeyId": KEY_ID}, None, [(KEY_ARN, "AWS::KMS::Key")], id="kms-key-id"),
    pytest.param("kms", "Encrypt", {"KeyId": KEY_ARN}, None, [(KEY_ARN, "AWS::KMS::Key")], id="kms-key-arn"),
    pytest.param("kms", "Encrypt", {"KeyId": "alias/emr"}, {"KeyId": KEY_ARN}, [(KEY_ARN, "AWS::KMS::Key")],
                 id="kms-alias-resolved-by-result"),
    pytest.param("kms", "Encrypt", {"KeyId": "alias/emr"}, None, [], id="kms-alias-unresolved"),
    pytest.param("kms", "CreateKey", {}, {"KeyMetadata": {"Arn": KEY_ARN, "KeyId": KEY_ID}},
                 [(KEY_ARN, "AWS::KMS::Key")], id="kms-key-metadata"),
    pytest.param("sns", "Publish", {"TopicArn": TOPIC}, None, [(TOPIC, "AWS::SNS::Topic")], id="sns-topic"),
    pytest.param("sqs", "SendMessage", {"QueueUrl": QUEUE_URL}, None,
                 [(f"arn:aws:sqs:{REGION}:{ACCOUNT}:emr-queue", "AWS::SQS::Queue")], id="sqs-queue-url"),
    pytest.param("sqs", "SendMessage", {"QueueUrl": "not a url"}, None, [], id="sqs-bad-url"),
]


@pytest.mark.parametrize(("service", "operation", "params", "result", "expected"), RESOURCES)
def test_resources(service: str, operation: str, params: Any, result: Any, expected: list[tuple[str, str]]) -> None:
    event = _event(ctx=make_ctx(service, operation), params=params, result=result)
    assert [(r["ARN"], r["type"]) for r in event.get("resources", [])] == expected
    assert all(r["accountId"] == ACCOUNT for r in event.get("resources", []))


def test_member_names_are_lower_camel_case_and_map_keys_kept() -> None:
    params = {"KeyId": KEY_ID, "EncryptionContext": {"PatientId": "p-1", "Department": "ER"},
              "GrantTokens": ["t1"], "Plaintext": b"secret"}
    event = _event(params=params)
    assert event["requestParameters"] == {
        "keyId": KEY_ID, "encryptionContext": {"PatientId": "p-1", "Department": "ER"}, "grantTokens": ["t1"],
    }


def test_map_keys_kept_for_queue_attributes() -> None:
    ctx = make_ctx("sqs", "CreateQueue")
    event = _event(ctx=ctx, params={"QueueName": "q", "Attributes": {"KmsMasterKeyId": "alias/aws/sqs"}},
                   result={"QueueUrl": QUEUE_URL})
    assert event["requestParameters"] == {"queueName": "q", "attributes": {"KmsMasterKeyId": "alias/aws/sqs"}}
    assert event["responseElements"] == {"queueUrl": QUEUE_URL}


M = MARKER
MB = MARKER.encode()
SECRET_VECTORS = [
    pytest.param("kms", "Encrypt", {"KeyId": KEY_ID, "Plaintext": MB}, {"CiphertextBlob": MB, "KeyId": KEY_ARN},
                 id="kms-encrypt"),
    pytest.param("kms", "Decrypt", {"CiphertextBlob": MB}, {"Plaintext": MB, "KeyId": KEY_ARN}, id="kms-decrypt"),
    pytest.param("kms", "GenerateDataKey", {"KeyId": KEY_ID, "KeySpec": "AES_256"},
                 {"Plaintext": MB, "CiphertextBlob": MB, "KeyId": KEY_ARN}, id="kms-generate-data-key"),
    pytest.param("kms", "ReEncrypt", {"CiphertextBlob": MB, "DestinationKeyId": KEY_ID},
                 {"CiphertextBlob": MB}, id="kms-re-encrypt"),
    pytest.param("kms", "GenerateDataKeyPair", {"KeyId": KEY_ID, "KeyPairSpec": "RSA_2048"},
                 {"PrivateKeyPlaintext": MB, "PrivateKeyCiphertextBlob": MB, "PublicKey": MB}, id="kms-key-pair"),
    pytest.param("kms", "GenerateRandom", {"NumberOfBytes": 32}, {"Plaintext": MB}, id="kms-generate-random"),
    pytest.param("kms", "Sign", {"KeyId": KEY_ID, "Message": MB}, {"Signature": MB}, id="kms-sign"),
    pytest.param("kms", "ImportKeyMaterial", {"KeyId": KEY_ID, "ImportToken": MB, "EncryptedKeyMaterial": MB}, {},
                 id="kms-import"),
    pytest.param("sqs", "SendMessage", {"QueueUrl": QUEUE_URL, "MessageBody": M,
                                        "MessageAttributes": {"a": {"StringValue": M, "DataType": "String"}}},
                 {"MessageId": "m1", "MD5OfMessageBody": M}, id="sqs-send"),
    pytest.param("sqs", "SendMessageBatch", {"QueueUrl": QUEUE_URL,
                                             "Entries": [{"Id": "1", "MessageBody": M}, {"Id": "2", "MessageBody": M}]},
                 {"Successful": [{"Id": "1", "MessageId": "m", "MD5OfMessageBody": M}]}, id="sqs-send-batch"),
    pytest.param("sqs", "ReceiveMessage", {"QueueUrl": QUEUE_URL},
                 {"Messages": [{"MessageId": "m", "Body": M, "ReceiptHandle": M, "MD5OfBody": M,
                                "MessageAttributes": {"x": {"BinaryValue": MB, "DataType": "Binary"}}}]},
                 id="sqs-receive"),
    pytest.param("sqs", "DeleteMessageBatch", {"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "ReceiptHandle": M}]},
                 {}, id="sqs-delete-batch"),
    pytest.param("sns", "Publish", {"TopicArn": TOPIC, "Message": M, "Subject": M,
                                    "MessageAttributes": {"k": {"DataType": "String", "StringValue": M}}},
                 {"MessageId": "m"}, id="sns-publish"),
    pytest.param("sns", "PublishBatch", {"TopicArn": TOPIC, "PublishBatchRequestEntries": [{"Id": "1", "Message": M}]},
                 {"Successful": [{"Id": "1", "MessageId": "m"}]}, id="sns-publish-batch"),
    pytest.param("sns", "CreatePlatformApplication", {"Name": "a", "Platform": "GCM",
                                                      "Attributes": {"PlatformCredential": M}}, {}, id="sns-platform"),
    pytest.param("iam", "CreateAccessKey", {"UserName": "EMRUser"},
                 {"AccessKey": {"AccessKeyId": "AKIA", "SecretAccessKey": M, "UserName": "EMRUser"}},
                 id="iam-create-access-key"),
    pytest.param("iam", "CreateLoginProfile", {"UserName": "u", "Password": M}, {}, id="iam-password"),
    pytest.param("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::1:role/r", "RoleSessionName": "s"},
                 {"Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": M, "SessionToken": M}},
                 id="sts-assume-role"),
    pytest.param("sts", "GetSessionToken", {}, {"Credentials": {"SecretAccessKey": M, "SessionToken": M}},
                 id="sts-session-token"),
    pytest.param("cloudtrail", "LookupEvents", {"Unmodelled": {"Deep": [MB, {"x": bytearray(MB)}]}}, {},
                 id="bytes-anywhere"),
]


@pytest.mark.parametrize(("service", "operation", "params", "result"), SECRET_VECTORS)
def test_secrets_never_logged(service: str, operation: str, params: Any, result: Any) -> None:
    event = _event(ctx=make_ctx(service, operation), params=params, result=result)
    text = json.dumps(event)
    assert MARKER not in text
    assert MB.hex() not in text


def test_hidden_fields_keep_their_names() -> None:
    ctx = make_ctx("sqs", "SendMessageBatch")
    event = _event(ctx=ctx, params={"QueueUrl": QUEUE_URL, "Entries": [{"Id": "1", "MessageBody": M}]})
    assert event["requestParameters"]["entries"] == [{"id": "1", "messageBody": HIDDEN}]


def test_encryption_context_logged_in_clear_even_with_secret_looking_keys() -> None:
    event = _event(params={"KeyId": KEY_ID, "EncryptionContext": {"Plaintext": "visible"}})
    assert event["requestParameters"]["encryptionContext"] == {"Plaintext": "visible"}


@pytest.mark.parametrize(
    ("service", "operation", "data", "read_only"),
    [
        pytest.param("sns", "Publish", True, False, id="sns-publish"),
        pytest.param("sns", "PublishBatch", True, False, id="sns-publish-batch"),
        pytest.param("sns", "CreateTopic", False, False, id="sns-create-topic"),
        pytest.param("sqs", "SendMessage", True, False, id="sqs-send"),
        pytest.param("sqs", "ReceiveMessage", True, True, id="sqs-receive"),
        pytest.param("sqs", "DeleteMessageBatch", True, False, id="sqs-delete-batch"),
        pytest.param("sqs", "ChangeMessageVisibilityBatch", True, False, id="sqs-visibility-batch"),
        pytest.param("sqs", "GetQueueUrl", False, True, id="sqs-get-queue-url"),
        pytest.param("kms", "Decrypt", False, True, id="kms-decrypt"),
        pytest.param("kms", "CreateKey", False, False, id="kms-create-key"),
        pytest.param("kms", "ListKeys", False, True, id="kms-list-keys"),
        pytest.param("sts", "GetCallerIdentity", False, True, id="sts-get-caller-identity"),
    ],
)
def test_classification_tables(service: str, operation: str, data: bool, read_only: bool) -> None:
    assert is_data_event(service, operation) is data
    assert is_read_only(service, operation) is read_only
    event = _event(ctx=make_ctx(service, operation))
    assert event["eventCategory"] == ("Data" if data else "Management")
    assert event["managementEvent"] is (not data)


def test_explicit_management_flag_wins() -> None:
    event = _event(ctx=make_ctx("sns", "Publish"), management=True)
    assert event["eventCategory"] == "Management"


def test_log_file_keeps_a_lone_surrogate_a_json_request_sent() -> None:
    """UTF-8 cannot carry U+D800: that record is written with ``\\u`` escapes, the others as is."""
    records = [{"requestParameters": {"description": "a\ud800b"}}, {"requestParameters": {"description": "é 😀"}}]

    data = gzip_records(records)

    assert read_gzip_json(data) == {"Records": records}
    assert "é 😀" in gzip.decompress(data).decode("utf-8")
