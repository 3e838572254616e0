"""HTTP/S subscriptions against a local HTTP server: confirmation, signatures verified with
the downloaded certificate, AWS's headers, retries with the delivery policy's backoff, and
the dead-letter queue once the policy is exhausted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from e2e_support import Endpoint, ServerProcess, certificate, http_get, launch, new_topic, subscribe_confirmed

from cipherpost.demo import queue_policy
from cipherpost.services.sns.signing import verify


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = launch(tmp_path_factory.mktemp("sns-http") / "data")
    yield proc
    proc.stop()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    hook = Endpoint()
    yield hook
    hook.close()


def test_links_work_without_credentials(server: ServerProcess, endpoint: Endpoint) -> None:
    """SubscribeURL and UnsubscribeURL are plain GETs, as a browser or curl would send them."""
    sns = server.client("sns")
    topic = new_topic(server)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    ((_, _, body),) = endpoint.wait(1)
    confirmation = json.loads(body)
    status, _, answer = http_get(confirmation["SubscribeURL"].replace("localhost", "127.0.0.1"))
    assert status == 200, answer
    assert b"<ConfirmSubscriptionResult><SubscriptionArn>" in answer
    sns.publish(TopicArn=topic, Message="confirmed by link")
    (_, (_, _, body)) = endpoint.wait(2)
    notification = json.loads(body)
    assert notification["Message"] == "confirmed by link"
    status, _, answer = http_get(notification["UnsubscribeURL"].replace("localhost", "127.0.0.1"))
    assert status == 200, answer
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    status, _, answer = http_get(f"{server.url}/?Action=Unsubscribe&SubscriptionArn={topic}:nope")
    assert status == 404 and b"<Code>NotFound</Code>" in answer


def test_confirmation_then_signed_notifications(server: ServerProcess, endpoint: Endpoint) -> None:
    sns = server.client("sns")
    topic = new_topic(server)
    assert sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)["SubscriptionArn"] == \
        "pending confirmation"
    ((_, headers, body),) = endpoint.wait(1)
    confirmation = json.loads(body)
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-topic-arn"] == topic and headers["x-amz-sns-message-id"] == confirmation["MessageId"]
    assert confirmation["Type"] == "SubscriptionConfirmation" and confirmation["TopicArn"] == topic
    assert "Action=ConfirmSubscription" in confirmation["SubscribeURL"]
    cert = certificate(server, confirmation["SigningCertURL"])
    assert verify(confirmation, confirmation["Signature"], cert)
    sns.publish(TopicArn=topic, Message="before confirmation")  # must never arrive
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed[0]["SubscriptionArn"] == "PendingConfirmation"
    with pytest.raises(ClientError) as info:
        sns.confirm_subscription(TopicArn=topic, Token="0" * 128)
    assert info.value.response["Error"]["Code"] == "InvalidParameter"
    arn = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"],
                                   AuthenticateOnUnsubscribe="true")["SubscriptionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    sns.publish(TopicArn=topic, Message="hello", Subject="greeting",
                MessageAttributes={"n": {"DataType": "Number", "StringValue": "3"}})
    (_, (_, headers, body)) = endpoint.wait(2)
    notification = json.loads(body)
    assert notification["Message"] == "hello" and notification["Subject"] == "greeting"
    assert notification["MessageAttributes"] == {"n": {"Type": "Number", "Value": "3"}}
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-subscription-arn"] == arn
    assert headers["content-type"].startswith("text/plain")
    assert verify(notification, notification["Signature"], cert)
    tampered = dict(notification, Message="hello!")
    assert not verify(tampered, notification["Signature"], cert)
    status, _, answer = http_get(notification["UnsubscribeURL"].replace("localhost", "127.0.0.1"))
    assert status == 403 and b"AuthorizationError" in answer  # AuthenticateOnUnsubscribe=true
    sns.unsubscribe(SubscriptionArn=arn)
    (_, _, (_, headers, body)) = endpoint.wait(3)
    assert headers["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
    assert json.loads(body)["Type"] == "UnsubscribeConfirmation"


def test_signature_version_2_and_raw_delivery(server: ServerProcess, endpoint: Endpoint) -> None:
    topic = new_topic(server, SignatureVersion="2")
    sub = subscribe_confirmed(server, endpoint, topic)
    server.client("sns").publish(TopicArn=topic, Message="v2")
    ((_, _, body),) = endpoint.wait(1)
    envelope = json.loads(body)
    assert envelope["SignatureVersion"] == "2"
    assert verify(envelope, envelope["Signature"], certificate(server, envelope["SigningCertURL"]))
    server.client("sns").set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery",
                                                     AttributeValue="true")
    server.client("sns").publish(TopicArn=topic, Message="raw body")
    (_, (_, headers, body)) = endpoint.wait(2)
    assert body == "raw body" and headers["x-amz-sns-rawdelivery"] == "true"


def test_retries_after_500s_with_backoff(server: ServerProcess, endpoint: Endpoint) -> None:
    topic = new_topic(server)
    policy = {"healthyRetryPolicy": {"numRetries": 3, "minDelayTarget": 1, "maxDelayTarget": 2,
                                     "backoffFunction": "linear"},
              "requestPolicy": {"headerContentType": "application/json"}}
    subscribe_confirmed(server, endpoint, topic, {"DeliveryPolicy": json.dumps(policy)})
    endpoint.statuses = [500, 503]
    server.client("sns").publish(TopicArn=topic, Message="eventually")
    requests = endpoint.wait(3, timeout=20)
    times = [t for t, _, _ in requests]
    assert [json.loads(b)["Message"] for _, _, b in requests] == ["eventually"] * 3
    assert times[1] - times[0] >= 0.9 and times[2] - times[1] >= 0.9
    assert requests[0][1]["content-type"] == "application/json"
    time.sleep(2.5)
    assert len(endpoint.requests) == 3  # a 200 ends it


def test_dead_letter_queue_after_exhaustion(server: ServerProcess, endpoint: Endpoint) -> None:
    sqs = server.client("sqs")
    topic = new_topic(server, DeliveryPolicy=json.dumps({"http": {"defaultHealthyRetryPolicy": {
        "numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}}}))
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"Policy": queue_policy(dlq_arn, topic)})
    subscribe_confirmed(server, endpoint, topic, {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    endpoint.statuses = [500] * 10
    server.client("sns").publish(TopicArn=topic, Message="undeliverable")
    endpoint.wait(3, timeout=20)
    messages = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=10).get("Messages", [])
    assert [json.loads(m["Body"])["Message"] for m in messages] == ["undeliverable"]
    assert len(endpoint.requests) == 3


def test_4xx_counts_as_delivered_and_policy_validation(server: ServerProcess, endpoint: Endpoint) -> None:
    sns = server.client("sns")
    topic = new_topic(server)
    sub = subscribe_confirmed(server, endpoint, topic)
    endpoint.statuses = [404]
    sns.publish(TopicArn=topic, Message="gone")
    endpoint.wait(1)
    time.sleep(1.5)
    assert len(endpoint.requests) == 1
    for bad in ({"healthyRetryPolicy": {"numRetries": 101}},
                {"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 10}},
                {"healthyRetryPolicy": {"backoffFunction": "cubic"}},
                {"throttlePolicy": {"maxReceivesPerSecond": 0}},
                {"requestPolicy": {"headerContentType": "image/png"}}):
        with pytest.raises(ClientError) as info:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="DeliveryPolicy",
                                            AttributeValue=json.dumps(bad))
        assert info.value.response["Error"]["Code"] == "InvalidParameter"
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(
        {"healthyRetryPolicy": {"numRetries": 5, "numNoDelayRetries": 1, "minDelayTarget": 2,
                                "maxDelayTarget": 30, "backoffFunction": "exponential"},
         "throttlePolicy": {"maxReceivesPerSecond": 5}}))
    effective = json.loads(sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
                           ["EffectiveDeliveryPolicy"])
    assert effective["healthyRetryPolicy"]["backoffFunction"] == "exponential"
    assert effective["throttlePolicy"] == {"maxReceivesPerSecond": 5}


def test_token_confirms_its_subscription_whatever_topic_is_named(server: ServerProcess, endpoint: Endpoint) -> None:
    """Recorded against AWS: the token finds its subscription even with the ARN of a topic
    that does not exist (same region and account); an ARN of another region or a malformed
    one is ``Invalid parameter: Topic``; we also refuse another account's ARN."""
    sns = server.client("sns")
    topic = new_topic(server)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    ((_, _, body),) = endpoint.wait(1)
    token = json.loads(body)["Token"]
    region, account = topic.split(":")[3:5]
    for arn, message in (("not-an-arn", "Invalid parameter: Topic"),
                         (topic.replace(region, "eu-central-1"), "Invalid parameter: Topic"),
                         (topic.replace(account, "111111111111"), "Invalid parameter: Token")):
        with pytest.raises(ClientError) as info:
            sns.confirm_subscription(TopicArn=arn, Token=token)
        assert info.value.response["Error"]["Message"] == message
    (pending,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert pending["SubscriptionArn"] == "PendingConfirmation"
    other = new_topic(server)  # exists, but the token was issued for `topic`'s subscription
    arn = sns.confirm_subscription(TopicArn=f"{topic}-nonexistent", Token=token)["SubscriptionArn"]
    assert arn.startswith(f"{topic}:")
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
    assert sns.confirm_subscription(TopicArn=other, Token=token)["SubscriptionArn"] == arn
    assert sns.list_subscriptions_by_topic(TopicArn=other)["Subscriptions"] == []


def test_requests_carry_exactly_aws_headers(server: ServerProcess, endpoint: Endpoint) -> None:
    """The header names and the values that do not vary, as recorded against AWS."""
    sns = server.client("sns")
    topic = new_topic(server)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    ((_, headers, _),) = endpoint.wait(1)
    assert sorted(headers) == ["accept-encoding", "connection", "content-length", "content-type", "host",
                               "user-agent", "x-amz-sns-message-id", "x-amz-sns-message-type",
                               "x-amz-sns-topic-arn"]
    assert headers["accept-encoding"] == "gzip,deflate"
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert headers["content-type"] == "text/plain; charset=UTF-8"


def test_unsubscribe_confirmation_link_restores_the_subscription(server: ServerProcess, endpoint: Endpoint) -> None:
    """AWS's UnsubscribeConfirmation: a fresh token, and "To cancel this operation and
    restore the subscription, visit the SubscribeURL"; the link brings the subscription back."""
    sns = server.client("sns")
    topic = new_topic(server)
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint.url)
    ((_, _, body),) = endpoint.wait(1)
    first_token = json.loads(body)["Token"]
    arn = sns.confirm_subscription(TopicArn=topic, Token=first_token)["SubscriptionArn"]
    sns.unsubscribe(SubscriptionArn=arn)
    (_, (_, _, body)) = endpoint.wait(2)
    farewell = json.loads(body)
    assert farewell["Type"] == "UnsubscribeConfirmation" and farewell["Token"] != first_token
    assert farewell["Message"] == (f"You have chosen to deactivate subscription {arn}.\nTo cancel this operation and "
                                   "restore the subscription, visit the SubscribeURL included in this message.")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    status, _, answer = http_get(farewell["SubscribeURL"].replace("localhost", "127.0.0.1"))
    assert status == 200 and f"<SubscriptionArn>{arn}</SubscriptionArn>".encode() in answer
    (restored,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert restored["SubscriptionArn"] == arn
    sns.publish(TopicArn=topic, Message="after the restore")
    (_, _, (_, _, body)) = endpoint.wait(3)
    assert json.loads(body)["Message"] == "after the restore"
    with pytest.raises(ClientError) as info:  # the link is used up
        sns.confirm_subscription(TopicArn=topic, Token=farewell["Token"])
    assert info.value.response["Error"]["Message"] == "Invalid parameter: Token"


def test_unsubscribe_link_dies_with_its_topic(server: ServerProcess, endpoint: Endpoint) -> None:
    """A topic deleted and created again under its name does not take back the old topic's
    unsubscribed endpoints."""
    sns = server.client("sns")
    topic = new_topic(server)
    arn = subscribe_confirmed(server, endpoint, topic)
    sns.unsubscribe(SubscriptionArn=arn)
    ((_, _, body),) = endpoint.wait(1)
    link = json.loads(body)["SubscribeURL"].replace("localhost", "127.0.0.1")
    sns.delete_topic(TopicArn=topic)
    assert sns.create_topic(Name=topic.rpartition(":")[2])["TopicArn"] == topic
    status, _, answer = http_get(link)
    assert status == 400 and b"Invalid parameter: Token" in answer
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
