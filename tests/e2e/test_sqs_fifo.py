"""FIFO queues, dead-letter queues and message move tasks end to end with boto3."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess


def unique(prefix: str = "f") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def sqs(server: ServerProcess) -> Any:
    return server.client("sqs")


def fifo_queue(sqs: Any, **attributes: str) -> str:
    return str(sqs.create_queue(QueueName=unique() + ".fifo", Attributes={"FifoQueue": "true", **attributes})[
        "QueueUrl"])


def arn_of(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def test_fifo_order_within_group_and_sequence_numbers(sqs: Any) -> None:
    url = fifo_queue(sqs)
    sequence = []
    for index in range(5):
        sent = sqs.send_message(QueueUrl=url, MessageBody=f"m{index}", MessageGroupId="g",
                                MessageDeduplicationId=f"d{index}")
        sequence.append(int(sent["SequenceNumber"]))
    assert sequence == sorted(sequence) and len(set(sequence)) == 5
    # "The large, non-consecutive number that Amazon SQS assigns to each message" (20 digits).
    assert all(len(str(number)) == 20 for number in sequence) and sequence[1] - sequence[0] > 1
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    assert got[0]["Attributes"]["MessageGroupId"] == "g"
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "d0"
    assert int(got[0]["Attributes"]["SequenceNumber"]) == sequence[0]
    # One in-flight batch per group: nothing more from "g" until these are deleted or visible.
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    for message in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["m3", "m4"]


def test_groups_are_independent(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in second] == ["b1"]


def test_deduplication_explicit_and_content_based(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    one = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    two = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    three = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g", MessageDeduplicationId="other")
    assert one["MessageId"] == two["MessageId"] and one["SequenceNumber"] == two["SequenceNumber"]
    assert three["MessageId"] != one["MessageId"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(got) == 2


def test_deduplication_scope_message_group(sqs: Any) -> None:
    url = fifo_queue(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    a = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="a", MessageDeduplicationId="d")
    b = sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="b", MessageDeduplicationId="d")
    assert a["MessageId"] != b["MessageId"]


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"MessageBody": "x"}, "MissingParameter"),
    ({"MessageBody": "x", "MessageGroupId": "g"}, "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": "d", "DelaySeconds": 5},
     "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageGroupId": "bad group", "MessageDeduplicationId": "d"}, "InvalidParameterValue"),
])
def test_fifo_send_errors(sqs: Any, kwargs: dict[str, Any], code: str) -> None:
    url = fifo_queue(sqs)
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, **kwargs)
    assert info.value.response["Error"]["Code"] == code


@pytest.mark.parametrize(("content_based", "missing", "message"), [
    ("false", "MessageGroupId", "The request must contain the parameter MessageGroupId."),
    ("true", "MessageGroupId", "The request must contain the parameter MessageGroupId."),
    ("false", "MessageDeduplicationId", "The queue should either have ContentBasedDeduplication enabled or "
                                        "MessageDeduplicationId provided explicitly"),
])
def test_fifo_batch_entry_without_an_id_fails_the_whole_request(sqs: Any, content_based: str, missing: str,
                                                                message: str) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication=content_based)
    good = {"Id": "good", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "d1"}
    bad = {"Id": "bad", "MessageBody": "b", "MessageGroupId": "g", "MessageDeduplicationId": "d2"}
    del bad[missing]
    with pytest.raises(ClientError) as info:
        sqs.send_message_batch(QueueUrl=url, Entries=[good, bad])
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert info.value.response["Error"]["Message"] == message
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    # Other entry errors still fail only their entry.
    result = sqs.send_message_batch(QueueUrl=url, Entries=[good, {**good, "Id": "bad", "MessageGroupId": "a b"}])
    assert [entry["Id"] for entry in result["Successful"]] == ["good"]
    assert [(entry["Id"], entry["Code"]) for entry in result["Failed"]] == [("bad", "InvalidParameterValue")]


def test_fifo_delay_seconds_zero_leaves_the_queue_delay(sqs: Any) -> None:
    """On a FIFO queue a per-message DelaySeconds of 0 is accepted (sending and in a batch)
    and the queue's own DelaySeconds still applies; any other per-message value is refused."""
    url = fifo_queue(sqs, ContentBasedDeduplication="true", DelaySeconds="2")
    sent = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g", DelaySeconds=0)
    assert "SequenceNumber" in sent
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "two", "MessageBody": "two", "MessageGroupId": "g", "DelaySeconds": 0}])
    assert [entry["Id"] for entry in batch["Successful"]] == ["two"] and not batch.get("Failed")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "2"
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
    assert received[0]["Body"] == "one"
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", DelaySeconds=1)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_receive_request_attempt_id_returns_the_same_messages(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-1")["Messages"]
    again = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="attempt-1")["Messages"]
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in again] == [
        (m["MessageId"], m["ReceiptHandle"]) for m in first]


def test_fifo_stale_receipt_handle_does_not_delete(sqs: Any) -> None:
    url = fifo_queue(sqs, ContentBasedDeduplication="true")
    sqs.send_message(QueueUrl=url, MessageBody="keep", MessageGroupId="g")
    old = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    new = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]
    with pytest.raises(ClientError) as info:  # AWS: "The receipt handle has expired."
        sqs.delete_message(QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])


def test_dead_letter_queue_redrive_and_sources(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq_arn = arn_of(sqs, dlq)
    source = sqs.create_queue(QueueName=unique("src"), Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["RedrivePolicy"])["Attributes"][
        "RedrivePolicy"])
    assert policy == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=source, VisibilityTimeout=0)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in sqs.receive_message(QueueUrl=source)
    moved = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, source)
    sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=moved["ReceiptHandle"], VisibilityTimeout=0)
    # Redrive back to the source with a message move task.
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        if task["Status"] == "COMPLETED":
            break
        time.sleep(0.1)
    assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 1
    back = sqs.receive_message(QueueUrl=source, AttributeNames=["All"])["Messages"][0]
    assert back["MessageId"] == sent["MessageId"] and back["Attributes"]["ApproximateReceiveCount"] == "1"
    with pytest.raises(ClientError):
        sqs.cancel_message_move_task(TaskHandle=handle)
    with pytest.raises(ClientError) as info:
        sqs.start_message_move_task(SourceArn=arn_of(sqs, source))
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_redrive_policy_checks_the_target(sqs: Any) -> None:
    fifo_dlq = fifo_queue(sqs)
    denying = sqs.create_queue(QueueName=unique("deny"), Attributes={
        "RedriveAllowPolicy": json.dumps({"redrivePermission": "denyAll"})})["QueueUrl"]
    for target in (arn_of(sqs, fifo_dlq), arn_of(sqs, denying)):
        with pytest.raises(sqs.exceptions.InvalidAttributeValue):
            sqs.create_queue(QueueName=unique("src"), Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": 1})})
    with pytest.raises(sqs.exceptions.InvalidAttributeValue):
        sqs.create_queue(QueueName=unique("src"), Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of(sqs, denying), "maxReceiveCount": 1001})})


# Recorded against AWS (test_fifo_change_to_high_throughput_after_creation and
# _to_regular_throughput_after_creation): an id sent before the DeduplicationScope changed
# keeps deduplicating what it covered then; ids sent only in other groups do not start to.
def test_deduplication_ids_outlive_a_scope_change(sqs: Any) -> None:
    url = fifo_queue(sqs, DeduplicationScope="queue")
    first = sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g1", MessageDeduplicationId="d")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DeduplicationScope": "messageGroup",
                                                       "FifoThroughputLimit": "perMessageGroupId"})
    for group in ("g1", "g2"):
        again = sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId=group, MessageDeduplicationId="d")
        assert (again["MessageId"], again["SequenceNumber"]) == (first["MessageId"], first["SequenceNumber"])
    grouped = fifo_queue(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    first = sqs.send_message(QueueUrl=grouped, MessageBody="1", MessageGroupId="g1", MessageDeduplicationId="d")
    sqs.set_queue_attributes(QueueUrl=grouped, Attributes={"DeduplicationScope": "queue",
                                                           "FifoThroughputLimit": "perQueue"})
    assert sqs.send_message(QueueUrl=grouped, MessageBody="2", MessageGroupId="g1",
                            MessageDeduplicationId="d")["MessageId"] == first["MessageId"]
    other = sqs.send_message(QueueUrl=grouped, MessageBody="3", MessageGroupId="g2", MessageDeduplicationId="d")
    assert other["MessageId"] != first["MessageId"]
    assert sqs.send_message(QueueUrl=grouped, MessageBody="4", MessageGroupId="g3",
                            MessageDeduplicationId="d")["MessageId"] == other["MessageId"]
    got = sqs.receive_message(QueueUrl=grouped, MaxNumberOfMessages=10)["Messages"]
    assert sorted(message["Body"] for message in got) == ["1", "3"]
