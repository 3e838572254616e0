"""The topic cache: one read per topic while fresh, forgotten on change, and never holding
a record read before a change that happened while it was being read."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from cipherpost.services.sns import cache
from cipherpost.services.sns.cache import TopicCache

TOPIC = "arn:aws:sns:us-east-1:111122223333:records"


class FakeStore:
    """Answers the two queries the cache makes; ``gate`` holds a topic read until set."""

    def __init__(self) -> None:
        self.display_name = "first"
        self.reads = 0
        self.subscription_reads = 0
        self.subscriptions = [f"{TOPIC}:{n:05d}" for n in range(3)]
        self.gate: asyncio.Event | None = None

    async def fetch_one(self, query: str, /, **params: Any) -> dict[str, Any] | None:
        assert query == "sns_topic_get"
        self.reads += 1
        name = self.display_name
        if self.gate is not None:
            await self.gate.wait()
        return {"topic_arn": params["topic_arn"], "account_id": "111122223333", "topic_name": "records",
                "attributes": json.dumps({"DisplayName": name}), "tags": "{}", "data_protection_policy": None,
                "deleted_subscriptions": 0}

    async def fetch_all(self, query: str, /, **params: Any) -> list[dict[str, Any]]:
        assert query == "sns_subscriptions_of_topic"
        self.subscription_reads += 1
        after = [arn for arn in self.subscriptions if arn > params["after"]][: params["limit"]]
        return [{"subscription_arn": arn, "topic_arn": TOPIC, "owner_account": "111122223333", "protocol": "sqs",
                 "endpoint": "arn:aws:sqs:us-east-1:111122223333:q", "status": "confirmed", "token": None,
                 "token_expires_at": None, "authenticated_unsubscribe": 0, "attributes": "{}",
                 "principal_arn": "arn:aws:iam::111122223333:root", "created_at": 0} for arn in after]

    async def listen(self, channel: str, callback: Any) -> Any:
        async def unlisten() -> None:
            return None

        return unlisten

    async def notify(self, channel: str, payload: str) -> None:
        return None


def display_name(topic: Any) -> str:
    assert topic is not None
    return str(topic.attributes["DisplayName"])


async def _one_read_while_fresh_and_a_new_one_after_a_change() -> None:
    store = FakeStore()
    topics = TopicCache(store)  # type: ignore[arg-type]
    assert display_name(await topics.topic(TOPIC)) == "first"
    assert display_name(await topics.topic(TOPIC)) == "first"
    assert store.reads == 1
    store.display_name = "second"
    topics.changed(TOPIC)
    assert display_name(await topics.topic(TOPIC)) == "second"
    assert store.reads == 2


async def _entries_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FakeStore()
    topics = TopicCache(store)  # type: ignore[arg-type]
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    await topics.topic(TOPIC)
    now[0] += cache.CACHE_SECONDS + 0.1
    store.display_name = "changed elsewhere, notification lost"
    assert display_name(await topics.topic(TOPIC)) == "changed elsewhere, notification lost"
    assert store.reads == 2


async def _a_read_racing_a_change_is_not_kept() -> None:
    store = FakeStore()
    topics = TopicCache(store)  # type: ignore[arg-type]
    store.gate = asyncio.Event()
    slow = asyncio.create_task(topics.topic(TOPIC))  # reads "first", then waits
    await asyncio.sleep(0)
    store.display_name = "second"
    topics.invalidate(TOPIC)  # another node's change arrives meanwhile
    store.gate.set()
    assert display_name(await slow) == "first"  # that caller saw the record before the change
    assert display_name(await topics.topic(TOPIC)) == "second"  # but it was not kept


async def _a_racing_read_is_not_kept_across_a_wholesale_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FakeStore()
    topics = TopicCache(store)  # type: ignore[arg-type]
    monkeypatch.setattr(cache, "_MAX_TOPICS", 1)
    store.gate = asyncio.Event()
    slow = asyncio.create_task(topics.topic(TOPIC))
    await asyncio.sleep(0)
    store.display_name = "second"
    for n in range(5):  # enough other changes to make the cache forget every generation
        topics.invalidate(f"{TOPIC}-{n}")
    topics.invalidate(TOPIC)
    for n in range(5, 10):
        topics.invalidate(f"{TOPIC}-{n}")
    store.gate.set()
    await slow
    assert display_name(await topics.topic(TOPIC)) == "second"


async def _subscriptions_are_read_in_pages_and_found_by_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    store = FakeStore()
    store.subscriptions = [f"{TOPIC}:{n:05d}" for n in range(7)]
    monkeypatch.setattr(cache, "_PAGE", 3)
    topics = TopicCache(store)  # type: ignore[arg-type]
    found = await topics.subscriptions(TOPIC)
    assert list(found) == store.subscriptions
    assert store.subscription_reads == 3  # 3 + 3 + 1
    subscription = await topics.subscription(f"{TOPIC}:00004")
    assert subscription is not None and subscription.arn == f"{TOPIC}:00004"
    assert await topics.subscription(f"{TOPIC}:99999") is None
    assert store.subscription_reads == 3  # from the cached list

def test_one_read_while_fresh_and_a_new_one_after_a_change() -> None:
    asyncio.run(_one_read_while_fresh_and_a_new_one_after_a_change())

def test_entries_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_entries_expire(monkeypatch))

def test_a_read_racing_a_change_is_not_kept() -> None:
    asyncio.run(_a_read_racing_a_change_is_not_kept())

def test_a_racing_read_is_not_kept_across_a_wholesale_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_a_racing_read_is_not_kept_across_a_wholesale_reset(monkeypatch))

def test_subscriptions_are_read_in_pages_and_found_by_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    asyncio.run(_subscriptions_are_read_in_pages_and_found_by_arn(monkeypatch))
