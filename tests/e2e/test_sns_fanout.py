"""Subscriptions to SQS and fan-out semantics: confirmation rules, attributes, pagination,
filter policies (attribute and body scope), raw delivery, MessageStructure=json, FIFO."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, launch

from cipherpost.demo import queue_policy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = launch(tmp_path_factory.mktemp("sns-fanout") / "data")
    yield proc
    proc.stop()


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def topic(server: ServerProcess, fifo: bool = False, **attributes: str) -> str:
    name = f"f-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    if fifo:
        attributes["FifoTopic"] = "true"
    return str(server.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"])


def queue(server: ServerProcess, topic_arn: str, fifo: bool = False) -> tuple[str, str]:
    sqs = server.client("sqs")
    name = f"q-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, topic_arn)})
    return url, arn


def drain(server: ServerProcess, url: str, expected: int, wait: int = 5) -> list[dict[str, Any]]:
    sqs = server.client("sqs")
    found: list[dict[str, Any]] = []
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        found += batch
        if len(found) >= expected or not batch:
            break
    return found


def test_subscribe_confirms_same_account_queues(server: ServerProcess) -> None:
    sns = server.client("sns")
    arn = topic(server)
    _, queue_arn = queue(server, arn)
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    assert sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"] == sub
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attributes["PendingConfirmation"] == "false" and attributes["RawMessageDelivery"] == "false"
    assert attributes["Endpoint"] == queue_arn and attributes["TopicArn"] == arn
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["SubscriptionsConfirmed"] == "1"
    with pytest.raises(ClientError) as info:
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    assert code(info) == "InvalidParameter"
    for protocol, endpoint in (("sqs", "not-an-arn"), ("carrier-pigeon", "x"), ("http", "ftp://x"),
                               ("sqs", queue_arn + ".fifo")):
        with pytest.raises(ClientError) as info:
            sns.subscribe(TopicArn=arn, Protocol=protocol, Endpoint=endpoint)
        assert code(info) == "InvalidParameter", (protocol, endpoint)
    sns.unsubscribe(SubscriptionArn=sub)
    counts = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert counts["SubscriptionsConfirmed"] == "0" and counts["SubscriptionsDeleted"] == "1"
    with pytest.raises(ClientError) as info:
        sns.get_subscription_attributes(SubscriptionArn=sub)
    assert code(info) == "NotFound"


def test_subscription_attributes_are_validated(server: ServerProcess) -> None:
    sns = server.client("sns")
    arn = topic(server)
    _, queue_arn = queue(server, arn)
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    for name, value in (("FilterPolicy", "{not json"), ("FilterPolicy", '{"a": "b"}'),
                        ("FilterPolicy", json.dumps({f"k{i}": ["v"] for i in range(6)})),
                        ("FilterPolicyScope", "Everything"), ("RawMessageDelivery", "maybe"),
                        ("RedrivePolicy", '{"deadLetterTargetArn": "nope"}'), ("Unknown", "1"),
                        ("DeliveryPolicy", '{"healthyRetryPolicy": {}}')):
        with pytest.raises(ClientError) as info:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
        assert code(info) == "InvalidParameter", name
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                    AttributeValue='{"clinic": ["north"]}')
    attributes = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attributes["FilterPolicyScope"] == "MessageAttributes"


def test_list_subscriptions_paginates(server: ServerProcess) -> None:
    sns = server.client("sns")
    arn = topic(server)
    created = {sns.subscribe(TopicArn=arn, Protocol="sqs",
                             Endpoint=f"arn:aws:sqs:us-east-1:000000000000:p{i:03d}")["SubscriptionArn"]
               for i in range(102)}
    pages = list(sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn))
    assert len(pages) == 2 and {s["SubscriptionArn"] for p in pages for s in p["Subscriptions"]} == created
    everything = {s["SubscriptionArn"] for p in sns.get_paginator("list_subscriptions").paginate()
                  for s in p["Subscriptions"]}
    assert created <= everything


def test_filter_policies_end_to_end(server: ServerProcess) -> None:
    sns = server.client("sns")
    arn = topic(server)
    north_url, north = queue(server, arn)
    urgent_url, urgent = queue(server, arn)
    everything_url, everything = queue(server, arn)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=north, Attributes={
        "FilterPolicy": json.dumps({"clinic": ["north"], "visits": [{"numeric": [">=", 2]}]})})
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=urgent, Attributes={
        "FilterPolicyScope": "MessageBody",
        "FilterPolicy": json.dumps({"record": {"priority": [{"anything-but": ["routine"]}]}})})
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=everything)

    def publish(body: dict[str, Any], **attributes: tuple[str, str]) -> None:
        sns.publish(TopicArn=arn, Message=json.dumps(body), MessageAttributes={
            k: {"DataType": t, "StringValue": v} for k, (t, v) in attributes.items()})

    publish({"record": {"priority": "urgent"}}, clinic=("String", "north"), visits=("Number", "3"))
    publish({"record": {"priority": "routine"}}, clinic=("String", "north"), visits=("Number", "1"))
    publish({"record": {"priority": "stat"}}, clinic=("String", "south"), visits=("Number", "5"))
    assert len(drain(server, everything_url, 3)) == 3
    assert [json.loads(json.loads(m["Body"])["Message"])["record"]["priority"]
            for m in drain(server, north_url, 1, wait=2)] == ["urgent"]
    assert sorted(json.loads(json.loads(m["Body"])["Message"])["record"]["priority"]
                  for m in drain(server, urgent_url, 2, wait=2)) == ["stat", "urgent"]


def test_raw_delivery_and_message_structure(server: ServerProcess) -> None:
    sns = server.client("sns")
    arn = topic(server)
    raw_url, raw = queue(server, arn)
    env_url, env = queue(server, arn)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=raw, Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=env)
    sns.publish(TopicArn=arn, Message="raw body", MessageAttributes={
        "clinic": {"DataType": "String", "StringValue": "north"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
    (message,) = drain(server, raw_url, 1)
    assert message["Body"] == "raw body"
    assert message["MessageAttributes"]["clinic"] == {"DataType": "String", "StringValue": "north"}
    assert message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01"
    (message,) = drain(server, env_url, 1)
    envelope = json.loads(message["Body"])
    assert envelope["MessageAttributes"]["blob"] == {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()}
    sns.publish(TopicArn=arn, MessageStructure="json",
                Message=json.dumps({"default": "for everyone", "sqs": "for queues"}))
    assert [m["Body"] for m in drain(server, raw_url, 1)] == ["for queues"]
    with pytest.raises(ClientError) as info:
        sns.publish(TopicArn=arn, MessageStructure="json", Message='{"sqs": "no default"}')
    assert code(info) == "InvalidParameter"


def test_fifo_topic_to_fifo_queue_keeps_order_and_deduplicates(server: ServerProcess) -> None:
    sns = server.client("sns")
    arn = topic(server, fifo=True, ContentBasedDeduplication="true")
    url, queue_arn = queue(server, arn, fifo=True)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    numbers = []
    for i in range(6):
        result = sns.publish(TopicArn=arn, Message=f"m{i}", MessageGroupId="patient-2911")
        numbers.append(int(result["SequenceNumber"]))
    duplicate = sns.publish(TopicArn=arn, Message="m0", MessageGroupId="patient-2911")
    assert numbers == sorted(numbers) and len(set(numbers)) == 6
    assert int(duplicate["SequenceNumber"]) == numbers[0]
    explicit = sns.publish(TopicArn=arn, Message="g-first", MessageGroupId="g", MessageDeduplicationId="d1")
    assert sns.publish(TopicArn=arn, Message="other", MessageGroupId="g",
                       MessageDeduplicationId="d1")["MessageId"] == explicit["MessageId"]
    received = [json.loads(m["Body"])["Message"] for m in drain(server, url, 7)]
    assert [m for m in received if m.startswith("m")] == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert sorted(received) == ["g-first", "m0", "m1", "m2", "m3", "m4", "m5"]


def test_changes_apply_to_the_next_publish(server: ServerProcess) -> None:
    """Publish and delivery keep topics, subscriptions and queue decisions in memory: every
    change must still apply to the very next message."""
    sns, sqs = server.client("sns"), server.client("sqs")
    arn = topic(server)
    url, queue_arn = queue(server, arn)
    dead_url, dead_arn = queue(server, arn)
    subscription = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={
        "RawMessageDelivery": "true", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn})})[
        "SubscriptionArn"]

    def publish(text: str, **attributes: str) -> None:
        sns.publish(TopicArn=arn, Message=text, MessageAttributes={
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()})

    def bodies(marker: str) -> list[str]:
        """Everything that arrived until ``marker`` did."""
        found: list[str] = []
        for _ in range(10):
            found += [m["Body"] for m in drain(server, url, 1, wait=2)]
            if marker in found:
                return found
        raise AssertionError(f"{marker} never arrived; got {found}")

    publish("first")
    assert bodies("first") == ["first"]
    sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"kind": ["x"]}))
    publish("filtered out")
    publish("matches", kind="x")
    assert bodies("matches") == ["matches"]
    sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy", AttributeValue="")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})  # SNS may no longer send
    publish("refused")
    assert [m["Body"] for m in drain(server, dead_url, 1)] == ["refused"]  # a client error: not retried
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(queue_arn, arn)})
    publish("allowed again")
    assert bodies("allowed again") == ["allowed again"]
    sns.unsubscribe(SubscriptionArn=subscription)
    other_url, other_arn = queue(server, arn)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=other_arn)
    publish("after unsubscribe")
    assert [json.loads(m["Body"])["Message"] for m in drain(server, other_url, 1)] == ["after unsubscribe"]
    assert drain(server, url, 1, wait=1) == []


def test_publish_batch_fans_out_in_one_write(server: ServerProcess) -> None:
    """A batch is committed at once: its entries reach every queue, a bad entry refuses the
    whole batch (nothing delivered), and on a FIFO topic a duplicate within the batch answers
    with the first entry's id and sequence number and is delivered once, in entry order."""
    sns = server.client("sns")
    arn = topic(server)
    urls = []
    for _ in range(2):
        url, queue_arn = queue(server, arn)
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
        urls.append(url)
    good = [{"Id": f"e{i}", "Message": f"batch {i}"} for i in range(9)]
    with pytest.raises(ClientError):
        sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
            *good, {"Id": "bad", "Message": "x", "Subject": "a\nb"}])
    result = sns.publish_batch(TopicArn=arn, PublishBatchRequestEntries=good)
    assert sorted(e["Id"] for e in result["Successful"]) == [f"e{i}" for i in range(9)]
    assert result["Failed"] == []
    for url in urls:
        assert sorted(json.loads(m["Body"])["Message"] for m in drain(server, url, 9)) == [
            f"batch {i}" for i in range(9)]

    fifo_arn = topic(server, fifo=True)
    fifo_url, fifo_queue = queue(server, fifo_arn, fifo=True)
    sns.subscribe(TopicArn=fifo_arn, Protocol="sqs", Endpoint=fifo_queue)
    entries = [{"Id": f"f{i}", "Message": f"fifo {i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"}
               for i in range(4)]
    entries.append({"Id": "again", "Message": "fifo 1 again", "MessageGroupId": "g", "MessageDeduplicationId": "d1"})
    answers = {e["Id"]: e for e in sns.publish_batch(TopicArn=fifo_arn, PublishBatchRequestEntries=entries)[
        "Successful"]}
    assert set(answers) == {"f0", "f1", "f2", "f3", "again"}
    assert answers["again"]["MessageId"] == answers["f1"]["MessageId"]
    assert answers["again"]["SequenceNumber"] == answers["f1"]["SequenceNumber"]
    numbers = [int(answers[f"f{i}"]["SequenceNumber"]) for i in range(4)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 4
    assert [json.loads(m["Body"])["Message"] for m in drain(server, fifo_url, 4)] == [f"fifo {i}" for i in range(4)]
