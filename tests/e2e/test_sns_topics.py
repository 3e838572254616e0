"""Topics end to end: creation rules, attributes, listing, permissions (cross-account callers
in dev mode, where a 12-digit access key acts as that account's root), tags, data protection."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, launch

OWNER = "000000000000"
OTHER = "111111111111"


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = launch(tmp_path_factory.mktemp("sns-topics") / "data", "--dev")
    yield proc
    proc.stop()


def sns(server: ServerProcess, account: str | None = None) -> Any:
    if account is None:
        return server.client("sns")
    return server.client("sns", access_key_id=account, secret="dev-mode-ignores-this")


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def name() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def test_create_is_idempotent_and_checks_attributes(dev_server: ServerProcess) -> None:
    client = sns(dev_server)
    topic = name()
    arn = client.create_topic(Name=topic, Attributes={"DisplayName": "EMR"}, Tags=[{"Key": "a", "Value": "1"}])
    assert arn["TopicArn"] == f"arn:aws:sns:us-east-1:{OWNER}:{topic}"
    assert client.create_topic(Name=topic, Attributes={"DisplayName": "EMR"})["TopicArn"] == arn["TopicArn"]
    with pytest.raises(ClientError) as info:
        client.create_topic(Name=topic, Attributes={"DisplayName": "other"})
    assert code(info) == "InvalidParameter"
    with pytest.raises(ClientError) as info:
        client.create_topic(Name=topic, Tags=[{"Key": "a", "Value": "2"}])
    assert code(info) == "InvalidParameter"
    for bad in ("", "has space", "x" * 257, "bad.fifo"):
        with pytest.raises(ClientError) as info:
            client.create_topic(Name=bad)
        assert code(info) == "InvalidParameter", bad
    for attributes in ({"SignatureVersion": "3"}, {"TracingConfig": "Sometimes"}, {"Bogus": "1"},
                       {"ContentBasedDeduplication": "true"}, {"Policy": "{not json"},
                       {"DeliveryPolicy": json.dumps({"http": {"defaultHealthyRetryPolicy": {"numRetries": -1}}})}):
        with pytest.raises(ClientError) as info:
            client.create_topic(Name=name(), Attributes=attributes)
        assert code(info) == "InvalidParameter", attributes


def test_fifo_topics(dev_server: ServerProcess) -> None:
    client = sns(dev_server)
    arn = client.create_topic(Name=name() + ".fifo", Attributes={"FifoTopic": "true",
                                                                  "ContentBasedDeduplication": "true"})["TopicArn"]
    attributes = client.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["FifoTopic"] == "true" and attributes["ContentBasedDeduplication"] == "true"
    with pytest.raises(ClientError) as info:
        client.create_topic(Name=name(), Attributes={"FifoTopic": "true"})
    assert code(info) == "InvalidParameter"


def test_attributes_round_trip(dev_server: ServerProcess) -> None:
    client = sns(dev_server)
    arn = client.create_topic(Name=name())["TopicArn"]
    attributes = client.get_topic_attributes(TopicArn=arn)["Attributes"]
    # A new standard topic shows exactly these (no DeliveryPolicy or SignatureVersion until set).
    assert set(attributes) == {"DisplayName", "EffectiveDeliveryPolicy", "Owner", "Policy", "SubscriptionsConfirmed",
                               "SubscriptionsDeleted", "SubscriptionsPending", "TopicArn"}
    assert attributes["Owner"] == OWNER and attributes["TopicArn"] == arn
    assert attributes["SubscriptionsConfirmed"] == "0" and attributes["SubscriptionsPending"] == "0"
    policy = json.loads(attributes["Policy"])
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"AWS:SourceOwner": OWNER}}
    effective = json.loads(attributes["EffectiveDeliveryPolicy"])
    assert effective["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 3
    for attribute, value in (("DisplayName", "Clinic"), ("SignatureVersion", "2"), ("TracingConfig", "Active"),
                             ("KmsMasterKeyId", "alias/aws/sns")):
        client.set_topic_attributes(TopicArn=arn, AttributeName=attribute, AttributeValue=value)
        assert client.get_topic_attributes(TopicArn=arn)["Attributes"][attribute] == value
    with pytest.raises(ClientError) as info:
        client.set_topic_attributes(TopicArn=arn, AttributeName="FifoTopic", AttributeValue="true")
    assert code(info) == "InvalidParameter"
    with pytest.raises(ClientError) as info:
        client.get_topic_attributes(TopicArn=arn + "-missing")
    assert code(info) == "NotFound"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as info:
        client.get_topic_attributes(TopicArn="not-an-arn")
    assert code(info) == "InvalidParameter"


def test_list_topics_paginates(tmp_path_factory: pytest.TempPathFactory) -> None:
    proc = launch(tmp_path_factory.mktemp("sns-list") / "data")
    try:
        client = proc.client("sns")
        created = {client.create_topic(Name=f"p{i:03d}")["TopicArn"] for i in range(105)}
        first = client.list_topics()
        assert len(first["Topics"]) == 100 and "NextToken" in first
        second = client.list_topics(NextToken=first["NextToken"])
        assert "NextToken" not in second
        assert {t["TopicArn"] for t in first["Topics"] + second["Topics"]} == created
        paginated = [t["TopicArn"] for page in client.get_paginator("list_topics").paginate() for t in page["Topics"]]
        assert set(paginated) == created
    finally:
        proc.stop()


def test_cross_account_needs_the_topic_policy(dev_server: ServerProcess) -> None:
    owner, other = sns(dev_server), sns(dev_server, OTHER)
    arn = owner.create_topic(Name=name())["TopicArn"]
    with pytest.raises(ClientError) as info:
        other.publish(TopicArn=arn, Message="x")
    assert code(info) == "AuthorizationError"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    owner.add_permission(TopicArn=arn, Label="other-publish", AWSAccountId=[OTHER], ActionName=["Publish"])
    assert other.publish(TopicArn=arn, Message="x")["MessageId"]
    with pytest.raises(ClientError) as info:
        other.get_topic_attributes(TopicArn=arn)
    assert code(info) == "AuthorizationError"
    with pytest.raises(ClientError) as info:
        owner.add_permission(TopicArn=arn, Label="other-publish", AWSAccountId=[OTHER], ActionName=["Publish"])
    assert code(info) == "InvalidParameter"
    owner.remove_permission(TopicArn=arn, Label="other-publish")
    with pytest.raises(ClientError) as info:
        other.publish(TopicArn=arn, Message="x")
    assert code(info) == "AuthorizationError"
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": OTHER},
                                                      "Action": "sns:GetTopicAttributes", "Resource": arn}]}
    owner.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
    assert other.get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"] == arn
    assert arn not in [t["TopicArn"] for t in other.list_topics()["Topics"]]


def test_add_permission_writes_the_statement_aws_writes(dev_server: ServerProcess) -> None:
    owner = sns(dev_server)
    arn = owner.create_topic(Name=name())["TopicArn"]

    def statement(label: str) -> dict[str, Any]:
        policy = json.loads(owner.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
        (found,) = [s for s in policy["Statement"] if s["Sid"] == label]
        return dict(found)

    owner.add_permission(TopicArn=arn, Label="one", AWSAccountId=[OTHER], ActionName=["Publish"])
    assert statement("one") == {"Sid": "one", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                                "Action": "SNS:Publish", "Resource": arn}
    owner.add_permission(TopicArn=arn, Label="two", AWSAccountId=[OTHER, "222222222222"],
                         ActionName=["Publish", "Subscribe"])
    assert statement("two")["Principal"] == {"AWS": [f"arn:aws:iam::{OTHER}:root", "arn:aws:iam::222222222222:root"]}
    assert statement("two")["Action"] == ["SNS:Publish", "SNS:Subscribe"]
    assert sns(dev_server, OTHER).publish(TopicArn=arn, Message="x")["MessageId"]


def test_iam_user_through_identity_or_topic_policy(tmp_path_factory: pytest.TempPathFactory) -> None:
    proc = launch(tmp_path_factory.mktemp("sns-iam") / "data")
    try:
        iam, client = proc.client("iam"), proc.client("sns")
        arn = client.create_topic(Name="Patient-Records")["TopicArn"]
        iam.create_user(UserName="Clerk")
        key = iam.create_access_key(UserName="Clerk")["AccessKey"]
        clerk = proc.client("sns", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
        with pytest.raises(ClientError) as info:
            clerk.publish(TopicArn=arn, Message="x")
        assert code(info) == "AuthorizationError"
        assert "sns:Publish" in info.value.response["Error"]["Message"]
        user_arn = iam.get_user(UserName="Clerk")["User"]["Arn"]
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": user_arn},
                                                          "Action": "sns:Publish", "Resource": arn}]}
        client.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
        assert clerk.publish(TopicArn=arn, Message="x")["MessageId"]
    finally:
        proc.stop()


def test_tags_and_data_protection_policy(dev_server: ServerProcess) -> None:
    client = sns(dev_server)
    arn = client.create_topic(Name=name(), Tags=[{"Key": "team", "Value": "emr"}])["TopicArn"]
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"},
                                                                      {"Key": "team", "Value": "emr"}]
    client.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    with pytest.raises(ClientError) as info:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code(info) == "TagLimitExceeded"
    with pytest.raises(ClientError) as info:
        client.list_tags_for_resource(ResourceArn=arn + "-missing")
    assert code(info) == "ResourceNotFound"
    assert client.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == ""
    policy = json.dumps({"Name": "phi", "Description": "", "Version": "2021-06-01", "Statement": [{
        "DataDirection": "Inbound", "Principal": ["*"], "DataIdentifier": [
            "arn:aws:dataprotection::aws:data-identifier/EmailAddress"], "Operation": {"Deny": {}}}]})
    client.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=policy)
    assert client.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == policy
    with pytest.raises(ClientError) as info:
        client.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy='{"Name": "x"}')
    assert code(info) == "InvalidParameter"


def test_delete_topic_removes_its_subscriptions(dev_server: ServerProcess) -> None:
    client = sns(dev_server)
    arn = client.create_topic(Name=name())["TopicArn"]
    client.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{OWNER}:q-{uuid.uuid4().hex}")
    client.delete_topic(TopicArn=arn)
    assert arn not in [t["TopicArn"] for t in client.list_topics()["Topics"]]
    assert all(s["TopicArn"] != arn for s in client.list_subscriptions()["Subscriptions"])
    client.delete_topic(TopicArn=arn)  # idempotent, as AWS documents
