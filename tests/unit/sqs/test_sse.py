"""SSE for queues with the KMS and SQS providers in process: SNS deliveries to an encrypted
queue (AWS's classic mistake with ``alias/aws/sqs``), key invalidation reaching cached data
keys at once, one KMS call per data key, and the stored form of sealed bodies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from cipherpost.config import Settings
from cipherpost.errors import AwsError
from cipherpost.runtime import start_runtime
from cipherpost.services.authz import Authorizer
from cipherpost.services.kms import KmsProvider
from cipherpost.services.sqs import SqsProvider
from cipherpost.services.sqs.names import QueueRef
from cipherpost.services.sqs.queues import now_ms
from cipherpost.services.sqs.sse import SSE_KMS, SSE_SQS

from .test_deliver_as_service import TOPIC, context, service_policy

ACCOUNT = "000000000000"


def run(tmp_path: Path, body: Callable[[SqsProvider, KmsProvider], Awaitable[None]]) -> None:
    async def main() -> None:
        runtime = await start_runtime(Settings(data_dir=tmp_path / "data"), environ={})
        authz = Authorizer()
        kms = KmsProvider(runtime, authz)
        sqs = SqsProvider(runtime, authz, kms=kms)
        await sqs.start()
        try:
            await body(sqs, kms)
        finally:
            await sqs.stop()
            await runtime.close()

    asyncio.run(main())


def sns_key_policy() -> str:
    """A customer key policy with the blog's statement for the SNS service principal."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}]})


async def encrypted_queue(sqs: SqsProvider, name: str, key_id: str) -> tuple[str, str]:
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    url = (await sqs.create_queue(context("CreateQueue"), {"QueueName": name, "Attributes": {
        "KmsMasterKeyId": key_id, "Policy": service_policy(arn)}}))["QueueUrl"]
    return url, arn


async def receive(sqs: SqsProvider, url: str) -> list[dict[str, Any]]:
    got = await sqs.receive_message(context("ReceiveMessage"), {"QueueUrl": url, "MaxNumberOfMessages": 10})
    return list(got.get("Messages", []))


def test_sns_delivery_to_a_queue_under_the_aws_managed_key_is_refused(tmp_path: Path) -> None:
    async def body(sqs: SqsProvider, _kms: KmsProvider) -> None:
        _, arn = await encrypted_queue(sqs, "billing", "alias/aws/sqs")
        with pytest.raises(AwsError) as info:
            await sqs.deliver_as_service(context("Publish"), arn, "record", message_attributes=None,
                                         source_arn=TOPIC)
        assert info.value.code == "KmsAccessDenied"
        assert "sns.amazonaws.com" in info.value.message

    run(tmp_path, body)


def test_sns_delivery_with_a_key_that_allows_sns_works(tmp_path: Path) -> None:
    async def body(sqs: SqsProvider, kms: KmsProvider) -> None:
        key = await kms.create_key(context("CreateKey"), {"Policy": sns_key_policy()})
        url, arn = await encrypted_queue(sqs, "scheduling", key["KeyMetadata"]["KeyId"])
        await sqs.deliver_as_service(context("Publish"), arn, '{"patient": 2911}', message_attributes=None,
                                     source_arn=TOPIC)
        assert [message["Body"] for message in await receive(sqs, url)] == ['{"patient": 2911}']

    run(tmp_path, body)


def test_disabling_a_key_stops_cached_data_keys_at_once(tmp_path: Path) -> None:
    async def body(sqs: SqsProvider, kms: KmsProvider) -> None:
        key_id = (await kms.create_key(context("CreateKey"), {}))["KeyMetadata"]["KeyId"]
        url, _ = await encrypted_queue(sqs, "prescription", key_id)
        calls = count_calls(kms, "generate_data_key_for")
        for index in range(5):
            await sqs.send_message(context("SendMessage"), {"QueueUrl": url, "MessageBody": f"m{index}"})
        assert calls == [1]  # one data key for the reuse period
        await kms.disable_key(context("DisableKey"), {"KeyId": key_id})
        with pytest.raises(AwsError) as info:
            await sqs.send_message(context("SendMessage"), {"QueueUrl": url, "MessageBody": "late"})
        assert info.value.code == "KmsDisabled"
        with pytest.raises(AwsError) as refused:
            await receive(sqs, url)
        assert refused.value.code == "KmsDisabled"
        await kms.enable_key(context("EnableKey"), {"KeyId": key_id})
        assert len(await receive(sqs, url)) == 5

    run(tmp_path, body)


def test_stored_bodies_are_sealed_and_carry_no_plaintext_digest(tmp_path: Path) -> None:
    async def body(sqs: SqsProvider, kms: KmsProvider) -> None:
        key_id = (await kms.create_key(context("CreateKey"), {}))["KeyMetadata"]["KeyId"]
        await encrypted_queue(sqs, "kms-queue", key_id)
        await sqs.create_queue(context("CreateQueue"), {"QueueName": "managed"})
        for name, encoding in (("kms-queue", SSE_KMS), ("managed", SSE_SQS)):
            queue = await sqs.queues.require(QueueRef(ACCOUNT, name))
            await sqs.send_message(context("SendMessage"), {"QueueUrl": queue.url, "MessageBody": "secret body"})
            _, (stored,) = await sqs.messages.receive(queue, n=10, visibility_timeout=0, now=now_ms())
            assert b"secret body" not in bytes(stored["body"])
            assert (stored["body_encoding"], stored["md5_body"], stored["sealed_arn"]) == (encoding, "", queue.arn)

    run(tmp_path, body)


def count_calls(kms: KmsProvider, name: str) -> list[int]:
    """Count calls of one KMS internal-API method (the count is the list's only item)."""
    calls = [0]
    original = getattr(kms, name)

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await original(*args, **kwargs)

    setattr(kms, name, counting)
    return calls
