"""SSE for queues end to end: SSE-KMS with every KmsMasterKeyId form, the KMS error codes SQS
answers with (JSON and Query), key policies for senders and receivers, SSE-SQS, SSE changes
that are never retroactive, dead-letter moves of sealed bodies, and no plaintext at rest."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import BACKEND, ServerProcess, database_args
from test_sqs_query import query, text

ACCOUNT = "000000000000"


def fails(call: Any, expected: str, **params: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert exc.value.response["Error"]["Code"] == expected, exc.value.response
    return str(exc.value.response["Error"]["Message"])


def new_queue(sqs: Any, **attributes: str) -> str:
    name = f"sse-{uuid.uuid4().hex[:10]}"
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def receive_all(sqs: Any, url: str, expected: int) -> list[str]:
    bodies: list[str] = []
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        bodies += [message["Body"] for message in got]
        if len(bodies) >= expected:
            break
    return bodies


def user_clients(server: ServerProcess, name: str, *actions: str) -> tuple[Any, Any, str]:
    """An IAM user allowed ``sqs:*`` and ``actions``; returns its SQS and KMS clients and ARN."""
    iam = server.client("iam")
    user = iam.create_user(UserName=name)["User"]
    statements = [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]
    if actions:
        statements.append({"Effect": "Allow", "Action": list(actions), "Resource": "*"})
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    creds = {"access_key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    return server.client("sqs", **creds), server.client("kms", **creds), str(user["Arn"])


@pytest.fixture(scope="module")
def key(server: ServerProcess) -> dict[str, str]:
    kms = server.client("kms")
    meta = kms.create_key(Description="sse")["KeyMetadata"]
    alias = f"alias/sse-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return {"id": meta["KeyId"], "arn": meta["Arn"], "alias": alias,
            "alias_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}"}


@pytest.mark.parametrize("form", ["id", "arn", "alias", "alias_arn", "managed"])
def test_kms_queue_round_trip_every_key_form(server: ServerProcess, key: dict[str, str], form: str) -> None:
    sqs = server.client("sqs")
    key_id = "alias/aws/sqs" if form == "managed" else key[form]
    url = new_queue(sqs, KmsMasterKeyId=key_id, KmsDataKeyReusePeriodSeconds="60")
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == key_id
    assert attributes["SqsManagedSseEnabled"] == "false"
    # boto3 checks MD5OfMessageBody / MD5OfBody against what it sent and received.
    sqs.send_message(QueueUrl=url, MessageBody="one {\"patient\": 2911}",
                     MessageAttributes={"clinic": {"DataType": "String", "StringValue": "north"}})
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": f"e{i}", "MessageBody": f"batch {i}"} for i in range(3)])
    assert len(batch["Successful"]) == 3
    bodies = receive_all(sqs, url, 4)
    assert sorted(bodies) == sorted(["one {\"patient\": 2911}", "batch 0", "batch 1", "batch 2"])


def test_disabled_key_fails_send_and_receive_then_recovers(server: ServerProcess) -> None:
    sqs, kms = server.client("sqs"), server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = new_queue(sqs, KmsMasterKeyId=key_id)
    sqs.send_message(QueueUrl=url, MessageBody="before")  # warms both data-key caches
    kms.disable_key(KeyId=key_id)
    fails(sqs.send_message, "KmsDisabled", QueueUrl=url, MessageBody="during")
    fails(sqs.send_message_batch, "KmsDisabled", QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}])
    fails(sqs.receive_message, "KmsDisabled", QueueUrl=url)
    status, _, root = query(server, {"Action": "SendMessage", "QueueUrl": url, "MessageBody": "q"})
    assert (status, text(root, "Error/Code")) == (400, "KmsDisabled")
    status, _, root = query(server, {"Action": "ReceiveMessage", "QueueUrl": url})
    assert (status, text(root, "Error/Code")) == (400, "KmsDisabled")
    kms.enable_key(KeyId=key_id)
    # The refused receives put the message back at once, uncounted.
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert got[0]["Body"] == "before"
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"


def test_key_pending_deletion_and_missing_key(server: ServerProcess) -> None:
    sqs, kms = server.client("sqs"), server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = new_queue(sqs, KmsMasterKeyId=key_id)
    sqs.send_message(QueueUrl=url, MessageBody="doomed")
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    fails(sqs.send_message, "KmsInvalidState", QueueUrl=url, MessageBody="x")
    fails(sqs.receive_message, "KmsInvalidState", QueueUrl=url)
    missing = new_queue(sqs, KmsMasterKeyId="alias/does-not-exist")
    fails(sqs.send_message, "KmsNotFound", QueueUrl=missing, MessageBody="x")
    unknown = new_queue(sqs, KmsMasterKeyId=str(uuid.uuid4()))
    fails(sqs.send_message, "KmsNotFound", QueueUrl=unknown, MessageBody="x")


def test_key_policy_decides_for_each_sender_and_receiver(server: ServerProcess) -> None:
    """The key policy delegates to IAM (its root statement): a sender needs kms:GenerateDataKey,
    a receiver kms:Decrypt, and a data key cached for one principal never serves another."""
    sqs, kms = server.client("sqs"), server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    url = new_queue(sqs, KmsMasterKeyId=key_id)
    tag = uuid.uuid4().hex[:6]
    sender, _, _ = user_clients(server, f"sender-{tag}", "kms:GenerateDataKey")
    reader, _, _ = user_clients(server, f"reader-{tag}", "kms:Decrypt")
    nobody, _, _ = user_clients(server, f"nobody-{tag}")
    sqs.send_message(QueueUrl=url, MessageBody="by root")  # root's data key is cached now
    sender.send_message(QueueUrl=url, MessageBody="by sender")
    message = fails(nobody.send_message, "KmsAccessDenied", QueueUrl=url, MessageBody="x")
    assert "kms:GenerateDataKey" in message
    fails(sender.receive_message, "KmsAccessDenied", QueueUrl=url)  # no kms:Decrypt
    fails(nobody.receive_message, "KmsAccessDenied", QueueUrl=url)
    assert sorted(receive_all(reader, url, 2)) == ["by root", "by sender"]
    fails(reader.send_message, "KmsAccessDenied", QueueUrl=url, MessageBody="x")  # no GenerateDataKey


def test_sse_sqs_is_the_default_and_excludes_sse_kms(server: ServerProcess, key: dict[str, str]) -> None:
    sqs = server.client("sqs")
    url = new_queue(sqs)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    sqs.send_message(QueueUrl=url, MessageBody="managed")
    assert receive_all(sqs, url, 1) == ["managed"]
    fails(sqs.create_queue, "InvalidAttributeName", QueueName=f"both-{uuid.uuid4().hex[:8]}",
          Attributes={"KmsMasterKeyId": key["id"], "SqsManagedSseEnabled": "true"})
    for period in ("59", "86401"):
        fails(sqs.set_queue_attributes, "InvalidAttributeValue", QueueUrl=url,
              Attributes={"KmsDataKeyReusePeriodSeconds": period})


def test_sse_changes_are_never_retroactive(server: ServerProcess, key: dict[str, str]) -> None:
    sqs = server.client("sqs")
    url = new_queue(sqs, SqsManagedSseEnabled="false")
    sqs.send_message(QueueUrl=url, MessageBody="clear")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": key["alias"]})
    sqs.send_message(QueueUrl=url, MessageBody="kms")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "true"})
    assert "KmsMasterKeyId" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    sqs.send_message(QueueUrl=url, MessageBody="managed")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "false"})
    sqs.send_message(QueueUrl=url, MessageBody="clear again")
    assert sorted(receive_all(sqs, url, 4)) == ["clear", "clear again", "kms", "managed"]


def test_sealed_body_moves_to_a_dead_letter_queue_and_back(server: ServerProcess, key: dict[str, str]) -> None:
    sqs = server.client("sqs")
    dlq = new_queue(sqs, SqsManagedSseEnabled="false")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = new_queue(sqs, KmsMasterKeyId=key["id"], VisibilityTimeout="0",
                       RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    sqs.send_message(QueueUrl=source, MessageBody="poison")
    assert sqs.receive_message(QueueUrl=source)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in sqs.receive_message(QueueUrl=source)  # moved on this receive
    assert receive_all(sqs, dlq, 1) == ["poison"]


def _grep_data_dir(data_dir: Path, marker: bytes) -> list[str]:
    return [str(path) for path in data_dir.rglob("*") if path.is_file() and marker in path.read_bytes()]


def test_no_plaintext_body_at_rest(fresh_server: Any, tmp_path: Path) -> None:
    server: ServerProcess = fresh_server()
    sqs, kms = server.client("sqs"), server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    body_marker = f"PHI-{uuid.uuid4().hex}"
    attribute_marker = f"ATTR-{uuid.uuid4().hex}"
    attributes = {"note": {"DataType": "String", "StringValue": attribute_marker}}
    kms_queue = new_queue(sqs, KmsMasterKeyId=key_id)
    managed_queue = new_queue(sqs)
    for url in (kms_queue, managed_queue):
        sqs.send_message(QueueUrl=url, MessageBody=f"patient record {body_marker}", MessageAttributes=attributes)
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "b", "MessageBody": body_marker * 3}])
    # Received but not deleted: still stored, still sealed.
    assert body_marker in sqs.receive_message(QueueUrl=kms_queue)["Messages"][0]["Body"]
    if BACKEND == "postgres":
        dsn = database_args(server.data_dir)[1]
        dump = subprocess.run(["pg_dump", "--data-only", dsn], check=True, capture_output=True).stdout
        assert body_marker.encode() not in dump
        assert attribute_marker.encode() in dump  # attributes stay clear, as in AWS
    else:
        assert _grep_data_dir(server.data_dir, body_marker.encode()) == []
        assert _grep_data_dir(server.data_dir, attribute_marker.encode())  # the grep does see clear data
    server.stop()
    if BACKEND != "postgres":
        assert _grep_data_dir(server.data_dir, body_marker.encode()) == []
