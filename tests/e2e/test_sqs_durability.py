"""Durability: messages and in-flight state survive a restart and a kill -9 under load."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e_support import ServerProcess

Start = Callable[..., ServerProcess]


def drain(sqs: Any, url: str, *, wait: int = 1) -> dict[str, str]:
    """Receive and delete every visible message: message id -> body."""
    seen: dict[str, str] = {}
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
                                  VisibilityTimeout=120).get("Messages", [])
        if not got:
            return seen
        for message in got:
            seen[message["MessageId"]] = message["Body"]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(got)])


def test_restart_keeps_messages_and_returns_in_flight_ones(fresh_server: Start, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = fresh_server(data_dir=data_dir)
    sqs = first.client("sqs")
    url = sqs.create_queue(QueueName="durable")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(4)])
    in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=3)["Messages"]
    deleted = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=deleted["ReceiptHandle"])
    assert first.stop() == 0
    second = fresh_server(data_dir=data_dir)
    sqs = second.client("sqs")
    url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
    time.sleep(3.2)
    bodies = drain(sqs, url)
    assert sorted(bodies.values()) == sorted({f"m{i}" for i in range(4)} - {deleted["Body"]})
    assert {message["MessageId"] for message in in_flight} <= set(bodies)


def test_kill_9_under_send_load_loses_no_acknowledged_message(fresh_server: Start, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = fresh_server(data_dir=data_dir)
    url = server.client("sqs").create_queue(QueueName="crash")["QueueUrl"]
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def sender(lane: int) -> None:
        sqs = server.client("sqs")
        counter = 0
        while not stop.is_set():
            counter += 1
            body = f"{lane}-{counter}"
            try:
                if counter % 2:
                    result = sqs.send_message(QueueUrl=url, MessageBody=body)
                    done = {result["MessageId"]: body}
                else:
                    entries = [{"Id": f"b{i}", "MessageBody": f"{body}-{i}"} for i in range(3)]
                    batch = sqs.send_message_batch(QueueUrl=url, Entries=entries)
                    by_id = {entry["Id"]: entry["MessageBody"] for entry in entries}
                    done = {item["MessageId"]: by_id[item["Id"]] for item in batch["Successful"]}
            except Exception:
                return
            with lock:
                acknowledged.update(done)

    threads = [threading.Thread(target=sender, args=(lane,)) for lane in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert len(acknowledged) >= 400
    restarted = fresh_server(data_dir=data_dir)
    sqs = restarted.client("sqs")
    found = drain(sqs, sqs.get_queue_url(QueueName="crash")["QueueUrl"])
    missing = {message_id: body for message_id, body in acknowledged.items() if found.get(message_id) != body}
    assert missing == {}
