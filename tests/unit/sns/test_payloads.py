"""Payloads: the signed envelope is made once per message text and shared; the template cache
stays bounded by the message text it holds."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from pathlib import Path

import pytest

from cipherpost.crypto.keyring import Keyring
from cipherpost.services.sns import payloads
from cipherpost.services.sns.payloads import Notice, Payloads
from cipherpost.services.sns.signing import SignatureVersion, SigningKey, verify
from cipherpost.services.sns.subscriptions import Subscription

TOPIC = "arn:aws:sns:us-east-1:111122223333:records"


def subscription(n: int, *, raw: bool = False) -> Subscription:
    return Subscription(arn=f"{TOPIC}:{n:04d}", topic_arn=TOPIC, owner_account="111122223333", protocol="sqs",
                        endpoint="arn:aws:sqs:us-east-1:111122223333:q", status="confirmed", token=None,
                        token_expires_at=None, authenticated_unsubscribe=False,
                        attributes={"RawMessageDelivery": "true"} if raw else {}, principal_arn="root")


def notice(message_id: str, message: str) -> Notice:
    return Notice(message_id, TOPIC, "subject", message, None, {}, 1_700_000_000_000, "2")


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey.load_or_create(Path(tmp_path_factory.mktemp("sns")) / "key", Keyring(secrets.token_bytes(32)),
                                     subject_host="cipherpost.example")


@pytest.mark.parametrize("processes", [0, 1])
def test_one_signature_per_message_and_each_subscription_its_own_unsubscribe_url(
        key: SigningKey, monkeypatch: pytest.MonkeyPatch, processes: int) -> None:
    """Signed once, whether in a signing process or a thread; every envelope verifies."""
    signed: list[str] = []
    original = SigningKey.sign_async

    async def counting(self: SigningKey, message: Mapping[str, object], *, version: SignatureVersion) -> str:
        signed.append(str(message["MessageId"]))
        return await original(self, message, version=version)

    monkeypatch.setattr(SigningKey, "sign_async", counting)

    async def main() -> list[str]:
        async def signing_key() -> SigningKey:
            return key

        key.use_processes(processes)
        try:
            builder = Payloads(signing_key, base_url="https://cp.example", signing_cert_url="https://cp.example/c.pem")
            one = notice("m-1", "hello")
            bodies = await asyncio.gather(*(builder.payload(one, subscription(n)) for n in range(3)))
            assert await builder.payload(one, subscription(9, raw=True)) == "hello"
            return list(bodies)
        finally:
            await key.close()

    bodies = asyncio.run(main())
    assert signed == ["m-1"]
    envelopes = [json.loads(body) for body in bodies]
    # AWS's form: the ARN's colons left as they are.
    assert [e["UnsubscribeURL"] for e in envelopes] == [
        f"https://cp.example/?Action=Unsubscribe&SubscriptionArn={TOPIC}:{n:04d}" for n in range(3)]
    assert len({e["Signature"] for e in envelopes}) == 1
    for envelope in envelopes:
        assert verify(envelope, envelope["Signature"], key.cert_pem)


def test_template_cache_is_bounded_by_the_text_it_holds(key: SigningKey, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payloads, "_TEMPLATE_TEXT", 10_000)

    async def main() -> Payloads:
        async def signing_key() -> SigningKey:
            return key

        builder = Payloads(signing_key, base_url="https://cp.example", signing_cert_url="https://cp.example/c.pem")
        for n in range(12):
            await builder.payload(notice(f"m-{n}", "x" * 3000), subscription(0))
        return builder

    builder = asyncio.run(main())
    assert builder._template_text <= 10_000
    assert len(builder._templates) == 3


FIFO_TOPIC = "arn:aws:sns:us-east-1:111122223333:orders.fifo"


def test_fifo_envelope_has_sequence_number_and_no_signature() -> None:
    """AWS's recorded field order for a FIFO topic's notification; nothing is signed."""

    async def no_key() -> SigningKey:
        raise AssertionError("a FIFO envelope is not signed")

    row = {"message_id": "m-2", "topic_arn": FIFO_TOPIC, "subject": "s", "message_structure": None,
           "message_attributes": json.dumps({"a": {"DataType": "String", "StringValue": "v"}}),
           "published_at": 1_700_000_000_000, "signature_version": "1", "group_id": "g", "dedup_id": "d", "seq": 7}
    fifo = Notice.from_row(row, "hello")
    queue = Subscription(arn=f"{FIFO_TOPIC}:0001", topic_arn=FIFO_TOPIC, owner_account="111122223333",
                         protocol="sqs", endpoint="arn:aws:sqs:us-east-1:111122223333:q.fifo", status="confirmed",
                         token=None, token_expires_at=None, authenticated_unsubscribe=False, attributes={},
                         principal_arn="root")
    builder = Payloads(no_key, base_url="https://cp.example", signing_cert_url="https://cp.example/c.pem")
    envelope = json.loads(asyncio.run(builder.payload(fifo, queue)))
    assert list(envelope) == ["Type", "MessageId", "SequenceNumber", "TopicArn", "Subject", "Message", "Timestamp",
                              "UnsubscribeURL", "MessageAttributes"]
    assert envelope["SequenceNumber"] == "00000000000000000007"
    assert envelope["UnsubscribeURL"] == f"https://cp.example/?Action=Unsubscribe&SubscriptionArn={FIFO_TOPIC}:0001"
    assert envelope["MessageAttributes"] == {"a": {"Type": "String", "Value": "v"}}


def test_quoted_keeps_colons_and_encodes_the_rest() -> None:
    assert payloads.quoted("arn:aws:sns:us-east-1:1:t") == "arn:aws:sns:us-east-1:1:t"
    assert payloads.quoted("a&b=c d/e") == "a%26b%3Dc%20d%2Fe"
