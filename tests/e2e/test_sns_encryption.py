"""The blog's scenario end to end with boto3, and every way its encryption can be misconfigured.

"Encrypting messages published to Amazon SNS with AWS KMS": an IAM user EMRUser whose only
permission is ``sns:Publish`` on Patient-Records publishes; the topic and the three queues
are encrypted under the customer key alias/EMRKey, whose policy names root, EMRAdmin,
EMRUser and sns.amazonaws.com. The resources are created by the account root (the blog's
snippet reuses EMRUser's credentials for them, which its own policy would not allow).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, launch

from cipherpost.demo import MESSAGE, QUEUES, SUBJECT, Scenario, publisher_policy, queue_policy


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Scenario]]:
    proc = launch(tmp_path_factory.mktemp("sns-sse") / "data")
    scenario = Scenario(lambda service, **kw: proc.client(service, access_key_id=kw.get("access_key_id"),
                                                          secret=kw.get("secret")), say=lambda _: None)
    scenario.create_user("EMRAdmin")
    scenario.create_user("EMRUser", json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": ["sns:Publish"], "Resource": "arn:aws:sns:*:*:*"}}))
    yield proc, scenario
    proc.stop()


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def topic_with_queues(scene: Scenario, key: str, *, queue_keys: list[str] | None = None,
                      name: str | None = None) -> tuple[str, list[str]]:
    sns = scene.client("sns")
    topic = sns.create_topic(Name=name or f"t-{uuid.uuid4().hex[:8]}", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    urls = []
    for queue_key in queue_keys or [key]:
        url, arn = scene.create_queue(f"q-{uuid.uuid4().hex[:8]}", queue_key, topic)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        urls.append(url)
    return topic, urls


def bodies(scene: Scenario, url: str, wait: int = 10) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in scene.receive(url, wait=wait)]


def test_the_blog_scenario(scene: tuple[ServerProcess, Scenario]) -> None:
    server, s = scene
    account = s.account
    key_id = f"arn:aws:kms:us-east-1:{account}:alias/EMRKey"
    s.create_key("alias/EMRKey")
    sns, sqs = s.client("sns"), s.client("sqs")
    topic_arn = sns.create_topic(Name="Patient-Records", Attributes={"KmsMasterKeyId": key_id})["TopicArn"]
    assert topic_arn == f"arn:aws:sns:us-east-1:{account}:Patient-Records"
    assert sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["KmsMasterKeyId"] == key_id
    s.client("iam").put_user_policy(UserName="EMRUser", PolicyName="blog", PolicyDocument=publisher_policy(topic_arn))
    urls = []
    for name in QUEUES:
        url = sqs.create_queue(QueueName=name, Attributes={"KmsMasterKeyId": key_id})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, topic_arn)})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        urls.append(url)
    message_id = s.as_user("EMRUser", "sns").publish(Subject=SUBJECT, Message=MESSAGE,
                                                     TopicArn=topic_arn)["MessageId"]
    for url in urls:
        (envelope,) = bodies(s, url)
        assert envelope["Message"] == MESSAGE and envelope["Subject"] == SUBJECT
        assert envelope["MessageId"] == message_id and envelope["TopicArn"] == topic_arn
    del server


def test_kms_master_key_id_forms(scene: tuple[ServerProcess, Scenario]) -> None:
    _, s = scene
    alias = f"alias/k-{uuid.uuid4().hex[:8]}"
    alias_arn = s.create_key(alias)
    key_arn = s.client("kms").describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
    key_id = key_arn.rpartition("/")[2]
    for form in (key_id, key_arn, alias, alias_arn):
        topic, (url,) = topic_with_queues(s, form, queue_keys=[alias])
        s.as_user("EMRUser", "sns").publish(TopicArn=topic, Message=f"via {form}")
        assert [b["Message"] for b in bodies(s, url)] == [f"via {form}"]


def test_aws_managed_sns_key(scene: tuple[ServerProcess, Scenario]) -> None:
    _, s = scene
    alias = s.create_key(f"alias/q-{uuid.uuid4().hex[:8]}")
    topic, (url,) = topic_with_queues(s, "alias/aws/sns", queue_keys=[alias])
    s.client("sns").publish(TopicArn=topic, Message="managed")
    assert [b["Message"] for b in bodies(s, url)] == ["managed"]


def test_publisher_without_kms_permission_gets_kms_access_denied(scene: tuple[ServerProcess, Scenario]) -> None:
    _, s = scene
    key = s.client("kms").create_key()["KeyMetadata"]["KeyId"]  # default policy: IAM decides; EMRUser has none
    topic, (url,) = topic_with_queues(s, key, queue_keys=[s.create_key(f"alias/q-{uuid.uuid4().hex[:8]}")])
    with pytest.raises(ClientError) as info:
        s.as_user("EMRUser", "sns").publish(TopicArn=topic, Message="denied")
    assert code(info) == "KMSAccessDenied"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert s.receive(url, wait=2) == []


def test_disabled_missing_and_pending_deletion_keys(scene: tuple[ServerProcess, Scenario]) -> None:
    _, s = scene
    kms, sns = s.client("kms"), s.client("sns")
    queue_key = s.create_key(f"alias/q-{uuid.uuid4().hex[:8]}")
    alias = f"alias/k-{uuid.uuid4().hex[:8]}"
    s.create_key(alias)
    key_id = kms.describe_key(KeyId=alias)["KeyMetadata"]["KeyId"]
    topic, (url,) = topic_with_queues(s, alias, queue_keys=[queue_key])
    sns.publish(TopicArn=topic, Message="before")  # caches a data key: disabling must still stop the next one
    assert [b["Message"] for b in bodies(s, url)] == ["before"]  # delivered (decrypted) while the key works
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as info:
        sns.publish(TopicArn=topic, Message="disabled")
    assert code(info) == "KMSDisabled"
    kms.enable_key(KeyId=key_id)
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with pytest.raises(ClientError) as info:
        sns.publish(TopicArn=topic, Message="pending")
    assert code(info) == "KMSInvalidState"
    missing, _ = topic_with_queues(s, "alias/does-not-exist", queue_keys=[queue_key])
    with pytest.raises(ClientError) as info:
        sns.publish(TopicArn=missing, Message="missing")
    assert code(info) == "KMSNotFound"
    assert s.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=2).get("Messages", []) == []


def test_key_policy_without_sns_principal_delivers_nothing(scene: tuple[ServerProcess, Scenario]) -> None:
    _, s = scene
    alias = s.create_key(f"alias/k-{uuid.uuid4().hex[:8]}", service_principal=False)
    queue_key = s.create_key(f"alias/q-{uuid.uuid4().hex[:8]}")
    topic, (url,) = topic_with_queues(s, alias, queue_keys=[queue_key])
    s.as_user("EMRUser", "sns").publish(TopicArn=topic, Message="never decrypted")  # accepted: EMRUser may
    assert s.receive(url, wait=3) == []


def test_queue_on_aws_managed_sqs_key_receives_nothing(scene: tuple[ServerProcess, Scenario]) -> None:
    _, s = scene
    alias = s.create_key(f"alias/k-{uuid.uuid4().hex[:8]}")
    topic, (bad, good) = topic_with_queues(s, alias, queue_keys=["alias/aws/sqs", alias])
    s.client("sns").publish(TopicArn=topic, Message="fan-out")
    assert [b["Message"] for b in bodies(s, good)] == ["fan-out"]
    assert s.receive(bad, wait=2) == []


def test_queue_policy_without_the_topic_receives_nothing_and_dead_letters(
        scene: tuple[ServerProcess, Scenario]) -> None:
    _, s = scene
    sns, sqs = s.client("sns"), s.client("sqs")
    key = s.create_key(f"alias/k-{uuid.uuid4().hex[:8]}")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}", Attributes={"KmsMasterKeyId": key})["TopicArn"]
    other_topic = topic + "-other"
    url, arn = s.create_queue(f"q-{uuid.uuid4().hex[:8]}", key, other_topic)  # allows another topic only
    dlq_url, dlq_arn = s.create_queue(f"dlq-{uuid.uuid4().hex[:8]}", key, topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                  Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
    sns.publish(TopicArn=topic, Message="to the dead letters")
    assert [b["Message"] for b in bodies(s, dlq_url)] == ["to the dead letters"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_enabling_and_disabling_sse(scene: tuple[ServerProcess, Scenario]) -> None:
    server, s = scene
    sns = s.client("sns")
    alias = s.create_key(f"alias/k-{uuid.uuid4().hex[:8]}")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url, arn = s.create_queue(f"q-{uuid.uuid4().hex[:8]}", alias, topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="clear")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue=alias)
    sns.publish(TopicArn=topic, Message="sealed")
    sns.set_topic_attributes(TopicArn=topic, AttributeName="KmsMasterKeyId", AttributeValue="")
    assert "KmsMasterKeyId" not in sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    sns.publish(TopicArn=topic, Message="clear again")
    received = sorted(b["Message"] for b in bodies(s, url) + bodies(s, url, wait=2))
    assert received == ["clear", "clear again", "sealed"]
    del server


def test_no_plaintext_body_in_the_data_directory(tmp_path: Path) -> None:
    server = launch(tmp_path / "data")
    try:
        s = Scenario(lambda service, **kw: server.client(service, access_key_id=kw.get("access_key_id"),
                                                         secret=kw.get("secret")), say=lambda _: None)
        marker = f"PATIENT-{uuid.uuid4().hex}"
        alias = s.create_key("alias/EMRKey")
        topic, urls = topic_with_queues(s, alias, queue_keys=[alias, alias])
        s.client("sns").publish(TopicArn=topic, Message=f"record {marker}", Subject="clear subject",
                                MessageAttributes={"clinic": {"DataType": "String", "StringValue": "north"}})
        for url in urls:
            assert marker in bodies(s, url)[0]["Message"]
    finally:
        server.stop()
    needle = marker.encode()
    scanned = 0
    for path in [*tmp_path.rglob("*")]:
        if path.is_file():
            scanned += 1
            assert needle not in path.read_bytes(), f"plaintext body found in {path}"
    assert scanned > 3
