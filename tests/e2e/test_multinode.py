"""Two `cipherpost serve` nodes on one PostgreSQL database (``CIPHERPOST_TEST_BACKEND=postgres``):
a long poll on one node wakes when the other sends (LISTEN/NOTIFY), a queue policy set on one
node is enforced on the other without waiting for its queue cache to expire, a KMS key
disabled on one node stops the data keys the other has cached, and SNS topic and subscription
changes made on one node apply to the other's next Publish."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import BACKEND, ServerProcess, launch

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="several nodes share a PostgreSQL database")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Nodes A and B: one data directory (so one root keyring), one database, two processes."""
    data_dir = tmp_path_factory.mktemp("multinode") / "data"
    node_a = launch(data_dir)
    node_b = launch(data_dir)  # database_args: the same database for the same data directory
    yield node_a, node_b
    node_b.stop()
    node_a.stop()


def code_of(call: Any, **params: Any) -> str | None:
    try:
        call(**params)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def test_long_poll_on_one_node_wakes_when_another_sends(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    node_a, node_b = nodes
    sqs_a, sqs_b = node_a.client("sqs"), node_b.client("sqs")
    url = sqs_a.create_queue(QueueName=f"mn-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    result: dict[str, Any] = {}

    def wait() -> None:
        started = time.monotonic()
        result["messages"] = sqs_a.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        result["elapsed"] = time.monotonic() - started

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(1.0)  # the waiter is parked on node A
    sqs_b.send_message(QueueUrl=url, MessageBody="from node B")
    waiter.join(30)
    assert [message["Body"] for message in result["messages"]] == ["from node B"]
    assert result["elapsed"] < 10, result  # woken by the notification, not by the 20 s deadline


def test_policy_set_on_one_node_is_enforced_on_the_other(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    node_a, node_b = nodes
    sqs_a, sqs_b = node_a.client("sqs"), node_b.client("sqs")
    url = sqs_a.create_queue(QueueName=f"mn-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs_a.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs_a.send_message(QueueUrl=url, MessageBody="allowed")  # node A caches the queue record now
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn}]}
    sqs_b.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(deny)})
    time.sleep(0.3)  # well under the queue cache's 2 s expiry
    assert code_of(sqs_a.send_message, QueueUrl=url, MessageBody="denied") == "AccessDenied"


def test_key_disabled_on_one_node_stops_data_keys_cached_on_the_other(
        nodes: tuple[ServerProcess, ServerProcess]) -> None:
    node_a, node_b = nodes
    sqs_a = node_a.client("sqs")
    key_id = node_b.client("kms").create_key()["KeyMetadata"]["KeyId"]
    url = sqs_a.create_queue(QueueName=f"mn-{uuid.uuid4().hex[:8]}", Attributes={"KmsMasterKeyId": key_id})[
        "QueueUrl"]
    sqs_a.send_message(QueueUrl=url, MessageBody="cached")  # node A caches a data key
    node_b.client("kms").disable_key(KeyId=key_id)
    time.sleep(0.3)
    assert code_of(sqs_a.send_message, QueueUrl=url, MessageBody="x") == "KmsDisabled"


def test_sns_topic_changes_on_one_node_apply_on_the_other(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    """Node A keeps the topic and its subscriptions in memory for Publish; changes made on
    node B reach it (the topic cache's notification), well before the cache would expire."""
    node_a, node_b = nodes
    sns_a, sns_b, sqs_a = node_a.client("sns"), node_b.client("sns"), node_a.client("sqs")
    topic_arn = sns_a.create_topic(Name=f"mn-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url = sqs_a.create_queue(QueueName=f"mn-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs_a.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs_a.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
         "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})})
    subscription = sns_a.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                                   Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    sns_a.publish(TopicArn=topic_arn, Message="cached")  # node A now holds the topic and its subscriptions
    sns_b.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy",
                                      AttributeValue=json.dumps({"kind": ["x"]}))
    time.sleep(0.3)  # well under the topic cache's 2 s expiry
    sns_a.publish(TopicArn=topic_arn, Message="filtered out")
    sns_a.publish(TopicArn=topic_arn, Message="matches", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "x"}})
    bodies: list[str] = []
    deadline = time.monotonic() + 20
    while "matches" not in bodies and time.monotonic() < deadline:
        batch = sqs_a.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
        bodies += [message["Body"] for message in batch]
    assert sorted(bodies) == ["cached", "matches"]
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": topic_arn}]}
    sns_b.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(deny))
    time.sleep(0.3)
    assert code_of(sns_a.publish, TopicArn=topic_arn, Message="denied") == "AuthorizationError"
