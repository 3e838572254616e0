"""Text no store can hold — U+0000 (PostgreSQL's text refuses it) and lone surrogates (a JSON
``\\ud800`` escape; not UTF-8) — in free-text fields, over every protocol and both backends.

Where the model has a ``pattern`` the parser refuses the value, as AWS does; where it has none
the store refuses it before writing anything. Either way the caller gets the service's own
validation error (never a 500, never unparseable XML), the value is quoted with ``\\u0000``
escapes, and nothing is left half-created. Binary fields and SQS's own body rule are untouched.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.parse
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, code, http_get

NUL = "a\x00b"
SURROGATE = "a\ud800b"  # botocore's JSON writes it as the escape "\ud800"
ACCOUNT = "000000000000"
POLICY = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})


def refused(call: Any, expected: str, status: int = 400, **params: Any) -> str:
    """``call(**params)`` fails with ``expected`` and ``status``; returns the message."""
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert code(exc) == expected, exc.value.response
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status, exc.value.response
    return str(exc.value.response["Error"]["Message"])


def no_server_errors(server: ServerProcess) -> None:
    log = server.log()
    assert "Traceback" not in log and "InternalFailure" not in log, log[-4000:]


def quoted(member: str, value: str = "a\\u0000b") -> str:
    return f"Value '{value}' at '{member}' failed to satisfy constraint: "


STORE_RULE = "Member must not contain the NUL character (U+0000)"
PATTERN_RULE = "Member must satisfy regular expression pattern: "


def test_kms_free_text_without_a_pattern(server: ServerProcess) -> None:
    kms = server.client("kms")
    message = refused(kms.create_key, "ValidationException", Description=NUL)
    assert message == f"1 validation error detected: {quoted('description')}{STORE_RULE}"
    message = refused(kms.create_key, "ValidationException", Tags=[{"TagKey": "k", "TagValue": NUL}])
    assert quoted("tags.1.member.tagValue") + STORE_RULE in message
    message = refused(kms.create_key, "ValidationException", Description=SURROGATE)
    assert quoted("description", "a\\ud800b") + "Member must be valid Unicode text" in message

    key = kms.create_key(Description="kept", Tags=[{"TagKey": "k", "TagValue": "v"}])["KeyMetadata"]["KeyId"]
    refused(kms.update_key_description, "ValidationException", KeyId=key, Description=NUL)
    refused(kms.tag_resource, "ValidationException", KeyId=key, Tags=[{"TagKey": "k", "TagValue": NUL}])
    refused(kms.tag_resource, "ValidationException", KeyId=key, Tags=[{"TagKey": NUL, "TagValue": "v"}])
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == "kept"
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "k", "TagValue": "v"}]
    no_server_errors(server)


def test_kms_patterned_members(server: ServerProcess) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    message = refused(kms.create_alias, "ValidationException", AliasName="alias/" + NUL, TargetKeyId=key)
    assert quoted("aliasName", "alias/a\\u0000b") + PATTERN_RULE + "^[a-zA-Z0-9:/_-]+$" in message
    policy = POLICY.replace("sqs:ListQueues", "kms:*\x00")
    message = refused(kms.put_key_policy, "ValidationException", KeyId=key, PolicyName="default", Policy=policy)
    assert "at 'policy' failed to satisfy constraint: " + PATTERN_RULE in message
    no_server_errors(server)


def test_kms_binary_and_valid_unicode_are_untouched(server: ServerProcess) -> None:
    kms = server.client("kms")
    text = "émoji 😀 中文 עברית"
    key = kms.create_key(Description=text, Tags=[{"TagKey": "名前", "TagValue": "😀"}])["KeyMetadata"]["KeyId"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Description"] == text
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "名前", "TagValue": "😀"}]
    plaintext = b"\x00\xff\x00binary\x00"
    blob = kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
    no_server_errors(server)


def test_iam_patterned_members(server: ServerProcess) -> None:
    iam = server.client("iam")
    message = refused(iam.create_user, "ValidationError", UserName=NUL)
    assert quoted("UserName") + PATTERN_RULE + "[\\w+=,.@-]+" in message
    refused(iam.create_user, "ValidationError", UserName="NulPath", Path="/a\x00/")
    message = refused(iam.create_user, "ValidationError", UserName="NulTag", Tags=[{"Key": "k", "Value": NUL}])
    assert quoted("Tags.member.1.Value") + PATTERN_RULE in message
    refused(iam.create_role, "ValidationError", RoleName="NulRole", AssumeRolePolicyDocument=TRUST,
            Description=NUL)
    refused(iam.create_policy, "ValidationError", PolicyName="NulDocument",
            PolicyDocument=POLICY.replace("sqs:ListQueues", "sqs:\x00"))
    for name in ("NulPath", "NulTag"):
        refused(iam.get_user, "NoSuchEntity", 404, UserName=name)
    refused(iam.get_role, "NoSuchEntity", 404, RoleName="NulRole")

    iam.create_user(UserName="Tagged")
    refused(iam.tag_user, "ValidationError", UserName="Tagged", Tags=[{"Key": "k", "Value": NUL}])
    assert iam.list_user_tags(UserName="Tagged")["Tags"] == []
    no_server_errors(server)


def test_iam_free_text_without_a_pattern(server: ServerProcess) -> None:
    iam = server.client("iam")
    message = refused(iam.create_policy, "ValidationError", PolicyName="NulDescription", PolicyDocument=POLICY,
                      Description=NUL)
    assert message == f"1 validation error detected: {quoted('Description')}{STORE_RULE}"
    names = [policy["PolicyName"] for policy in iam.list_policies(Scope="Local")["Policies"]]
    assert "NulDescription" not in names
    no_server_errors(server)


def test_sts_patterned_members(server: ServerProcess) -> None:
    server.client("iam").create_role(RoleName="NulSession", AssumeRolePolicyDocument=TRUST)
    sts = server.client("sts")
    message = refused(sts.assume_role, "ValidationError", RoleArn=f"arn:aws:iam::{ACCOUNT}:role/NulSession",
                      RoleSessionName="s\x00s")
    assert "at 'RoleSessionName' failed to satisfy constraint: " + PATTERN_RULE in message
    no_server_errors(server)


def test_sqs_keeps_its_own_body_rule_and_binary_attributes(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="nul-text")["QueueUrl"]
    message = refused(sqs.send_message, "InvalidMessageContents", QueueUrl=url, MessageBody=NUL)
    assert "#x0" in message
    # In a batch (whose size is counted before any entry is checked) the entry fails alone.
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "bad", "MessageBody": SURROGATE}])
    assert [(entry["Id"], entry["Code"]) for entry in batch["Failed"]] == [("bad", "InvalidMessageContents")]
    assert "#xD800" in batch["Failed"][0]["Message"]
    # A String attribute value's refused characters are InvalidParameterValue (as AWS answers).
    refused(sqs.send_message, "InvalidParameterValue", QueueUrl=url, MessageBody="x",
            MessageAttributes={"a": {"DataType": "String", "StringValue": NUL}})
    binary = b"\x00\x01\x00"
    sqs.send_message(QueueUrl=url, MessageBody="body 😀",
                     MessageAttributes={"a": {"DataType": "Binary", "BinaryValue": binary}})
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=5)["Messages"][0]
    assert got["Body"] == "body 😀"
    assert got["MessageAttributes"]["a"]["BinaryValue"] == binary
    no_server_errors(server)


def test_sqs_lookup_by_unstorable_name(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    message = refused(sqs.get_queue_url, "InvalidParameterValue", QueueName=NUL)
    assert quoted("queueName") + STORE_RULE in message
    refused(sqs.create_queue, "InvalidParameterValue", QueueName=NUL)
    no_server_errors(server)


def test_sns_lookup_by_unstorable_arn_and_patterned_subject(server: ServerProcess) -> None:
    sns = server.client("sns")
    topic = sns.create_topic(Name="nul-text")["TopicArn"]
    message = refused(sns.get_topic_attributes, "InvalidParameter", TopicArn=topic + "\x00")
    assert f"at 'TopicArn' failed to satisfy constraint: {STORE_RULE}" in message
    refused(sns.create_topic, "InvalidParameter", Name=NUL)
    refused(sns.publish, "InvalidParameter", TopicArn=topic, Message="m", Subject=NUL)
    no_server_errors(server)


def test_sns_attributes_and_tags_an_xml_answer_could_not_carry(server: ServerProcess) -> None:
    """Stored as JSON they would fit any store, but GetTopicAttributes, ListTagsForResource and
    GetSubscriptionAttributes answer in XML: refused up front, and the topic stays readable."""
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name="xml-text")["TopicArn"]
    for value in (NUL, "a\x07b"):
        refused(sns.set_topic_attributes, "InvalidParameter", TopicArn=topic, AttributeName="DisplayName",
                AttributeValue=value)
        refused(sns.tag_resource, "InvalidParameter", ResourceArn=topic, Tags=[{"Key": "k", "Value": value}])
        refused(sns.tag_resource, "InvalidParameter", ResourceArn=topic, Tags=[{"Key": value, "Value": "v"}])
        refused(sns.create_topic, "InvalidParameter", Name="xml-text-2", Attributes={"DisplayName": value})
    url = sqs.create_queue(QueueName="xml-text-sub")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    refused(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=subscription,
            AttributeName="FilterPolicy", AttributeValue='{"a": ["\x01"]}')
    sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="tab\tand é")
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["DisplayName"] == "tab\tand é"
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == []
    assert sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]["Protocol"] == "sqs"
    no_server_errors(server)


def test_sqs_tags_an_xml_answer_could_not_carry(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="xml-tags")["QueueUrl"]
    for value in (NUL, "a\x07b"):
        refused(sqs.tag_queue, "InvalidParameterValue", QueueUrl=url, Tags={"k": value})
        refused(sqs.create_queue, "InvalidParameterValue", QueueName="xml-tags-2", tags={value: "v"})
    sqs.tag_queue(QueueUrl=url, Tags={"k": "é ok"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"k": "é ok"}
    no_server_errors(server)


def test_cloudtrail_lookup_value(server: ServerProcess) -> None:
    trail = server.client("cloudtrail")
    message = refused(trail.lookup_events, "ValidationException",
                      LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": NUL}])
    assert quoted("lookupAttributes.1.member.attributeValue") + STORE_RULE in message
    no_server_errors(server)


def test_presigned_credential_with_nul_is_an_unknown_key(server: ServerProcess) -> None:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    query = urllib.parse.urlencode({
        "Action": "GetCallerIdentity", "Version": "2011-06-15", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"AKIA\x00NUL/{stamp[:8]}/us-east-1/sts/aws4_request", "X-Amz-Date": stamp,
        "X-Amz-Expires": "60", "X-Amz-SignedHeaders": "host", "X-Amz-Signature": "0" * 64})
    status, _, body = http_get(f"{server.url}/?{query}")
    assert status == 403, body
    assert b"<Code>InvalidClientTokenId</Code>" in body
    no_server_errors(server)


def test_refused_calls_are_audited_and_the_trail_verifies(fresh_server: Any) -> None:
    """The failed calls quote the text in requestParameters: recorded, searchable, verifiable."""
    proc = fresh_server()
    kms, iam = proc.client("kms"), proc.client("iam")
    refused(kms.create_key, "ValidationException", Description=NUL)
    refused(kms.create_key, "ValidationException", Description=SURROGATE)
    refused(iam.create_policy, "ValidationError", PolicyName="Audited", PolicyDocument=POLICY, Description=NUL)
    refused(proc.client("sns").get_topic_attributes, "InvalidParameter",
            TopicArn=f"arn:aws:sns:us-east-1:{ACCOUNT}:t\x00")
    kms.create_key(Description="after")

    events = proc.client("cloudtrail").lookup_events(MaxResults=50)["Events"]
    records = [json.loads(event["CloudTrailEvent"]) for event in events]
    descriptions = [(r["eventName"], (r.get("requestParameters") or {}).get("description"), r.get("errorCode"))
                    for r in records if r["eventName"] in ("CreateKey", "CreatePolicy")]
    assert ("CreateKey", NUL, "ValidationException") in descriptions
    assert ("CreateKey", SURROGATE, "ValidationException") in descriptions
    assert ("CreatePolicy", NUL, "ValidationError") in descriptions
    assert ("CreateKey", "after", None) in descriptions
    assert any(r["eventName"] == "GetTopicAttributes" and r.get("errorCode") == "InvalidParameter" for r in records)
    no_server_errors(proc)
    assert proc.stop() == 0
    result = subprocess.run([sys.executable, "-m", "cipherpost.cli", "audit", "verify", "--data-dir",
                             str(proc.data_dir)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
