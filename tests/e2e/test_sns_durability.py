"""Acceptance is durable: once Publish returns, every subscription gets the message, even
if the server is killed (SIGKILL) before it delivered anything.

Honest setup: the first server runs with ``CIPHERPOST_SNS_DELIVERY_CONCURRENCY=0`` (an
API-only node, a supported deployment mode), so nothing can be delivered before the kill;
the restarted server runs the delivery worker and must drain what the first one accepted.
"""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Callable

from e2e_support import ServerProcess

from cipherpost.demo import Scenario


def blog_fanout(server: ServerProcess) -> tuple[Scenario, str, list[str]]:
    """The blog's encrypted topic and its three encrypted, subscribed queues: (scene, topic, URLs)."""
    scene = Scenario(lambda service, **kw: server.client(service), say=lambda _: None)
    key = scene.create_key("alias/EMRKey")
    sns = server.client("sns")
    topic = sns.create_topic(Name="Patient-Records", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    urls = []
    for name in ("Billing", "Scheduling", "Prescription"):
        url, arn = scene.create_queue(name, key, topic)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        urls.append(url)
    return scene, topic, urls


def test_kill_between_publish_and_delivery(fresh_server: Callable[..., ServerProcess]) -> None:
    first = fresh_server(env={"CIPHERPOST_SNS_DELIVERY_CONCURRENCY": "0"})
    scene, topic, urls = blog_fanout(first)
    sns = first.client("sns")
    sent = {sns.publish(TopicArn=topic, Message=f"record {i} {uuid.uuid4()}")["MessageId"] for i in range(5)}
    assert scene.client("sqs").receive_message(QueueUrl=urls[0], WaitTimeSeconds=1).get("Messages", []) == []
    first.stop(signal.SIGKILL)

    second = fresh_server(data_dir=first.data_dir)
    scene2 = Scenario(lambda service, **kw: second.client(service), say=lambda _: None)
    for url in urls:
        got: set[str] = set()
        for _ in range(10):
            got |= {json.loads(m["Body"])["MessageId"] for m in scene2.receive(url, wait=5)}
            if got == sent:
                break
        assert got == sent


def test_publish_puts_messages_in_queues_before_it_returns(fresh_server: Callable[..., ServerProcess]) -> None:
    """On a node that delivers, Publish commits the message into every accepting SQS queue in
    its own write: killed right after the answers, the server has lost nothing."""
    first = fresh_server()
    _, topic, urls = blog_fanout(first)
    sns = first.client("sns")
    sent = {sns.publish(TopicArn=topic, Message=f"record {i} {uuid.uuid4()}")["MessageId"] for i in range(20)}
    first.stop(signal.SIGKILL)

    second = fresh_server(data_dir=first.data_dir, env={"CIPHERPOST_SNS_DELIVERY_CONCURRENCY": "0"})
    sqs = second.client("sqs")
    for url in urls:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "20"  # no worker ran: Publish did it
        got: set[str] = set()
        for _ in range(5):
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            got |= {json.loads(m["Body"])["MessageId"] for m in batch}
        assert got == sent
