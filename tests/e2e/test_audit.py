"""The audit trail end to end: events recorded for API calls, LookupEvents, `cipherpost audit verify`."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess

Start = Callable[..., ServerProcess]
MARKER = "PATIENT-2911-SECRET-MARKER"


def lookup(server: ServerProcess, key: str, value: str) -> list[dict[str, Any]]:
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])["Events"]
    return [json.loads(event["CloudTrailEvent"]) for event in events]


def audit_files(data_dir: Path) -> list[Path]:
    return sorted(path for path in (data_dir / "audit").rglob("*") if path.is_file())


def all_audit_text(data_dir: Path) -> str:
    texts = []
    for path in audit_files(data_dir):
        raw = path.read_bytes()
        texts.append(gzip.decompress(raw).decode(errors="replace") if path.suffix == ".gz" else raw.decode(
            errors="replace"))
    return "\n".join(texts)


def verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cipherpost.cli", "audit", "verify", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=60, check=False)


def test_management_events_are_recorded_and_found(server: ServerProcess) -> None:
    server.client("iam").create_user(UserName="Audited")
    events = lookup(server, "EventName", "CreateUser")
    assert events, "CreateUser was not recorded"
    event = events[0]
    assert event["eventSource"] == "iam.amazonaws.com"
    assert event["userIdentity"]["type"] == "Root"
    assert event["userIdentity"]["accessKeyId"] == server.access_key_id
    assert event["requestParameters"]["userName"] == "Audited"
    assert event["sourceIPAddress"] == "127.0.0.1"
    assert event["readOnly"] is False
    assert any(e["eventID"] == event["eventID"] for e in lookup(server, "EventId", event["eventID"]))


def test_denied_call_is_recorded_with_its_error(server: ServerProcess) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="Nobody")
    key = iam.create_access_key(UserName="Nobody")["AccessKey"]
    client = server.client("iam", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError):
        client.list_roles()
    events = [e for e in lookup(server, "EventName", "ListRoles") if e["userIdentity"].get("userName") == "Nobody"]
    assert events and events[0]["errorCode"] == "AccessDenied"
    assert "iam:ListRoles" in events[0]["errorMessage"]


def test_kms_events_keep_context_and_hide_plaintext(server: ServerProcess) -> None:
    kms = server.client("kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=MARKER.encode(), EncryptionContext={"patient": "2911"})["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext={"patient": "2911"})
    decrypts = lookup(server, "EventName", "Decrypt")
    assert decrypts and decrypts[0]["requestParameters"]["encryptionContext"] == {"patient": "2911"}
    assert decrypts[0]["eventSource"] == "kms.amazonaws.com"
    assert MARKER not in all_audit_text(server.data_dir)


def test_verify_detects_tampering(fresh_server: Start, tmp_path: Path) -> None:
    proc = fresh_server()
    proc.client("iam").create_user(UserName="Tamper")
    proc.client("sts").get_caller_identity()
    assert proc.stop() == 0
    result = verify(proc.data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    logs = [path for path in audit_files(proc.data_dir) if "CloudTrail-Digest" not in str(path)]
    assert logs
    victim = logs[0]
    data = bytearray(victim.read_bytes())
    data[-5] ^= 0x01
    victim.write_bytes(bytes(data))
    result = verify(proc.data_dir)
    assert result.returncode == 1
    assert victim.name in result.stdout


def test_blog_scenario_kms_events_name_the_publisher_and_sns(server: ServerProcess) -> None:
    """The publisher's GenerateDataKey/Decrypt carry invokedBy sns; the delivery's KMS calls are SNS's own."""
    account = "000000000000"
    iam = server.client("iam")
    iam.create_user(UserName="AuditPublisher")
    user_arn = f"arn:aws:iam::{account}:user/AuditPublisher"
    key_policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}]})
    key_arn = server.client("kms").create_key(Policy=key_policy)["KeyMetadata"]["Arn"]
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="Audited-Records", Attributes={"KmsMasterKeyId": key_arn})["TopicArn"]
    iam.put_user_policy(UserName="AuditPublisher", PolicyName="publish", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sns:Publish", "Resource": topic}}))
    access = iam.create_access_key(UserName="AuditPublisher")["AccessKey"]
    url = sqs.create_queue(QueueName="Audited-Billing", Attributes={"KmsMasterKeyId": key_arn})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    publisher = server.client("sns", access_key_id=access["AccessKeyId"], secret=access["SecretAccessKey"])
    publisher.publish(TopicArn=topic, Message=MARKER)
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert MARKER in messages[0]["Body"]

    generated = [e for e in lookup(server, "EventName", "GenerateDataKey")
                 if e["userIdentity"].get("arn") == user_arn]
    assert generated and generated[0]["userIdentity"].get("invokedBy") == "sns.amazonaws.com"
    assert generated[0]["requestParameters"]["encryptionContext"] == {"aws:sns:topicArn": topic}
    service_calls = [e for e in lookup(server, "EventName", "Decrypt") + lookup(server, "EventName", "GenerateDataKey")
                     if e["userIdentity"]["type"] == "AWSService"]
    assert any(e["userIdentity"].get("invokedBy") == "sns.amazonaws.com" for e in service_calls)
    assert MARKER not in all_audit_text(server.data_dir)
