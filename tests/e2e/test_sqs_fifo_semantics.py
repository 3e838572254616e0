"""FIFO queue semantics as AWS shows them: per-message delay, purge and deduplication,
group order and locking, long polls woken by a group unlocking, receipt handle expiry, and
batch sends missing their FIFO ids. Each test names the AWS behaviour it pins down."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from e2e_support import ServerProcess, fails


@pytest.fixture(scope="module")
def sqs(server: ServerProcess) -> Any:
    return server.client("sqs")


def fifo_queue(sqs: Any, **attributes: str) -> str:
    name = f"fs-{uuid.uuid4().hex[:12]}.fifo"
    return str(sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true", **attributes})["QueueUrl"])


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [str(message["Body"]) for message in messages]


def receive(sqs: Any, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    return list(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **kwargs).get("Messages", []))


def test_per_message_delay_zero_is_accepted_and_the_queue_delay_applies(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="now", MessageGroupId="g", DelaySeconds=0)
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "batched", "MessageGroupId": "g", "DelaySeconds": 0}])
    assert [entry["Id"] for entry in batch["Successful"]] == ["a"] and not batch.get("Failed")
    assert bodies(receive(sqs, url)) == ["now", "batched"]
    delayed = fifo_queue(sqs, ContentBasedDeduplication="true", DelaySeconds="1")
    sqs.send_message(QueueUrl=delayed, MessageBody="later", MessageGroupId="g", DelaySeconds=0)
    assert receive(sqs, delayed) == []
    assert bodies(receive(sqs, delayed, WaitTimeSeconds=3)) == ["later"]
    fails(sqs.send_message, "InvalidParameterValue", QueueUrl=url, MessageBody="x", MessageGroupId="g",
          DelaySeconds=1)


def test_purge_forgets_deduplication_ids(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    first = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.send_message(QueueUrl=url, MessageBody="by-content", MessageGroupId="g")
    sqs.purge_queue(QueueUrl=url)
    again = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.send_message(QueueUrl=url, MessageBody="by-content", MessageGroupId="g")
    assert again["MessageId"] != first["MessageId"]
    assert bodies(receive(sqs, url)) == ["same", "by-content"]
