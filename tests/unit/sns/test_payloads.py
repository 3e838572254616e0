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
    assert [e["UnsubscribeURL"].rsplit("%3A", 1)[1] for e in envelopes] == ["0000", "0001", "0002"]
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
