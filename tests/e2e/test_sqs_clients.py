"""Real SQS consumer code against Cipherpost, unchanged: kombu's SQS transport (what Celery
uses) and boto3's resource API (a client path of its own: Queue objects, Message.delete),
on SSE queues."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import boto3
import pytest
from e2e_support import REGION, ServerProcess


def kombu_url(server: ServerProcess) -> str:
    host_port = server.url.split("://", 1)[1]
    user = urllib.parse.quote(server.access_key_id, safe="")
    secret = urllib.parse.quote(server.secret_access_key, safe="")
    return f"sqs://{user}:{secret}@{host_port}"


def test_kombu_sqs_transport_produces_and_consumes(server: ServerProcess) -> None:
    kombu = pytest.importorskip("kombu")
    name = f"kombu-{uuid.uuid4().hex[:8]}"
    options = {"region": REGION, "is_secure": False, "wait_time_seconds": 1, "visibility_timeout": 30}
    with kombu.Connection(kombu_url(server), transport_options=options) as conn:
        queue = conn.SimpleQueue(name)
        for index in range(3):
            queue.put({"patient": 2911, "n": index})
        got = []
        for _ in range(3):
            message = queue.get(block=True, timeout=10)
            got.append(message.payload["n"])
            message.ack()
        assert sorted(got) == [0, 1, 2]
        with pytest.raises(queue.Empty):
            queue.get(block=True, timeout=1)
        queue.close()
    # kombu created the queue itself (its name mangling and attributes); it holds nothing now.
    sqs = server.client("sqs")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    counters = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counters["ApproximateNumberOfMessages"] == "0"
    assert counters["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_boto3_resource_api_on_an_encrypted_queue(server: ServerProcess) -> None:
    key_id = server.client("kms").create_key()["KeyMetadata"]["KeyId"]
    resource: Any = boto3.resource("sqs", endpoint_url=server.url, region_name=REGION,
                                   aws_access_key_id=server.access_key_id,
                                   aws_secret_access_key=server.secret_access_key)
    queue = resource.create_queue(QueueName=f"res-{uuid.uuid4().hex[:8]}", Attributes={"KmsMasterKeyId": key_id})
    assert queue.attributes["KmsMasterKeyId"] == key_id
    queue.send_message(MessageBody="via resource", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "record"}})
    queue.send_messages(Entries=[{"Id": "a", "MessageBody": "batch a"}, {"Id": "b", "MessageBody": "batch b"}])
    bodies: list[str] = []
    for _ in range(10):
        for message in queue.receive_messages(MaxNumberOfMessages=10, MessageAttributeNames=["All"]):
            bodies.append(message.body)
            if message.body == "via resource":
                assert message.message_attributes["kind"]["StringValue"] == "record"
            message.delete()
        if len(bodies) == 3:
            break
    assert sorted(bodies) == ["batch a", "batch b", "via resource"]
    same = resource.get_queue_by_name(QueueName=queue.url.rsplit("/", 1)[1])
    assert same.url == queue.url
    same.delete()
