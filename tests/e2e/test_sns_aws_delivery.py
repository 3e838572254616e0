"""What SNS delivers and refuses, as AWS's recorded responses show: MessageStructure=json
entries that are not strings, FIFO topics' envelope, the links' ARN form, PublishBatch's size
and Id errors."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from e2e_support import ServerProcess, fails, http_get

from cipherpost.demo import queue_policy

LIMIT = 256 * 1024


def name(suffix: str = "") -> str:
    return f"d-{uuid.uuid4().hex[:10]}{suffix}"


def topic_with_queue(server: ServerProcess, fifo: bool = False, **attributes: str) -> tuple[str, str]:
    """A topic and the URL of a queue subscribed to it (whose policy lets the topic send)."""
    sns: Any = server.client("sns")
    sqs: Any = server.client("sqs")
    suffix = ".fifo" if fifo else ""
    topic_attributes = {"FifoTopic": "true", "ContentBasedDeduplication": "true"} if fifo else {}
    topic = sns.create_topic(Name=name(suffix), Attributes=topic_attributes)["TopicArn"]
    url = sqs.create_queue(QueueName=name(suffix), Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(queue_arn, topic)})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
    return topic, url


def receive(server: ServerProcess, url: str) -> dict[str, Any]:
    messages = server.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=10,
                                                    MessageSystemAttributeNames=["All"])["Messages"]
    assert len(messages) == 1
    return dict(messages[0])


def test_message_structure_entry_that_is_not_a_string_is_ignored(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic, url = topic_with_queue(server)
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "default text", "sqs": {"not": "a string"}}))
    assert json.loads(receive(server, url)["Body"])["Message"] == "default text"
    assert fails(sns.publish, "InvalidParameter", TopicArn=topic, MessageStructure="json",
                 Message=json.dumps({"sqs": "x"})) == (
        "Invalid parameter: Message Structure - No default entry in JSON message body")
    assert fails(sns.publish, "InvalidParameter", TopicArn=topic, MessageStructure="json", Message="{no") == (
        "Invalid parameter: Message Structure - JSON message body failed to parse")


def test_fifo_topic_envelope(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic, url = topic_with_queue(server, fifo=True)
    answer = sns.publish(TopicArn=topic, Message="hello", MessageGroupId="g",
                         MessageAttributes={"a": {"DataType": "String", "StringValue": "v"}})
    envelope = json.loads(receive(server, url)["Body"])
    assert list(envelope) == ["Type", "MessageId", "SequenceNumber", "TopicArn", "Message", "Timestamp",
                              "UnsubscribeURL", "MessageAttributes"]
    assert envelope["SequenceNumber"] == answer["SequenceNumber"]
    assert envelope["MessageId"] == answer["MessageId"]


def test_standard_topic_envelope_and_unsubscribe_url(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic, url = topic_with_queue(server)
    sns.publish(TopicArn=topic, Message="hello", Subject="s")
    envelope = json.loads(receive(server, url)["Body"])
    assert list(envelope) == ["Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", "SignatureVersion",
                              "Signature", "SigningCertURL", "UnsubscribeURL"]
    subscription = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    link = envelope["UnsubscribeURL"]
    assert link.endswith(f"/?Action=Unsubscribe&SubscriptionArn={subscription}")  # AWS's form: ':' as is
    parts = urlsplit(link)
    status, _, _ = http_get(f"{server.url}{parts.path}?{parts.query}")
    assert status == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_unsubscribe_link_with_encoded_colons_still_works(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic, _ = topic_with_queue(server)
    subscription = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    status, _, _ = http_get(f"{server.url}/?Action=Unsubscribe&SubscriptionArn="
                            f"{subscription.replace(':', '%3A')}")
    assert status == 200
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_publish_batch_counts_attributes_toward_the_limit(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic, _ = topic_with_queue(server)
    attribute = {"a": {"DataType": "String", "StringValue": "v" * 100}}
    half = LIMIT // 2 - 50
    message = "The length of all the messages put together is more than the limit."
    assert fails(sns.publish_batch, "BatchRequestTooLong", TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "1", "Message": "x" * LIMIT}, {"Id": "2", "Message": "y"}]) == message
    assert fails(sns.publish_batch, "BatchRequestTooLong", TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": str(i), "Message": "x" * half, "MessageAttributes": attribute} for i in range(2)]) == message
    answer = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": str(i), "Message": "x" * half} for i in range(2)])
    assert len(answer["Successful"]) == 2
    # A single Publish counts its attributes too.
    assert fails(sns.publish, "InvalidParameter", TopicArn=topic, Message="x" * (LIMIT - 50),
                 MessageAttributes=attribute) == "Invalid parameter: Message too long"


def test_publish_batch_entry_id_messages(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic, _ = topic_with_queue(server)
    for entry_id, reason in (("message.id", "contains an impermissible character"),
                             ("msg@123#test", "contains an impermissible character"),
                             ("a" * 81, "is too long")):
        assert fails(sns.publish_batch, "InvalidBatchEntryId", TopicArn=topic,
                     PublishBatchRequestEntries=[{"Id": entry_id, "Message": "m"}]) == (
            f"The Id of a batch entry in the batch request {reason}: {entry_id}")


def test_body_filter_with_dotted_key_matches_nested_and_literal(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic, url = topic_with_queue(server, FilterPolicyScope="MessageBody", RawMessageDelivery="true",
                                  FilterPolicy=json.dumps({"object.nested": ["v"]}))
    for body in ({"object": {"nested": "w"}}, {"object": {"nested": "v"}}, {"object.nested": "v"}):
        sns.publish(TopicArn=topic, Message=json.dumps(body))
    sqs: Any = server.client("sqs")
    received: list[Any] = []
    for _ in range(5):
        batch = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2, MaxNumberOfMessages=10).get("Messages", [])
        received += [json.loads(m["Body"]) for m in batch]
        if len(received) >= 2:
            break
    assert sorted(received, key=json.dumps) == [{"object": {"nested": "v"}}, {"object.nested": "v"}]


def test_standard_topic_passes_message_group_id_to_standard_queue(server: ServerProcess) -> None:
    """AWS hands a standard topic's MessageGroupId on to a standard queue (SQS fair queues):
    it comes back as the MessageGroupId system attribute, not in the envelope."""
    sns: Any = server.client("sns")
    topic, url = topic_with_queue(server)
    sns.publish(TopicArn=topic, Message="grouped", MessageGroupId="my-group-id-1")
    message = receive(server, url)
    assert message["Attributes"]["MessageGroupId"] == "my-group-id-1"
    assert "MessageGroupId" not in json.loads(message["Body"])
    sns.publish(TopicArn=topic, Message="ungrouped")
    assert "MessageGroupId" not in receive(server, url)["Attributes"]


def test_message_group_id_reaches_a_standard_dead_letter_queue(server: ServerProcess) -> None:
    """The delivery worker's path (here: a dead-letter move) passes the group on as well."""
    sns: Any = server.client("sns")
    sqs: Any = server.client("sqs")
    topic = sns.create_topic(Name=name())["TopicArn"]
    dead_url = sqs.create_queue(QueueName=name())["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=dead_url, Attributes={"Policy": queue_policy(dead_arn, topic)})
    gone = sqs.create_queue(QueueName=name())["QueueUrl"]
    gone_arn = sqs.get_queue_attributes(QueueUrl=gone, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=gone_arn,
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn})})
    sqs.delete_queue(QueueUrl=gone)
    sns.publish(TopicArn=topic, Message="grouped", MessageGroupId="g-dead")
    assert receive(server, dead_url)["Attributes"]["MessageGroupId"] == "g-dead"


def test_fifo_topic_does_not_pass_its_group_to_a_standard_queue(server: ServerProcess) -> None:
    """Recorded against AWS: unlike a standard topic's, a FIFO topic's MessageGroupId does
    not reach a standard queue."""
    sns: Any = server.client("sns")
    sqs: Any = server.client("sqs")
    topic = sns.create_topic(Name=name(".fifo"), Attributes={"FifoTopic": "true",
                                                             "ContentBasedDeduplication": "true"})["TopicArn"]
    url = sqs.create_queue(QueueName=name())["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(queue_arn, topic)})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message="grouped", MessageGroupId="g-fifo")
    assert "MessageGroupId" not in receive(server, url)["Attributes"]
