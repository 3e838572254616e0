"""FIFO queue semantics as AWS shows them: per-message delay, purge and deduplication,
group order and locking, long polls woken by a group unlocking, receipt handle expiry, and
batch sends missing their FIFO ids. Each test names the AWS behaviour it pins down."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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
    kwargs.setdefault("MaxNumberOfMessages", 10)
    return list(sqs.receive_message(QueueUrl=url, **kwargs).get("Messages", []))


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


def send_all(sqs: Any, url: str, *pairs: tuple[str, str]) -> None:
    """Send (group, body) pairs in order; the body is also the deduplication id."""
    for group, body in pairs:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)


def test_a_receive_fills_the_batch_one_group_at_a_time(sqs: Any) -> None:
    url = fifo_queue(sqs)
    send_all(sqs, url, ("g1", "g1-m1"), ("g2", "g2-m1"), ("g1", "g1-m2"), ("g1", "g1-m3"), ("g3", "g3-m1"))
    assert bodies(receive(sqs, url)) == ["g1-m1", "g1-m2", "g1-m3", "g2-m1", "g3-m1"]
    other = fifo_queue(sqs)
    send_all(sqs, other, ("g1", "g1-m1"), ("g2", "g2-m1"), ("g1", "g1-m2"), ("g2", "g2-m2"), ("g1", "g1-m3"))
    assert bodies(receive(sqs, other, MaxNumberOfMessages=4)) == ["g1-m1", "g1-m2", "g1-m3", "g2-m1"]


def test_a_zero_visibility_timeout_does_not_lock_the_group(sqs: Any) -> None:
    url = fifo_queue(sqs)
    send_all(sqs, url, ("g", "m1"), ("g", "m2"), ("h", "n1"))
    for _ in range(2):
        got = receive(sqs, url, VisibilityTimeout=0, AttributeNames=["All"])
        assert bodies(got) == ["m1", "m2", "n1"]
    assert [message["Attributes"]["ApproximateReceiveCount"] for message in got] == ["2", "2", "2"]
    assert bodies(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]) == ["m1"]
    # "g" came back after "h" did (AWS queues a returning group behind the waiting ones).
    assert bodies(receive(sqs, url)) == ["n1", "m1", "m2"]


def test_a_message_in_flight_holds_back_only_the_newer_messages_of_its_group(sqs: Any) -> None:
    url = fifo_queue(sqs)
    send_all(sqs, url, ("g", "m1"), ("g", "m2"), ("g", "m3"), ("g", "m4"))
    taken = receive(sqs, url, MaxNumberOfMessages=3, VisibilityTimeout=30)
    assert bodies(taken) == ["m1", "m2", "m3"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=taken[0]["ReceiptHandle"])  # a partial delete
    assert receive(sqs, url) == []
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=taken[2]["ReceiptHandle"], VisibilityTimeout=0)
    assert receive(sqs, url) == []  # m2, older than m3, is still in flight
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=taken[1]["ReceiptHandle"], VisibilityTimeout=0)
    again = receive(sqs, url)
    assert bodies(again) == ["m2", "m3", "m4"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(receive(sqs, url)) == ["m2"]  # m3 and m4 are still in flight


# Recorded against AWS (LocalStack's test_fifo_message_group_visibility_after_terminate_visibility_timeout
# and _after_change_message_visibility): the group serves its visible older message although a
# newer one is in flight, and comes after the group that waited meanwhile.
@pytest.mark.parametrize("timeout", [0, 1])
def test_a_group_serves_its_message_that_became_visible_again(sqs: Any, timeout: int) -> None:
    url = fifo_queue(sqs, VisibilityTimeout="30")
    send_all(sqs, url, ("g1", "g1-m1"), ("g1", "g1-m2"), ("g2", "g2-m1"))
    taken = receive(sqs, url, MaxNumberOfMessages=2)
    assert bodies(taken) == ["g1-m1", "g1-m2"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=taken[0]["ReceiptHandle"], VisibilityTimeout=timeout)
    time.sleep(timeout * 1.2)
    assert bodies(receive(sqs, url, MaxNumberOfMessages=3)) == ["g2-m1", "g1-m1"]


# Recorded against AWS (test_fifo_group_visibility_extends_with_change_message_visibility): of
# three messages received together, the one whose timeout was extended holds back the newer ones.
@pytest.mark.parametrize(("extended", "expected"), [(0, []), (1, ["foo"]), (2, ["foo", "bar"])])
def test_an_extended_message_holds_back_the_newer_ones(sqs: Any, extended: int, expected: list[str]) -> None:
    url = fifo_queue(sqs, VisibilityTimeout="1")
    send_all(sqs, url, ("g", "foo"), ("g", "bar"), ("g", "baz"))
    taken = receive(sqs, url, MaxNumberOfMessages=5)
    assert bodies(taken) == ["foo", "bar", "baz"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=taken[extended]["ReceiptHandle"], VisibilityTimeout=4)
    time.sleep(2.2)
    assert bodies(receive(sqs, url, MaxNumberOfMessages=5)) == expected


# Recorded against AWS (test_fifo_receive_message_visibility_timeout_shared_in_group and
# _with_zero_visibility_timeout): groups whose visibility timeout ended come back behind the
# group never received, in the order they came back.
def test_returning_groups_queue_up_behind_the_waiting_ones(sqs: Any) -> None:
    url = fifo_queue(sqs, VisibilityTimeout="1")
    send_all(sqs, url, ("g1", "g1-m1"), ("g1", "g1-m2"), ("g1", "g1-m3"), ("g2", "g2-m1"), ("g3", "g3-m1"))
    assert bodies(receive(sqs, url, MaxNumberOfMessages=2)) == ["g1-m1", "g1-m2"]
    assert bodies(receive(sqs, url, MaxNumberOfMessages=1)) == ["g2-m1"]
    time.sleep(1.5)
    assert bodies(receive(sqs, url, VisibilityTimeout=0)) == ["g3-m1", "g1-m1", "g1-m2", "g1-m3", "g2-m1"]
    zero = fifo_queue(sqs)
    send_all(sqs, zero, ("g1", "g1-m1"), ("g2", "g2-m1"), ("g2", "g2-m2"), ("g3", "g3-m1"), ("g1", "g1-m2"))
    assert bodies(receive(sqs, zero, MaxNumberOfMessages=3, VisibilityTimeout=0)) == ["g1-m1", "g1-m2", "g2-m1"]
    assert bodies(receive(sqs, zero, VisibilityTimeout=0)) == ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"]


def test_the_group_comes_back_in_order_when_its_visibility_timeout_ends(sqs: Any) -> None:
    url = fifo_queue(sqs)
    send_all(sqs, url, ("g", "m1"), ("g", "m2"), ("h", "n1"))
    first = receive(sqs, url, MaxNumberOfMessages=1, VisibilityTimeout=1)
    assert bodies(first) == ["m1"]
    assert bodies(receive(sqs, url, VisibilityTimeout=1)) == ["n1"]
    time.sleep(1.2)
    assert bodies(receive(sqs, url)) == ["m1", "m2", "n1"]


def test_change_message_visibility_extends_the_group_lock(sqs: Any) -> None:
    url = fifo_queue(sqs)
    send_all(sqs, url, ("g", "m1"), ("g", "m2"))
    (head,) = receive(sqs, url, MaxNumberOfMessages=1, VisibilityTimeout=1)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"], VisibilityTimeout=3)
    time.sleep(1.2)
    assert receive(sqs, url) == []
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"], VisibilityTimeout=0)
    assert bodies(receive(sqs, url)) == ["m1", "m2"]


def test_a_delayed_message_holds_back_the_newer_messages_of_its_group(sqs: Any) -> None:
    url = fifo_queue(sqs, DelaySeconds="1")
    send_all(sqs, url, ("g", "m1"))
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    send_all(sqs, url, ("g", "m2"), ("h", "n1"))
    assert bodies(receive(sqs, url, VisibilityTimeout=0)) == ["n1"]
    time.sleep(1.1)
    assert bodies(receive(sqs, url)) == ["n1", "m1", "m2"]  # "h" was back before m1's delay ended


@pytest.mark.parametrize("unlock", ["delete", "delete_batch", "visibility_zero"])
def test_a_long_poll_wakes_when_its_group_unlocks(sqs: Any, server: ServerProcess, unlock: str) -> None:
    url = fifo_queue(sqs)
    send_all(sqs, url, ("g", "m1"), ("g", "m2"))
    (head,) = receive(sqs, url, MaxNumberOfMessages=1, VisibilityTimeout=30)
    waiter = server.client("sqs")
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        waiting = pool.submit(receive, waiter, url, WaitTimeSeconds=10)
        time.sleep(0.5)
        if unlock == "delete":
            sqs.delete_message(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"])
        elif unlock == "delete_batch":
            sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "a", "ReceiptHandle": head["ReceiptHandle"]}])
        else:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=head["ReceiptHandle"], VisibilityTimeout=0)
        got = waiting.result(timeout=15)
    assert time.monotonic() - started < 5
    assert bodies(got) == (["m2"] if unlock.startswith("delete") else ["m1", "m2"])


def test_an_expired_receipt_handle_cannot_delete_or_change_a_fifo_message(sqs: Any) -> None:
    url = fifo_queue(sqs)
    send_all(sqs, url, ("g", "m1"))
    (old,) = receive(sqs, url, VisibilityTimeout=1)
    time.sleep(1.1)  # expired, not received again
    message = fails(sqs.delete_message, "InvalidParameterValue", QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])
    assert message == (f"Value {old['ReceiptHandle']} for parameter ReceiptHandle is invalid. Reason: The receipt "
                       f"handle has expired.")
    (new,) = receive(sqs, url, VisibilityTimeout=30)
    fails(sqs.delete_message, "InvalidParameterValue", QueueUrl=url, ReceiptHandle=old["ReceiptHandle"])
    batch = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "old", "ReceiptHandle": old["ReceiptHandle"]}])
    assert [entry["Code"] for entry in batch["Failed"]] == ["InvalidParameterValue"]
    fails(sqs.change_message_visibility, "InvalidParameterValue", QueueUrl=url,
          ReceiptHandle=old["ReceiptHandle"], VisibilityTimeout=0)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=new["ReceiptHandle"])  # already gone: no error
    assert receive(sqs, url) == []


# SQS answers InvalidParameterValue for either id in a batch (SendMessage: MissingParameter
# for the group id), as recorded against AWS.
@pytest.mark.parametrize("missing", ["MessageGroupId", "MessageDeduplicationId"])
def test_a_batch_entry_without_its_fifo_ids_fails_the_whole_batch(sqs: Any, missing: str) -> None:
    url = fifo_queue(sqs)
    entries = [{"Id": f"e{index}", "MessageBody": "x", "MessageGroupId": "g", "MessageDeduplicationId": f"d{index}"}
               for index in range(2)]
    del entries[1][missing]
    fails(sqs.send_message_batch, "InvalidParameterValue", QueueUrl=url, Entries=entries)
    assert receive(sqs, url) == []
