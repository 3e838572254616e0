"""SNS answers as AWS does, code and message, where AWS's responses are on record: ARN
validation, idempotent Unsubscribe and Subscribe, ConfirmSubscription tokens, TargetArn,
topic names and attributes, tags, and subscription attributes (Subscribe words an
attribute's error ``Invalid parameter: Attributes Reason: ...``, SetSubscriptionAttributes
``Invalid parameter: ...``)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from e2e_support import ServerProcess, fails, new_user_client

ACCOUNT = "000000000000"
REGION = "us-east-1"


def name(suffix: str = "") -> str:
    return f"c-{uuid.uuid4().hex[:10]}{suffix}"


def new_topic(server: ServerProcess, fifo: bool = False) -> str:
    attributes = {"FifoTopic": "true"} if fifo else {}
    return str(server.client("sns").create_topic(Name=name(".fifo" if fifo else ""),
                                                 Attributes=attributes)["TopicArn"])


def new_queue_arn(server: ServerProcess, fifo: bool = False) -> str:
    sqs = server.client("sqs")
    attributes = {"FifoQueue": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name(".fifo" if fifo else ""), Attributes=attributes)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def subscribe_queue(server: ServerProcess, topic: str, queue_arn: str, **attributes: str) -> str:
    return str(server.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                                              Attributes=attributes, ReturnSubscriptionArn=True)["SubscriptionArn"])


def test_arn_validation_messages(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    for arn, count in (("randomstring", 1), ("randomstring:1", 2), ("", 1)):
        assert fails(sns.publish, "InvalidParameter", TopicArn=arn, Message="m") == (
            f"Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not {count}")
    assert fails(sns.subscribe, "InvalidParameter", TopicArn="arn:aws:sns:us-east-1:random", Protocol="sqs",
                 Endpoint="x") == "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 5"
    assert fails(sns.get_topic_attributes, "InvalidParameter", TopicArn="randomstring") == (
        "Invalid parameter: TopicArn Reason: An ARN must have at least 6 elements, not 1")
    assert fails(sns.get_topic_attributes, "NotFound", TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{name()}") == (
        "Topic does not exist")
    assert fails(sns.unsubscribe, "InvalidParameter", SubscriptionArn="randomstring") == (
        "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1")
    assert fails(sns.unsubscribe, "InvalidParameter", SubscriptionArn="arn:aws:sns:us-east-1:random") == (
        "Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 5")
    assert fails(sns.unsubscribe, "InvalidParameter",
                 SubscriptionArn=f"arn:aws:sns:us-east-1:{ACCOUNT}:random") == "Invalid parameter: SubscriptionId"
    unchecked: Any = server.client("sns", parameter_validation=False)
    assert fails(unchecked.unsubscribe, "InvalidParameter") == (
        "Invalid parameter: SubscriptionArn Reason: no value for required parameter")


def test_unsubscribe_is_idempotent(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic = new_topic(server)
    arn = subscribe_queue(server, topic, new_queue_arn(server))
    sns.unsubscribe(SubscriptionArn=arn)
    sns.unsubscribe(SubscriptionArn=arn)  # already removed: still 200
    sns.unsubscribe(SubscriptionArn=f"{topic}:{uuid.uuid4()}")  # never existed
    sns.unsubscribe(SubscriptionArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{name()}:{uuid.uuid4()}")  # nor its topic
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    assert fails(sns.get_subscription_attributes, "NotFound", SubscriptionArn=arn) == "Subscription does not exist"


def test_unsubscribe_of_missing_subscription_is_still_authorized(server: ServerProcess) -> None:
    topic = new_topic(server)
    denied = new_user_client(server, "sns", name(), json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"}]}))
    fails(denied.unsubscribe, "AuthorizationError", SubscriptionArn=f"{topic}:{uuid.uuid4()}")


def test_subscribe_is_idempotent_with_default_values(server: ServerProcess) -> None:
    topic, queue = new_topic(server), new_queue_arn(server)
    arn = subscribe_queue(server, topic, queue, RawMessageDelivery="True")
    assert subscribe_queue(server, topic, queue, RawMessageDelivery="true") == arn
    assert subscribe_queue(server, topic, queue, RawMessageDelivery="true",
                           FilterPolicyScope="MessageAttributes") == arn
    assert subscribe_queue(server, topic, queue) == arn
    assert subscribe_queue(server, topic, queue, FilterPolicyScope="MessageAttributes") == arn
    sns: Any = server.client("sns")
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=topic, Protocol="sqs", Endpoint=queue,
                 Attributes={"RawMessageDelivery": "false", "FilterPolicyScope": "MessageBody"}) == (
        "Invalid parameter: Attributes Reason: Subscription already exists with different attributes")
    other_queue = new_queue_arn(server)
    other = subscribe_queue(server, topic, other_queue, FilterPolicy='{"a":["b"]}')
    assert subscribe_queue(server, topic, other_queue, FilterPolicy='{ "a": [ "b" ] }') == other  # same JSON


def test_confirm_subscription_token_errors(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic = new_topic(server)
    well_formed = "51b2ff3edb475b7d" * 18
    assert fails(sns.confirm_subscription, "InvalidParameter", TopicArn=topic[:-1] + "i", Token=well_formed) == (
        "Invalid parameter: Token")
    assert fails(sns.confirm_subscription, "InvalidParameter", TopicArn=topic, Token="randomtoken") == (
        "Invalid token")
    assert fails(sns.confirm_subscription, "InvalidParameter", TopicArn=topic, Token="abc123") == (
        "Invalid parameter: Token")
    assert fails(sns.confirm_subscription, "InvalidParameter", TopicArn=topic, Token=well_formed) == (
        "Invalid parameter: Token")


def test_publish_to_missing_target(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    target = f"arn:aws:sns:{REGION}:{ACCOUNT}:endpoint/APNS/abcdef/0f7d5971-aa8b-4bd5-b585-0826e9f93a66"
    assert fails(sns.publish, "InvalidParameter", TargetArn=target, Message="m") == (
        "Invalid parameter: TargetArn Reason: No endpoint found for the target arn specified")
    assert fails(sns.publish, "NotFound", TopicArn=f"arn:aws:sns:{REGION}:{ACCOUNT}:{name()}", Message="m") == (
        "Topic does not exist")
    topic = new_topic(server)
    assert "MessageId" in sns.publish(TargetArn=topic, Message="m")


def test_topic_names_and_fifo_attribute(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    for bad, attributes in ((name(".fifo"), {}), (name(), {"FifoTopic": "true"}), ("x" * 252 + ".fifo",
                                                                                   {"FifoTopic": "true"})):
        assert fails(sns.create_topic, "InvalidParameter", Name=bad, Attributes=attributes) == (
            "Invalid parameter: Topic Name")
    topic = new_topic(server)
    assert fails(sns.set_topic_attributes, "InvalidParameter", TopicArn=topic, AttributeName="FifoTopic",
                 AttributeValue="false") == "Invalid parameter: AttributeName"


def test_duplicated_tag_keys(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic = new_topic(server)
    assert fails(sns.tag_resource, "InvalidParameter", ResourceArn=topic,
                 Tags=[{"Key": "k1", "Value": "v1"}, {"Key": "k1", "Value": "v2"}]) == (
        "Invalid parameter: Duplicated keys are not allowed.")
    assert sns.list_tags_for_resource(ResourceArn=topic)["Tags"] == []


def test_fifo_subscription_needs_fifo_dead_letter_queue(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    fifo_topic = new_topic(server, fifo=True)
    standard_dlq = new_queue_arn(server)
    policy = json.dumps({"deadLetterTargetArn": standard_dlq})
    # A standard queue's subscription to a FIFO topic may use a standard dead-letter queue.
    standard = subscribe_queue(server, fifo_topic, new_queue_arn(server))
    sns.set_subscription_attributes(SubscriptionArn=standard, AttributeName="RedrivePolicy", AttributeValue=policy)
    fifo = subscribe_queue(server, fifo_topic, new_queue_arn(server, fifo=True))
    message = "RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO Topic."
    assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=fifo,
                 AttributeName="RedrivePolicy", AttributeValue=policy) == "Invalid parameter: " + message
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=fifo_topic, Protocol="sqs",
                 Endpoint=new_queue_arn(server, fifo=True), Attributes={"RedrivePolicy": policy}) == (
        "Invalid parameter: Attributes Reason: " + message)
    fifo_dlq = json.dumps({"deadLetterTargetArn": new_queue_arn(server, fifo=True)})
    sns.set_subscription_attributes(SubscriptionArn=fifo, AttributeName="RedrivePolicy", AttributeValue=fifo_dlq)


def test_subscription_attribute_messages(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    topic = new_topic(server)
    arn = subscribe_queue(server, topic, new_queue_arn(server))
    assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                 AttributeName="FakeAttribute", AttributeValue="x") == "Invalid parameter: AttributeName"
    for value in ("test-ValUe", ""):
        assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                     AttributeName="RawMessageDelivery", AttributeValue=value) == (
            f"Invalid parameter: RawMessageDelivery: Invalid value [{value}]. Must be true or false.")
    assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                 AttributeName="RedrivePolicy", AttributeValue=json.dumps({"deadLetterTargetArn": "fake-arn"})) == (
        "Invalid parameter: RedrivePolicy: deadLetterTargetArn is an invalid arn")
    assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                 AttributeName="FilterPolicy", AttributeValue="{invalid").startswith(
        "Invalid parameter: FilterPolicy: failed to parse JSON.")
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=topic, Protocol="sqs", Endpoint=new_queue_arn(server),
                 Attributes={"RawMessageDelivery": "wrongvalue"}) == (
        "Invalid parameter: Attributes Reason: RawMessageDelivery: Invalid value [wrongvalue]. Must be true or false.")
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=topic, Protocol="sqs", Endpoint=new_queue_arn(server),
                 Attributes={"FilterPolicy": json.dumps({"key": [{"cidr": "bad-/64filter"}]})}) == (
        "Invalid parameter: Attributes Reason: FilterPolicy: Malformed CIDR, mask bits must be an integer")
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=topic, Protocol="sqs", Endpoint=new_queue_arn(server),
                 Attributes={"FilterPolicy": json.dumps({"key": {"suffix": "value"}})}) == (
        'Invalid parameter: Attributes Reason: FilterPolicy: "suffix" must be an object or an array')
    assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                 AttributeName="FilterPolicy", AttributeValue=json.dumps({"key_a": "value_one"})) == (
        'Invalid parameter: FilterPolicy: "key_a" must be an object or an array')
    assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                 AttributeName="FilterPolicyScope", AttributeValue="RandomValue") == (
        "Invalid parameter: FilterPolicyScope: Invalid value [RandomValue]. Please use either MessageBody or "
        "MessageAttributes")


def test_filter_policy_scope_shown_only_with_a_policy(server: ServerProcess) -> None:
    sns: Any = server.client("sns")
    arn = subscribe_queue(server, new_topic(server), new_queue_arn(server))
    assert "FilterPolicyScope" not in sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope",
                                    AttributeValue="MessageBody")
    assert "FilterPolicyScope" not in sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"attr": ["match-this"]}))
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["FilterPolicyScope"] == "MessageBody"
    assert json.loads(attributes["FilterPolicy"]) == {"attr": ["match-this"]}


def test_filter_policy_anything_but_takes_prefix_only(server: ServerProcess) -> None:
    """Recorded against AWS: inside anything-but only prefix is an operator."""
    sns: Any = server.client("sns")
    arn = subscribe_queue(server, new_topic(server), new_queue_arn(server))
    for operator, operand in (("suffix", "test"), ("exists", False), ("wrong-operator", None)):
        policy = json.dumps({"key": [{"anything-but": {operator: operand}}]})
        assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                     AttributeName="FilterPolicy", AttributeValue=policy) == (
            f"Invalid parameter: FilterPolicy: Unsupported anything-but pattern: {operator}")
    assert fails(sns.set_subscription_attributes, "InvalidParameter", SubscriptionArn=arn,
                 AttributeName="FilterPolicy",
                 AttributeValue=json.dumps({"key": [{"anything-but": {"prefix": False}}]})) == (
        "Invalid parameter: FilterPolicy: prefix match pattern must be a string")
    sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                    AttributeValue=json.dumps({"key": [{"anything-but": {"prefix": "test-"}}]}))


def test_unsupported_protocol_is_refused_after_the_attributes_are_checked(server: ServerProcess) -> None:
    """A protocol Cipherpost does not deliver to (sms here) is refused last, so a request
    AWS refuses for its filter policy gets AWS's answer."""
    sns: Any = server.client("sns")
    topic = new_topic(server)
    bad = json.dumps({"key": [{"wrong-operator": True}]})
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=topic, Protocol="sms", Endpoint="+123123123",
                 Attributes={"FilterPolicy": bad}) == (
        "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type wrong-operator")
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=topic, Protocol="sms", Endpoint="+123123123",
                 Attributes={"FilterPolicy": json.dumps({"key": ["v"]})}) == (
        "Invalid parameter: Protocol Reason: Cipherpost does not deliver to sms")
    assert fails(sns.subscribe, "InvalidParameter", TopicArn=topic, Protocol="carrier-pigeon",
                 Endpoint="x") == "Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon"


def test_message_attribute_texts(server: ServerProcess) -> None:
    """Publish and PublishBatch (the whole batch fails) word bad attributes as AWS does."""
    sns: Any = server.client("sns", parameter_validation=False)
    topic = new_topic(server)
    for attributes, message in (
            ({"attr1": {"DataType": "Binary", "StringValue": "123"}},
             "The message attribute 'attr1' with type 'Binary' must use field 'Binary'."),
            ({"a..bc": {"DataType": "String", "StringValue": "123"}},
             "Message attribute name can not have successive '.' character.")):
        assert fails(sns.publish, "ParameterValueInvalid", TopicArn=topic, Message="m",
                     MessageAttributes=attributes) == message
        assert fails(sns.publish_batch, "ParameterValueInvalid", TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "1", "Message": "m", "MessageAttributes": attributes}, {"Id": "2", "Message": "n"}]) == message
