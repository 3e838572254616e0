"""SQS queue management end to end with boto3 (JSON protocol) and the AWS CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import REGION, ServerProcess

ACCOUNT = "000000000000"


def unique(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def error_of(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str | None]:
    """(Error.Code as botocore reports it, QueryErrorCode = the model's shape name)."""
    error = info.value.response["Error"]
    return error["Code"], error.get("QueryErrorCode")


@pytest.fixture(scope="module")
def sqs(server: ServerProcess) -> Any:
    return server.client("sqs")


def test_create_queue_is_idempotent_with_identical_attributes(sqs: Any, server: ServerProcess) -> None:
    name = unique()
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"]
    assert url.endswith(f"/{ACCOUNT}/{name}")
    assert url.startswith("http://localhost:")
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})["QueueUrl"] == url
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url


def test_create_queue_with_different_attributes_is_queue_name_exists(sqs: Any) -> None:
    name = unique()
    sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})
    with pytest.raises(sqs.exceptions.QueueNameExists) as info:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "61"})
    assert error_of(info) == ("QueueAlreadyExists", "QueueNameExists")


@pytest.mark.parametrize(("name", "attributes"), [
    ("bad.name", {}),
    ("x" * 81, {}),
    ("no-suffix", {"FifoQueue": "true"}),
    ("suffix-without-attribute.fifo", {}),
    ("sp ace", {}),
])
def test_invalid_queue_names(sqs: Any, name: str, attributes: dict[str, str]) -> None:
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName=name, Attributes=attributes)
    assert error_of(info)[0] == "InvalidParameterValue"


def test_fifo_queue_and_fifo_only_attributes(sqs: Any) -> None:
    name = unique() + ".fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})[
        "QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "true"
    assert attrs["DeduplicationScope"] == "queue"
    assert attrs["FifoThroughputLimit"] == "perQueue"
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.create_queue(QueueName=unique(), Attributes={"ContentBasedDeduplication": "true"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "true"})  # no change: AWS answers 200
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"})
    assert info.value.response["Error"]["Code"] == "InvalidAttributeValue"
    assert info.value.response["Error"]["Message"] == ("Invalid value for the parameter FifoQueue. Reason: "
                                                       "Modifying queue type is not supported.")


def test_get_queue_url_and_owner_account(sqs: Any) -> None:
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT)["QueueUrl"] == url
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName=unique("missing"))
    assert error_of(info) == ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_queues_prefix_and_pagination(sqs: Any) -> None:
    prefix = unique("list")
    urls = sorted(sqs.create_queue(QueueName=f"{prefix}-{i}")["QueueUrl"] for i in range(5))
    assert sorted(sqs.list_queues(QueueNamePrefix=prefix)["QueueUrls"]) == urls
    assert "NextToken" not in sqs.list_queues(QueueNamePrefix=prefix)
    seen: list[str] = []
    kwargs: dict[str, Any] = {"QueueNamePrefix": prefix, "MaxResults": 2}
    while True:
        page = sqs.list_queues(**kwargs)
        seen += page["QueueUrls"]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == urls
    paginated = [url for page in sqs.get_paginator("list_queues").paginate(
        QueueNamePrefix=prefix, PaginationConfig={"PageSize": 3}) for url in page.get("QueueUrls", [])]
    assert paginated == urls
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=unique("none"))
    with pytest.raises(ClientError) as info:
        sqs.list_queues(MaxResults=1001)
    assert error_of(info)[0] == "InvalidParameterValue"


def test_delete_queue_then_deleted_recently(sqs: Any) -> None:
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="gone")
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(sqs.exceptions.QueueDeletedRecently) as info:
        sqs.create_queue(QueueName=name)
    assert error_of(info) == ("AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently")


def test_get_queue_attributes_all_and_each(sqs: Any) -> None:
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["QueueArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
    expected = {"VisibilityTimeout": "30", "MaximumMessageSize": "1048576", "MessageRetentionPeriod": "345600",
                "DelaySeconds": "0", "ReceiveMessageWaitTimeSeconds": "0", "ApproximateNumberOfMessages": "0",
                "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0",
                "SqsManagedSseEnabled": "true"}
    assert {key: attrs[key] for key in expected} == expected
    assert int(attrs["CreatedTimestamp"]) > 1_600_000_000
    assert "FifoQueue" not in attrs and "Policy" not in attrs
    one = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
    assert one == {"VisibilityTimeout": "30"}
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)
    with pytest.raises(ClientError) as info:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"])
    assert error_of(info)[0] == "InvalidAttributeName"


@pytest.mark.parametrize(("name", "value"), [
    ("VisibilityTimeout", "43201"), ("VisibilityTimeout", "-1"), ("MaximumMessageSize", "1023"),
    ("MaximumMessageSize", "1048577"), ("MessageRetentionPeriod", "59"), ("MessageRetentionPeriod", "1209601"),
    ("DelaySeconds", "901"), ("ReceiveMessageWaitTimeSeconds", "21"), ("KmsDataKeyReusePeriodSeconds", "59"),
    ("Policy", "{not json"), ("RedrivePolicy", '{"maxReceiveCount": 5}'),
    ("RedrivePolicy", '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:nope", "maxReceiveCount": 5}'),
    ("RedriveAllowPolicy", '{"redrivePermission": "sometimes"}'),
])
def test_set_queue_attributes_validates_values(sqs: Any, name: str, value: str) -> None:
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    with pytest.raises(sqs.exceptions.InvalidAttributeValue) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={name: value})
    assert error_of(info) == ("InvalidAttributeValue", "InvalidAttributeValue")


def test_set_queue_attributes_round_trip(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sqs:SendMessage",
        "Resource": arn}]})
    values = {"VisibilityTimeout": "45", "DelaySeconds": "2", "MaximumMessageSize": "2048", "Policy": policy,
              "KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "600"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes=values)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {key: attrs[key] for key in values} == values
    assert attrs["SqsManagedSseEnabled"] == "false"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"QueueArn": "x"})


def test_tags(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique(), tags={"team": "billing"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "billing"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "test", "team": "ops"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "ops", "env": "test"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert "Tags" not in sqs.list_queue_tags(QueueUrl=url)
    with pytest.raises(ClientError) as info:
        sqs.tag_queue(QueueUrl=url, Tags={f"k{i}": "v" for i in range(51)})
    assert error_of(info)[0] == "InvalidParameterValue"
    # An empty map or list is no parameter at all.
    sqs.tag_queue(QueueUrl=url, Tags={"env": "test"})
    with pytest.raises(ClientError) as info:
        sqs.tag_queue(QueueUrl=url, Tags={})
    assert error_of(info)[0] == "MissingParameter"
    assert info.value.response["Error"]["Message"] == "The request must contain the parameter Tags."
    with pytest.raises(ClientError) as info:
        sqs.untag_queue(QueueUrl=url, TagKeys=[])
    assert error_of(info)[0] == "InvalidParameterValue"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}


def test_queue_url_with_any_host_is_accepted(sqs: Any) -> None:
    name = unique()
    sqs.create_queue(QueueName=name)
    other = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    sqs.send_message(QueueUrl=other, MessageBody="via another host")
    assert sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl="not-a-url", MessageBody="x")


def test_a_bare_queue_name_is_accepted_as_the_queue_url(sqs: Any) -> None:
    """SQS resolves a queue name given as QueueUrl to that queue of the caller's account."""
    name = unique()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sent = sqs.send_message(QueueUrl=name, MessageBody="by name")
    message = sqs.receive_message(QueueUrl=name, WaitTimeSeconds=1)["Messages"][0]
    assert message["MessageId"] == sent["MessageId"]
    sqs.delete_message(QueueUrl=name, ReceiptHandle=message["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl=name, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"] == (
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")
    sqs.delete_queue(QueueUrl=name)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_attributes(QueueUrl=url)
    assert error_of(info) == ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
    for bad in (unique("missing"), "bad name", f"{ACCOUNT}/{name}"):
        with pytest.raises(sqs.exceptions.QueueDoesNotExist):
            sqs.send_message(QueueUrl=bad, MessageBody="x")


def test_aws_cli(server: ServerProcess) -> None:
    env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "credentials"),
           "AWS_PROFILE": "cipherpost", "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull}
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)

    def cli(*args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", "awscli", "sqs", *args, "--endpoint-url", server.url,
                              "--output", "json"], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else None

    name = unique("cli")
    url = cli("create-queue", "--queue-name", name)["QueueUrl"]
    sent = cli("send-message", "--queue-url", url, "--message-body", "from the cli")
    received = cli("receive-message", "--queue-url", url, "--wait-time-seconds", "1")["Messages"]
    assert received[0]["MessageId"] == sent["MessageId"]
    assert received[0]["Body"] == "from the cli"
    cli("delete-message", "--queue-url", url, "--receipt-handle", received[0]["ReceiptHandle"])
    cli("delete-queue", "--queue-url", url)
