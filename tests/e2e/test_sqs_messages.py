"""SQS messages end to end with boto3: send, receive, delete, visibility, batches, long polling, purge."""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess


def unique(prefix: str = "m") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def code_of(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def attributes_md5(attributes: dict[str, dict[str, Any]]) -> str:
    """An independent implementation of AWS's message-attribute digest (SQS Developer Guide)."""
    def chunk(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data
    out = b""
    for name in sorted(attributes):
        value = attributes[name]
        out += chunk(name.encode()) + chunk(value["DataType"].encode())
        if "BinaryValue" in value:
            out += b"\x02" + chunk(value["BinaryValue"])
        else:
            out += b"\x01" + chunk(value["StringValue"].encode())
    return hashlib.md5(out).hexdigest()


@pytest.fixture(scope="module")
def sqs(server: ServerProcess) -> Any:
    return server.client("sqs")


@pytest.fixture
def queue(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=unique())["QueueUrl"])


def test_send_receive_delete_with_digests(sqs: Any, queue: str) -> None:
    attributes = {"city": {"DataType": "String", "StringValue": "Zürich"},
                  "count": {"DataType": "Number.int", "StringValue": "42"},
                  "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}}
    body = "héllo wörld ✓"
    sent = sqs.send_message(QueueUrl=queue, MessageBody=body, MessageAttributes=attributes,
                            MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String",
                                                                        "StringValue": "Root=1-abc"}})
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    assert sent["MD5OfMessageAttributes"] == attributes_md5(attributes)
    assert sent["MD5OfMessageSystemAttributes"] == attributes_md5(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}})
    got = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"])
    (message,) = got["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    system = message["Attributes"]
    assert system["SenderId"] == "000000000000"
    assert system["ApproximateReceiveCount"] == "1"
    assert system["AWSTraceHeader"] == "Root=1-abc"
    assert abs(int(system["SentTimestamp"]) - time.time() * 1000) < 60_000
    assert int(system["ApproximateFirstReceiveTimestamp"]) >= int(system["SentTimestamp"])
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)


def test_attribute_selection_and_digest_of_the_subset(sqs: Any, queue: str) -> None:
    attributes = {"a.x": {"DataType": "String", "StringValue": "1"}, "a.y": {"DataType": "String", "StringValue": "2"},
                  "b": {"DataType": "String", "StringValue": "3"}}
    sqs.send_message(QueueUrl=queue, MessageBody="x", MessageAttributes=attributes)
    (message,) = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["a.*"], VisibilityTimeout=0,
                                     AttributeNames=["SentTimestamp"])["Messages"]
    subset = {key: attributes[key] for key in ("a.x", "a.y")}
    assert message["MessageAttributes"] == subset
    assert message["MD5OfMessageAttributes"] == attributes_md5(subset)
    assert set(message["Attributes"]) == {"SentTimestamp"}
    (plain,) = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]
    assert "MessageAttributes" not in plain and "Attributes" not in plain
    # "prefix.*" selects the names that start with the text before ".*", dot or not; "*" all.
    for names, expected in ((["a.x.*"], {"a.x"}), (["a.*", "b.*"], {"a.x", "a.y", "b"}), (["*"], set(attributes)),
                            ([".*"], set(attributes)), (["c.*", "b"], {"b"})):
        (message,) = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=names, VisibilityTimeout=0)[
            "Messages"]
        assert set(message.get("MessageAttributes", {})) == expected, names
        assert message["MD5OfMessageAttributes"] == attributes_md5({key: attributes[key] for key in expected})


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"MessageBody": "bad \x00 char"}, "InvalidMessageContents"),
    ({"MessageBody": "x" * (1048576 + 1)}, "InvalidParameterValue"),
    ({"MessageBody": ""}, "MissingParameter"),
    ({"MessageBody": "x", "DelaySeconds": 901}, "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageAttributes": {"AWS.reserved": {"DataType": "String", "StringValue": "v"}}},
     "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "NaN"}}},
     "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageAttributes": {"t": {"DataType": "Text", "StringValue": "v"}}},
     "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageAttributes": {f"a{i}": {"DataType": "String", "StringValue": "v"}
                                                for i in range(11)}}, "InvalidParameterValue"),
    ({"MessageBody": "x", "MessageDeduplicationId": "d"}, "InvalidParameterValue"),
])
def test_send_message_validation(sqs: Any, queue: str, kwargs: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=queue, **kwargs)
    assert code_of(info) == code
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invalid_contents_is_the_modelled_exception(sqs: Any, queue: str) -> None:
    with pytest.raises(sqs.exceptions.InvalidMessageContents):
        sqs.send_message(QueueUrl=queue, MessageBody="\ufffe")


def test_maximum_message_size_of_the_queue(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique(), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1000,
                         MessageAttributes={"big": {"DataType": "String", "StringValue": "y" * 100}})
    assert code_of(info) == "InvalidParameterValue"


def test_send_message_batch(sqs: Any, queue: str) -> None:
    result = sqs.send_message_batch(QueueUrl=queue, Entries=[
        {"Id": "ok-1", "MessageBody": "one"},
        {"Id": "bad", "MessageBody": "\x01"},
        {"Id": "ok_2", "MessageBody": "two", "DelaySeconds": 0,
         "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
    ])
    assert sorted(entry["Id"] for entry in result["Successful"]) == ["ok-1", "ok_2"]
    (failed,) = result["Failed"]
    assert failed["Id"] == "bad" and failed["Code"] == "InvalidMessageContents" and failed["SenderFault"] is True
    bodies = set()
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            bodies.add(message["Body"])
    assert bodies == {"one", "two"}


@pytest.mark.parametrize(("entries", "exception", "code"), [
    ([], "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest"),
    ([{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)], "TooManyEntriesInBatchRequest",
     "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"),
    ([{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}], "BatchEntryIdsNotDistinct",
     "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"),
    ([{"Id": "bad id!", "MessageBody": "x"}], "InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId"),
    ([{"Id": f"e{i}", "MessageBody": "x" * 200_000} for i in range(6)], "BatchRequestTooLong",
     "AWS.SimpleQueueService.BatchRequestTooLong"),
])
def test_batch_request_errors(sqs: Any, queue: str, entries: list[dict[str, Any]], exception: str,
                              code: str) -> None:
    with pytest.raises(getattr(sqs.exceptions, exception)) as info:
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert code_of(info) == code


def test_batch_with_repeated_ids_names_the_first_repeat(sqs: Any, queue: str) -> None:
    entries = [{"Id": entry_id, "MessageBody": "x"} for entry_id in ("id_1", "id_2", "id_2", "id_1")]
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct) as info:
        sqs.send_message_batch(QueueUrl=queue, Entries=entries)
    assert info.value.response["Error"]["Message"] == "Id id_2 repeated."


def test_batch_size_limit_is_one_mebibyte_of_all_entries(sqs: Any) -> None:
    """The batch limit counts every entry as sent, even one too large on its own, and is 1 MiB
    whatever the queue's MaximumMessageSize (which still limits each message)."""
    url = sqs.create_queue(QueueName=unique(), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with pytest.raises(sqs.exceptions.BatchRequestTooLong) as info:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "big", "MessageBody": "b" * 1048577}])
    assert info.value.response["Error"]["Message"] == (
        "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.")
    attributes = {"k": {"DataType": "String", "StringValue": "x"}}
    with pytest.raises(sqs.exceptions.BatchRequestTooLong):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "one", "MessageBody": "a" * 1048561, "MessageAttributes": attributes},
            {"Id": "two", "MessageBody": "a" * 8}])
    result = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "one", "MessageBody": "a" * 1015, "MessageAttributes": attributes},
        {"Id": "two", "MessageBody": "a" * 1000},
        {"Id": "three", "MessageBody": "a" * 1025}])
    assert sorted(entry["Id"] for entry in result["Successful"]) == ["one", "two"]
    assert [(entry["Id"], entry["Code"]) for entry in result["Failed"]] == [("three", "InvalidParameterValue")]


def test_visibility_timeout_expiry_and_receive_count(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="again")
    first = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=1, AttributeNames=["All"])["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    second = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5, AttributeNames=["All"])["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["Attributes"]["ApproximateFirstReceiveTimestamp"] == first["Attributes"][
        "ApproximateFirstReceiveTimestamp"]
    # Standard queue: a stale receipt handle still deletes (AWS: "might not be deleted").
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=first["ReceiptHandle"])
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_change_message_visibility(sqs: Any, queue: str) -> None:
    sqs.send_message(QueueUrl=queue, MessageBody="v")
    message = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"][0]
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"][0]
    assert again["MessageId"] == message["MessageId"]
    with pytest.raises(ClientError) as info:
        sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=again["ReceiptHandle"], VisibilityTimeout=43201)
    assert code_of(info) == "InvalidParameterValue"
    result = sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[
        {"Id": "good", "ReceiptHandle": again["ReceiptHandle"], "VisibilityTimeout": 0},
        {"Id": "bad", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
    ])
    assert [entry["Id"] for entry in result["Successful"]] == ["good"]
    assert result["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    visible = sqs.receive_message(QueueUrl=queue)["Messages"][0]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=visible["ReceiptHandle"])
    sqs.send_message(QueueUrl=queue, MessageBody="w")
    fresh = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]
    # Standard queue: AWS accepts a change after the visibility timeout ended (or with an older
    # handle of a message received again), and the message is hidden again.
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=fresh["ReceiptHandle"], VisibilityTimeout=5)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue)
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=fresh["ReceiptHandle"], VisibilityTimeout=0)
    newest = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"][0]
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=fresh["ReceiptHandle"], VisibilityTimeout=0)
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["MessageId"] == newest["MessageId"]


def test_invalid_receipt_handle(sqs: Any, queue: str) -> None:
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid) as info:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle="not-a-receipt")
    assert code_of(info) == "ReceiptHandleIsInvalid"


def test_delete_message_batch(sqs: Any, queue: str) -> None:
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"e{i}", "MessageBody": str(i)} for i in range(3)])
    handles = []
    for _ in range(5):
        handles += [m["ReceiptHandle"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                                                     VisibilityTimeout=30).get("Messages", [])]
        if len(handles) == 3:
            break
    entries = [{"Id": f"d{i}", "ReceiptHandle": handle} for i, handle in enumerate(handles)]
    entries.append({"Id": "bad", "ReceiptHandle": "nope"})
    result = sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
    assert len(result["Successful"]) == 3 and result["Failed"][0]["Id"] == "bad"
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_delay_seconds_per_message_and_per_queue(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique(), Attributes={"DelaySeconds": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=url, MessageBody="no delay", DelaySeconds=0)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    assert counts["ApproximateNumberOfMessages"] == "1"
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "no delay"
    started = time.monotonic()
    delayed = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
    assert delayed["Body"] == "queue delay"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"MaxNumberOfMessages": 11}, "InvalidParameterValue"),
    ({"MaxNumberOfMessages": 0}, "InvalidParameterValue"),
    ({"WaitTimeSeconds": 21}, "InvalidParameterValue"),
    ({"VisibilityTimeout": 43201}, "InvalidParameterValue"),
])
def test_receive_parameter_ranges(sqs: Any, queue: str, kwargs: dict[str, int], code: str) -> None:
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=queue, **kwargs)
    assert code_of(info) == code


def test_long_poll_returns_as_soon_as_a_message_arrives(sqs: Any, server: ServerProcess, queue: str) -> None:
    sender = server.client("sqs")
    timer = threading.Timer(1.0, lambda: sender.send_message(QueueUrl=queue, MessageBody="arrived"))
    started = time.monotonic()
    timer.start()
    try:
        got = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)
    finally:
        timer.join()
    elapsed = time.monotonic() - started
    assert got["Messages"][0]["Body"] == "arrived"
    assert 0.9 <= elapsed < 5


def test_long_poll_times_out_empty(sqs: Any, queue: str) -> None:
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)
    assert 0.9 <= time.monotonic() - started < 5


def test_queue_default_wait_time(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique(), Attributes={"ReceiveMessageWaitTimeSeconds": "1"})["QueueUrl"]
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert time.monotonic() - started >= 0.9


def test_many_concurrent_waiters_each_get_one(server: ServerProcess, queue: str) -> None:
    waiters = 24
    clients = [server.client("sqs", max_pool_connections=2) for _ in range(waiters)]

    def wait(index: int) -> list[str]:
        got = clients[index].receive_message(QueueUrl=queue, WaitTimeSeconds=15, VisibilityTimeout=60)
        return [message["Body"] for message in got.get("Messages", [])]

    with ThreadPoolExecutor(max_workers=waiters) as pool:
        futures = [pool.submit(wait, index) for index in range(waiters)]
        time.sleep(1.0)
        started = time.monotonic()
        sender = server.client("sqs")
        for start in range(0, waiters, 10):
            sender.send_message_batch(QueueUrl=queue, Entries=[
                {"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(start, min(start + 10, waiters))])
        bodies = [body for future in futures for body in future.result(timeout=30)]
        elapsed = time.monotonic() - started
    assert sorted(bodies) == sorted(f"m{i}" for i in range(waiters))
    assert elapsed < 10


def test_purge_queue(sqs: Any, queue: str) -> None:
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": f"e{i}", "MessageBody": "x"} for i in range(5)])
    sqs.purge_queue(QueueUrl=queue)
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as info:
        sqs.purge_queue(QueueUrl=queue)
    assert code_of(info) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    sqs.send_message(QueueUrl=queue, MessageBody="after purge")
    assert sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"] == "after purge"


def test_retention_expiry(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=unique(), Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["Body"] == "kept"
