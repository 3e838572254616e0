"""Queue policies enforced end to end: cross-account callers (dev mode: a 12-digit access key
acts as that account's root), the Policy attribute, AddPermission / RemovePermission."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, launch

OWNER = "000000000000"
OTHER = "111111111111"
THIRD = "222222222222"


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = launch(tmp_path_factory.mktemp("sqs-policy") / "data", "--dev")
    yield proc
    proc.stop()


def client(server: ServerProcess, account: str | None = None) -> Any:
    if account is None:
        return server.client("sqs")
    return server.client("sqs", access_key_id=account, secret="dev-mode-ignores-this")


def new_queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"p-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def code_of(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_other_account_is_denied_without_a_policy(dev_server: ServerProcess) -> None:
    url, _ = new_queue(client(dev_server))
    other = client(dev_server, OTHER)
    for call in (lambda: other.send_message(QueueUrl=url, MessageBody="x"),
                 lambda: other.receive_message(QueueUrl=url),
                 lambda: other.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])):
        with pytest.raises(ClientError) as info:
            call()
        assert code_of(info) == "AccessDenied"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert OTHER in info.value.response["Error"]["Message"]


def test_policy_allows_the_named_account_for_the_named_action(dev_server: ServerProcess) -> None:
    owner = client(dev_server)
    url, arn = new_queue(owner)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "send", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": "sqs:SendMessage", "Resource": arn}]}
    owner.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    other = client(dev_server, OTHER)
    other.send_message(QueueUrl=url, MessageBody="cross-account")
    other.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "batched"}])
    with pytest.raises(ClientError) as info:
        other.receive_message(QueueUrl=url)
    assert code_of(info) == "AccessDenied"
    with pytest.raises(ClientError):
        client(dev_server, THIRD).send_message(QueueUrl=url, MessageBody="x")
    # Cross-account permissions never apply to SetQueueAttributes, even with a policy allowing sqs:*.
    policy["Statement"][0]["Action"] = "sqs:*"
    owner.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    with pytest.raises(ClientError) as info:
        other.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "1"})
    assert code_of(info) == "AccessDenied"
    bodies = {m["Body"] for m in other.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                      WaitTimeSeconds=1).get("Messages", [])}
    assert bodies <= {"cross-account", "batched"} and bodies


def test_explicit_deny_beats_the_owner_allow(dev_server: ServerProcess) -> None:
    owner = client(dev_server)
    url, arn = new_queue(owner)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": arn},
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:ReceiveMessage", "Resource": arn,
         "Condition": {"StringNotEquals": {"aws:PrincipalAccount": OWNER}}}]}
    owner.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    other = client(dev_server, OTHER)
    other.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(ClientError):
        other.receive_message(QueueUrl=url)
    assert owner.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "x"


def test_add_and_remove_permission(dev_server: ServerProcess) -> None:
    owner = client(dev_server)
    url, arn = new_queue(owner)
    other = client(dev_server, OTHER)
    owner.add_permission(QueueUrl=url, Label="AllowOther", AWSAccountIds=[OTHER],
                         Actions=["SendMessage", "GetQueueUrl"])
    policy = json.loads(owner.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Sid"] == "AllowOther"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    assert statement["Action"] == ["SQS:SendMessage", "SQS:GetQueueUrl"]
    assert statement["Resource"] == arn
    name = url.rsplit("/", 1)[1]
    assert other.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=OWNER)["QueueUrl"] == url
    other.send_message(QueueUrl=url, MessageBody="allowed")
    with pytest.raises(ClientError) as info:
        owner.add_permission(QueueUrl=url, Label="AllowOther", AWSAccountIds=[OTHER], Actions=["SendMessage"])
    assert code_of(info) == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        owner.add_permission(QueueUrl=url, Label="bad", AWSAccountIds=[OTHER], Actions=["DeleteQueue"])
    assert code_of(info) == "InvalidParameterValue"
    with pytest.raises(ClientError) as info:
        other.add_permission(QueueUrl=url, Label="self", AWSAccountIds=[OTHER], Actions=["*"])
    assert code_of(info) == "AccessDenied"
    owner.remove_permission(QueueUrl=url, Label="AllowOther")
    assert "Policy" not in owner.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    with pytest.raises(ClientError):
        other.send_message(QueueUrl=url, MessageBody="denied again")
    with pytest.raises(ClientError) as info:
        owner.remove_permission(QueueUrl=url, Label="AllowOther")
    assert code_of(info) == "InvalidParameterValue"


def test_other_account_cannot_see_a_queue_by_name(dev_server: ServerProcess) -> None:
    url, _ = new_queue(client(dev_server))
    name = url.rsplit("/", 1)[1]
    other = client(dev_server, OTHER)
    with pytest.raises(other.exceptions.QueueDoesNotExist):
        other.get_queue_url(QueueName=name)
    with pytest.raises(ClientError) as info:
        other.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=OWNER)
    assert code_of(info) == "AccessDenied"
    assert url not in other.list_queues().get("QueueUrls", [])


def test_accounts_have_separate_namespaces(dev_server: ServerProcess, tmp_path: Path) -> None:
    del tmp_path
    name = f"same-{uuid.uuid4().hex[:8]}"
    mine = client(dev_server).create_queue(QueueName=name)["QueueUrl"]
    theirs = client(dev_server, OTHER).create_queue(QueueName=name)["QueueUrl"]
    assert mine != theirs and theirs.endswith(f"/{OTHER}/{name}")


def test_add_permission_with_no_actions_or_no_accounts(dev_server: ServerProcess) -> None:
    """An empty list is no list: no Actions is MissingParameter, no AWSAccountIds a principal
    SQS cannot verify; either way no statement is added."""
    owner = client(dev_server)
    url, _ = new_queue(owner)
    with pytest.raises(ClientError) as info:
        owner.add_permission(QueueUrl=url, Label="none", AWSAccountIds=[OTHER], Actions=[])
    assert code_of(info) == "MissingParameter"
    assert info.value.response["Error"]["Message"] == "The request must contain the parameter Actions."
    with pytest.raises(ClientError) as info:
        owner.add_permission(QueueUrl=url, Label="none", AWSAccountIds=[], Actions=["SendMessage"])
    assert code_of(info) == "InvalidParameterValue"
    assert info.value.response["Error"]["Message"] == (
        "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.")
    with pytest.raises(ClientError) as info:
        owner.add_permission(QueueUrl=url, Label="many", AWSAccountIds=[OTHER], Actions=[
            "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes",
            "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue"])
    assert code_of(info) == "OverLimit"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "Policy" not in owner.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
