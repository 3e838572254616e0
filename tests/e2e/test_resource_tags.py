"""aws:ResourceTag/<key> end to end: SQS queues and KMS keys supply their tags to IAM
policies, queue policies and key policies, and tag changes take effect at once."""

from __future__ import annotations

import json
import uuid
from typing import Any

from e2e_support import ServerProcess, fails

ACCOUNT = "000000000000"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
BILLING_ONLY = {"StringEquals": {"aws:ResourceTag/team": "billing"}}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def make_user(server: ServerProcess, service: str, *policies: str) -> tuple[str, Any]:
    """A new IAM user with inline policies: its ARN and a ``service`` client acting as it."""
    iam = server.client("iam")
    name = unique("tags-user")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    for index, text in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{index}", PolicyDocument=text)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, server.client(service, access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])


def new_queue(sqs: Any, tags: dict[str, str] | None = None) -> tuple[str, str]:
    options = {"tags": tags} if tags else {}
    url = sqs.create_queue(QueueName=unique("tags"), **options)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def test_identity_policy_on_queue_tags(server: ServerProcess) -> None:
    root = server.client("sqs")
    _, user = make_user(server, "sqs", document(
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*", "Condition": BILLING_ONLY}))
    billing, _ = new_queue(root, {"team": "billing", "env": "prod"})
    plain, _ = new_queue(root)
    audit, _ = new_queue(root, {"team": "audit"})
    shouting, _ = new_queue(root, {"team": "BILLING"})
    assert user.send_message(QueueUrl=billing, MessageBody="ok")["MessageId"]
    assert user.send_message_batch(QueueUrl=billing, Entries=[{"Id": "a", "MessageBody": "ok"}])["Successful"]
    for url in (plain, audit, shouting):  # untagged, another value, a value in another case
        message = fails(user.send_message, "AccessDenied", QueueUrl=url, MessageBody="no")
        assert "sqs:SendMessage" in message
    # The policy allows SendMessage only: the tag does not open other actions.
    fails(user.receive_message, "AccessDenied", QueueUrl=billing)


def test_queue_tag_changes_take_effect(server: ServerProcess) -> None:
    root = server.client("sqs")
    _, user = make_user(server, "sqs", document(
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*", "Condition": BILLING_ONLY}))
    url, _ = new_queue(root)
    fails(user.send_message, "AccessDenied", QueueUrl=url, MessageBody="before")
    root.tag_queue(QueueUrl=url, Tags={"Team": "billing"})  # tag keys in conditions are case-insensitive
    user.send_message(QueueUrl=url, MessageBody="tagged")
    root.untag_queue(QueueUrl=url, TagKeys=["Team"])
    fails(user.send_message, "AccessDenied", QueueUrl=url, MessageBody="untagged")
    root.tag_queue(QueueUrl=url, Tags={"team": "audit"})
    fails(user.send_message, "AccessDenied", QueueUrl=url, MessageBody="audit")
    root.tag_queue(QueueUrl=url, Tags={"team": "billing"})  # overwrites the value
    user.send_message(QueueUrl=url, MessageBody="billing again")
    bodies = {m["Body"] for m in root.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                      WaitTimeSeconds=1).get("Messages", [])}
    assert bodies == {"tagged", "billing again"}


def test_queue_policy_on_queue_tags(server: ServerProcess) -> None:
    root = server.client("sqs")
    url, arn = new_queue(root)
    policy = document({"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn,
                       "Condition": {"StringEquals": {"aws:ResourceTag/frozen": "true"}}})
    root.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    root.send_message(QueueUrl=url, MessageBody="open")
    root.tag_queue(QueueUrl=url, Tags={"frozen": "true"})
    fails(root.send_message, "AccessDenied", QueueUrl=url, MessageBody="frozen")
    root.receive_message(QueueUrl=url)  # only SendMessage is denied
    root.untag_queue(QueueUrl=url, TagKeys=["frozen"])
    root.send_message(QueueUrl=url, MessageBody="open again")


def test_identity_policy_on_key_tags(server: ServerProcess) -> None:
    root = server.client("kms")
    _, user = make_user(server, "kms", document(
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*", "Condition": BILLING_ONLY}))
    # The default key policy delegates to IAM: the identity policy decides.
    tagged = root.create_key(Tags=[{"TagKey": "team", "TagValue": "billing"}])["KeyMetadata"]["KeyId"]
    plain = root.create_key()["KeyMetadata"]["KeyId"]
    other = root.create_key(Tags=[{"TagKey": "team", "TagValue": "audit"}])["KeyMetadata"]["KeyId"]
    assert user.encrypt(KeyId=tagged, Plaintext=b"x")["KeyId"].endswith(tagged)
    message = fails(user.encrypt, "AccessDeniedException", KeyId=plain, Plaintext=b"x")
    assert "kms:Encrypt" in message
    fails(user.encrypt, "AccessDeniedException", KeyId=other, Plaintext=b"x")
    fails(user.describe_key, "AccessDeniedException", KeyId=tagged)  # only Encrypt is allowed
    root.tag_resource(KeyId=plain, Tags=[{"TagKey": "TEAM", "TagValue": "billing"}])
    assert user.encrypt(KeyId=plain, Plaintext=b"x")["KeyId"].endswith(plain)
    root.untag_resource(KeyId=plain, TagKeys=["TEAM"])
    fails(user.encrypt, "AccessDeniedException", KeyId=plain, Plaintext=b"x")


def test_key_policy_on_key_tags(server: ServerProcess) -> None:
    root = server.client("kms")
    arn, user = make_user(server, "kms")  # no IAM policies: only the key policy can allow
    policy = document(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
         "Condition": BILLING_ONLY},
    )
    key_id = root.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    fails(user.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    root.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "billing"}])
    blob = user.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    assert user.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    root.tag_resource(KeyId=key_id, Tags=[{"TagKey": "team", "TagValue": "Billing"}])  # values are case-sensitive
    fails(user.decrypt, "AccessDeniedException", CiphertextBlob=blob)


def test_put_key_policy_lockout_check_sees_key_tags(server: ServerProcess) -> None:
    root = server.client("kms")
    key_id = root.create_key(Tags=[{"TagKey": "team", "TagValue": "billing"}])["KeyMetadata"]["KeyId"]

    def policy(team: str) -> str:
        return document({"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*",
                         "Condition": {"StringEquals": {"aws:ResourceTag/team": team}}})

    fails(root.put_key_policy, "MalformedPolicyDocumentException", KeyId=key_id, PolicyName="default",
          Policy=policy("audit"))
    root.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy("billing"))
    assert root.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"].endswith(key_id)
    # Removing the tag the policy depends on locks the root out, as in AWS.
    root.untag_resource(KeyId=key_id, TagKeys=["team"])
    fails(root.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
