"""The data-key cache, driven by a fake clock; each test runs its own event loop."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from cipherpost.crypto.datakey_cache import DataKeyCache, GenerationKey
from cipherpost.crypto.envelope import DataKey

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:111122223333:key/{KEY_ID}"
OTHER_KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/99999999-0000-0000-0000-000000000000"
QUEUE = GenerationKey("arn:aws:sqs:us-east-1:111122223333:q", "arn:aws:iam::111122223333:root", KEY_ARN)
OTHER_QUEUE = QUEUE._replace(resource_arn="arn:aws:sqs:us-east-1:111122223333:other")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Kms:
    """A fake GenerateDataKey/Decrypt: counts calls, can be held open or made to fail."""

    def __init__(self, key_arn: str = KEY_ARN) -> None:
        self.calls = 0
        self.key_arn = key_arn
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def __call__(self) -> DataKey:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return DataKey(plaintext=os.urandom(32), ciphertext_blob=os.urandom(114), key_id=self.key_arn)


async def settle() -> None:
    """Let every ready task run until it blocks (a few loop iterations suffice here)."""
    for _ in range(5):
        await asyncio.sleep(0)


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(test())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> DataKeyCache:
    return DataKeyCache(now=clock)


def test_reuse_within_period(cache: DataKeyCache, clock: Clock) -> None:
    async def body() -> None:
        kms = Kms()
        first = await cache.get_or_create(QUEUE, 300, kms)
        clock.t += 299.9
        assert await cache.get_or_create(QUEUE, 300, kms) is first
        assert kms.calls == 1

    run(body)


def test_replacement_after_period(cache: DataKeyCache, clock: Clock) -> None:
    async def body() -> None:
        kms = Kms()
        first = await cache.get_or_create(QUEUE, 300, kms)
        clock.t += 300  # exactly the period: no longer reused
        second = await cache.get_or_create(QUEUE, 300, kms)
        assert second is not first
        assert kms.calls == 2
        clock.t += 100
        assert await cache.get_or_create(QUEUE, 300, kms) is second

    run(body)


def test_lowered_period_applies_at_once(cache: DataKeyCache, clock: Clock) -> None:
    async def body() -> None:
        kms = Kms()
        await cache.get_or_create(QUEUE, 300, kms)
        clock.t += 90
        await cache.get_or_create(QUEUE, 60, kms)  # KmsDataKeyReusePeriodSeconds lowered to 60
        assert kms.calls == 2

    run(body)


def test_raised_period_applies_to_next_key(cache: DataKeyCache, clock: Clock) -> None:
    async def body() -> None:
        kms = Kms()
        await cache.get_or_create(QUEUE, 60, kms)
        clock.t += 90
        await cache.get_or_create(QUEUE, 300, kms)
        clock.t += 200
        await cache.get_or_create(QUEUE, 300, kms)
        assert kms.calls == 2

    run(body)


def test_separate_cache_keys_get_separate_data_keys(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        a = await cache.get_or_create(QUEUE, 300, kms)
        b = await cache.get_or_create(OTHER_QUEUE, 300, kms)
        c = await cache.get_or_create(QUEUE._replace(principal_arn="arn:aws:iam::111122223333:role/p"), 300, kms)
        assert len({id(a), id(b), id(c)}) == 3
        assert kms.calls == 3

    run(body)


def test_single_flight_under_concurrency(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        kms.gate = asyncio.Event()
        waiters = [asyncio.create_task(cache.get_or_create(QUEUE, 300, kms)) for _ in range(50)]
        await settle()
        assert kms.calls == 1
        kms.gate.set()
        keys = await asyncio.gather(*waiters)
        assert kms.calls == 1
        assert all(key is keys[0] for key in keys)

    run(body)


def test_failure_reaches_every_waiter_and_is_not_cached(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        kms.gate = asyncio.Event()
        kms.fail = RuntimeError("KMS.DisabledException")
        waiters = [asyncio.create_task(cache.get_or_create(QUEUE, 300, kms)) for _ in range(5)]
        await asyncio.sleep(0)
        kms.gate.set()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        assert kms.calls == 1
        kms.fail, kms.gate = None, None
        await cache.get_or_create(QUEUE, 300, kms)  # retried, not a cached failure
        assert kms.calls == 2

    run(body)


def test_cancelled_caller_does_not_cancel_the_others(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        kms.gate = asyncio.Event()
        first = asyncio.create_task(cache.get_or_create(QUEUE, 300, kms))
        second = asyncio.create_task(cache.get_or_create(QUEUE, 300, kms))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        kms.gate.set()
        assert isinstance(await second, DataKey)
        assert first.cancelled()
        assert kms.calls == 1
        assert await cache.get_or_create(QUEUE, 300, kms) is await second

    run(body)


@pytest.mark.parametrize("name", [KEY_ID, KEY_ARN], ids=["key-id", "key-arn"])
def test_invalidation(cache: DataKeyCache, name: str) -> None:
    async def body() -> None:
        kms, other_kms = Kms(), Kms(OTHER_KEY_ARN)
        first = await cache.get_or_create(QUEUE, 300, kms)
        other = await cache.get_or_create(OTHER_QUEUE._replace(kms_key_arn=OTHER_KEY_ARN), 300, other_kms)
        await cache.get_or_decrypt(b"blob", "reader", 300, kms)
        cache.invalidate_key(name)
        assert await cache.get_or_create(QUEUE, 300, kms) is not first
        assert await cache.get_or_decrypt(b"blob", "reader", 300, kms) is not None
        assert kms.calls == 4  # both of this key's entries were dropped
        assert await cache.get_or_create(OTHER_QUEUE._replace(kms_key_arn=OTHER_KEY_ARN), 300, other_kms) is other

    run(body)


def test_invalidation_by_alias_cache_key(cache: DataKeyCache) -> None:
    """Writes configured with an alias are still dropped: entries are matched by the key
    that actually made the data key."""

    async def body() -> None:
        kms = Kms()
        aliased = QUEUE._replace(kms_key_arn="alias/aws/sqs")
        await cache.get_or_create(aliased, 300, kms)
        cache.invalidate_key(KEY_ID)
        await cache.get_or_create(aliased, 300, kms)
        assert kms.calls == 2

    run(body)


def test_invalidation_during_generation_is_not_cached(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        kms.gate = asyncio.Event()
        early = asyncio.create_task(cache.get_or_create(QUEUE, 300, kms))
        await asyncio.sleep(0)
        cache.invalidate_key(KEY_ID)  # the key is disabled while GenerateDataKey runs
        late = asyncio.create_task(cache.get_or_create(QUEUE, 300, kms))
        await settle()
        assert kms.calls == 2  # the late caller did not join the pre-invalidation fetch
        kms.gate.set()
        early_key, late_key = await early, await late
        assert early_key is not late_key
        assert await cache.get_or_create(QUEUE, 300, kms) is late_key
        assert kms.calls == 2

    run(body)


def test_decrypt_cache_reuse_and_expiry(cache: DataKeyCache, clock: Clock) -> None:
    async def body() -> None:
        kms = Kms()
        first = await cache.get_or_decrypt(b"blob", "reader", 300, kms)
        assert await cache.get_or_decrypt(b"blob", "reader", 300, kms) is first
        assert kms.calls == 1
        clock.t += 300
        assert await cache.get_or_decrypt(b"blob", "reader", 300, kms) is not first
        assert kms.calls == 2

    run(body)


def test_decrypt_cache_is_per_principal(cache: DataKeyCache) -> None:
    """Another reader must go to KMS itself, where its own kms:Decrypt permission is checked."""

    async def body() -> None:
        kms = Kms()
        await cache.get_or_decrypt(b"blob", "reader-a", 300, kms)
        await cache.get_or_decrypt(b"blob", "reader-b", 300, kms)
        await cache.get_or_decrypt(b"other-blob", "reader-a", 300, kms)
        assert kms.calls == 3

    run(body)


def test_decrypt_single_flight(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        kms.gate = asyncio.Event()
        waiters = [asyncio.create_task(cache.get_or_decrypt(b"blob", "reader", 300, kms)) for _ in range(20)]
        await asyncio.sleep(0)
        kms.gate.set()
        keys = await asyncio.gather(*waiters)
        assert kms.calls == 1
        assert all(key is keys[0] for key in keys)

    run(body)


def test_bounded_lru(clock: Clock) -> None:
    cache = DataKeyCache(now=clock, max_entries=2)

    async def body() -> None:
        kms = Kms()
        for blob in (b"1", b"2", b"1", b"3"):  # "1" is used again, so "2" is least recent
            await cache.get_or_decrypt(blob, "reader", 300, kms)
        assert kms.calls == 3
        assert len(cache) == 2
        await cache.get_or_decrypt(b"1", "reader", 300, kms)
        assert kms.calls == 3
        await cache.get_or_decrypt(b"2", "reader", 300, kms)
        assert kms.calls == 4

    run(body)


def test_expired_entries_are_pruned(cache: DataKeyCache, clock: Clock) -> None:
    async def body() -> None:
        kms = Kms()
        for blob in (b"1", b"2", b"3"):
            await cache.get_or_decrypt(blob, "reader", 60, kms)
        clock.t += 120
        await cache.get_or_decrypt(b"4", "reader", 60, kms)
        assert len(cache) == 1

    run(body)


def test_zero_period_never_reuses(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        await cache.get_or_create(QUEUE, 0, kms)
        await cache.get_or_create(QUEUE, 0, kms)
        assert kms.calls == 2
        assert len(cache) == 0

    run(body)


def test_clear(cache: DataKeyCache) -> None:
    async def body() -> None:
        kms = Kms()
        await cache.get_or_create(QUEUE, 300, kms)
        cache.clear()
        await cache.get_or_create(QUEUE, 300, kms)
        assert kms.calls == 2

    run(body)


def test_repr_shows_no_key_bytes(cache: DataKeyCache) -> None:
    async def body() -> None:
        key = await cache.get_or_create(QUEUE, 300, Kms())
        assert key.plaintext.hex() not in repr(cache)
        assert repr(cache) == "DataKeyCache(generated=1, decrypted=0)"

    run(body)


def test_default_clock_is_monotonic() -> None:
    async def body() -> None:
        cache, kms = DataKeyCache(), Kms()
        assert await cache.get_or_create(QUEUE, 300, kms) is await cache.get_or_create(QUEUE, 300, kms)

    run(body)
