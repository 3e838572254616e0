"""The internal API SNS uses: ``deliver_as_service`` is authorized by the queue policy alone.

Both policy forms of issue 5 must let SNS deliver: the Java SDK v1 ``Topics.subscribeQueue``
form (Version 2008-10-17, Principal "*", ArnLike aws:SourceArn) and the
``Service: sns.amazonaws.com`` + ArnEquals form; without a matching statement, denied.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cipherpost.auth.credentials import root_caller
from cipherpost.config import Listener, Settings
from cipherpost.context import RequestContext
from cipherpost.errors import AwsError
from cipherpost.runtime import start_runtime
from cipherpost.services.authz import Authorizer
from cipherpost.services.sqs import SqsProvider

TOPIC = "arn:aws:sns:us-east-1:000000000000:emr-topic"
OTHER_TOPIC = "arn:aws:sns:us-east-1:000000000000:other-topic"
LISTENER = Listener("http", "127.0.0.1", 4566)


def context(operation: str) -> RequestContext:
    return RequestContext(request_id="r", received_at=datetime.now(UTC), region="us-east-1", service="sqs",
                          operation=operation, caller=root_caller("000000000000"), listener=LISTENER,
                          source_ip="127.0.0.1")


def java_sdk_policy(arn: str) -> str:
    return json.dumps({"Version": "2008-10-17", "Statement": [{
        "Sid": "topic-subscription-" + TOPIC, "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["sqs:SendMessage"], "Resource": [arn], "Condition": {"ArnLike": {"aws:SourceArn": TOPIC}}}]})


def service_policy(arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}]})


def run(tmp_path: Path, body: Callable[[SqsProvider], Awaitable[None]]) -> None:
    async def main() -> None:
        runtime = await start_runtime(Settings(data_dir=tmp_path / "data"), environ={})
        provider = SqsProvider(runtime, Authorizer())
        await provider.start()
        try:
            await body(provider)
        finally:
            await provider.stop()
            await runtime.close()

    asyncio.run(main())


async def make_queue(provider: SqsProvider, name: str, policy: Callable[[str], str] | None) -> tuple[str, str]:
    url = (await provider.create_queue(context("CreateQueue"), {"QueueName": name}))["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:000000000000:{name}"
    if policy is not None:
        await provider.set_queue_attributes(context("SetQueueAttributes"),
                                            {"QueueUrl": url, "Attributes": {"Policy": policy(arn)}})
    return url, arn


@pytest.mark.parametrize("policy", [java_sdk_policy, service_policy], ids=["java-sdk-v1", "service-principal"])
def test_sns_delivery_allowed_by_policy(tmp_path: Path, policy: Callable[[str], str]) -> None:
    async def body(provider: SqsProvider) -> None:
        url, arn = await make_queue(provider, "billing", policy)
        attributes: dict[str, Any] = {"k": {"DataType": "String", "StringValue": "v"}}
        message_id = await provider.deliver_as_service(context("Publish"), arn, '{"Type":"Notification"}',
                                                       message_attributes=attributes, source_arn=TOPIC)
        got = await provider.receive_message(context("ReceiveMessage"), {
            "QueueUrl": url, "MessageAttributeNames": ["All"], "MessageSystemAttributeNames": ["SenderId"]})
        (message,) = got["Messages"]
        assert message["MessageId"] == message_id
        assert message["MessageAttributes"] == attributes
        assert message["Attributes"]["SenderId"] == "sns.amazonaws.com"
        with pytest.raises(AwsError) as info:
            await provider.deliver_as_service(context("Publish"), arn, "x", message_attributes=None,
                                              source_arn=OTHER_TOPIC)
        assert info.value.code == "AccessDenied"

    run(tmp_path, body)


def test_sns_delivery_denied_without_policy(tmp_path: Path) -> None:
    async def body(provider: SqsProvider) -> None:
        _, arn = await make_queue(provider, "scheduling", None)
        with pytest.raises(AwsError) as info:
            await provider.deliver_as_service(context("Publish"), arn, "x", message_attributes=None,
                                              source_arn=TOPIC)
        assert info.value.code == "AccessDenied"
        assert "sns.amazonaws.com" in info.value.message
        with pytest.raises(AwsError) as missing:
            await provider.deliver_as_service(context("Publish"), arn + "-gone", "x", message_attributes=None,
                                              source_arn=TOPIC)
        assert missing.value.code == "QueueDoesNotExist"

    run(tmp_path, body)


def test_fifo_delivery_needs_group_id(tmp_path: Path) -> None:
    async def body(provider: SqsProvider) -> None:
        url = (await provider.create_queue(context("CreateQueue"), {
            "QueueName": "orders.fifo", "Attributes": {"FifoQueue": "true", "ContentBasedDeduplication": "true",
                                                       "Policy": service_policy(
                                                           "arn:aws:sqs:us-east-1:000000000000:orders.fifo")}}))[
            "QueueUrl"]
        arn = "arn:aws:sqs:us-east-1:000000000000:orders.fifo"
        with pytest.raises(AwsError) as info:
            await provider.deliver_as_service(context("Publish"), arn, "x", message_attributes=None,
                                              source_arn=TOPIC)
        assert info.value.code == "MissingParameter"
        first = await provider.deliver_as_service(context("Publish"), arn, "x", message_attributes=None,
                                                  source_arn=TOPIC, message_group_id="g")
        again = await provider.deliver_as_service(context("Publish"), arn, "x", message_attributes=None,
                                                  source_arn=TOPIC, message_group_id="g")
        assert first == again  # content-based deduplication
        got = await provider.receive_message(context("ReceiveMessage"), {"QueueUrl": url, "MaxNumberOfMessages": 10})
        assert len(got["Messages"]) == 1

    run(tmp_path, body)
