"""Topic records and their subscription lists, read once and kept for Publish and delivery.

Every Publish needs its topic (policy, key, FIFO settings) and the topic's subscriptions
(to filter), and every delivery its subscription and topic: without a cache that is two
or three store reads per message and per delivery. Entries live :data:`CACHE_SECONDS`
at most. Every change this node makes to a topic or to one of its subscriptions drops the
topic's entry here at once and tells the other nodes sharing the store (channel
:data:`CHANNEL`, event ``t <topic ARN>``), which drop theirs within milliseconds; the
expiry is the fallback for a lost notification (AWS itself documents that topic and
subscription changes take effect within a minute).

A read racing a change cannot put the old record back: each entry carries the topic's
generation, which a change bumps; a read that started before the bump is not kept.
Management operations (Get*/List*/Set*) read the store directly; only the hot paths use
this cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from cipherpost.services.broadcast import Broadcast
from cipherpost.services.sns.subscriptions import Subscription
from cipherpost.services.sns.topics import Topic
from cipherpost.store import Store

CACHE_SECONDS: Final = 2.0
CHANNEL: Final = "cipherpost_sns"
TOPIC_CHANGED: Final = "t"
_PAGE: Final = 10_000
_MAX_TOPICS: Final = 10_000


@dataclass(slots=True)
class _Entry:
    generation: tuple[int, int]
    """(cache epoch, topic generation) when the read began."""
    loaded_at: float
    topic: Topic | None
    subscriptions: dict[str, Subscription] | None = field(default=None)
    """By ARN, in ARN order; None until a Publish or a delivery asks for them."""


class TopicCache:
    """See the module docstring."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.broadcast = Broadcast(store, CHANNEL, self._remote_event)
        self._entries: dict[str, _Entry] = {}
        self._generations: dict[str, int] = {}
        self._epoch = 0  # bumped when the generations are forgotten wholesale

    async def start(self) -> None:
        await self.broadcast.start()

    async def stop(self) -> None:
        await self.broadcast.stop()

    def invalidate(self, topic_arn: str) -> None:
        """Forget ``topic_arn`` here (its next read goes to the store)."""
        self._entries.pop(topic_arn, None)
        self._generations[topic_arn] = self._generations.get(topic_arn, 0) + 1
        if len(self._generations) > 4 * _MAX_TOPICS:
            self._epoch += 1
            self._generations.clear()
            self._entries.clear()

    def changed(self, topic_arn: str) -> None:
        """This node changed the topic or one of its subscriptions: forget it everywhere."""
        self.invalidate(topic_arn)
        self.broadcast.publish(TOPIC_CHANGED, topic_arn)

    def _remote_event(self, kind: str, value: str) -> None:
        if kind == TOPIC_CHANGED:
            self.invalidate(value)

    async def _entry(self, topic_arn: str) -> _Entry:
        entry = self._entries.get(topic_arn)
        clock = time.monotonic()
        if entry is not None and clock - entry.loaded_at < CACHE_SECONDS:
            return entry
        generation = self._generation(topic_arn)
        row = await self.store.fetch_one("sns_topic_get", topic_arn=topic_arn)
        entry = _Entry(generation, clock, Topic.from_row(row) if row else None)
        self._keep(topic_arn, entry)
        return entry

    def _generation(self, topic_arn: str) -> tuple[int, int]:
        return self._epoch, self._generations.get(topic_arn, 0)

    def _keep(self, topic_arn: str, entry: _Entry) -> None:
        if self._generation(topic_arn) != entry.generation:
            return  # changed while we read: the next reader reads again
        if len(self._entries) >= _MAX_TOPICS and topic_arn not in self._entries:
            self._entries.clear()
        self._entries[topic_arn] = entry

    async def topic(self, topic_arn: str) -> Topic | None:
        return (await self._entry(topic_arn)).topic

    async def subscriptions(self, topic_arn: str) -> dict[str, Subscription]:
        """Every subscription of the topic (pending ones too), by ARN in ARN order."""
        entry = await self._entry(topic_arn)
        if entry.subscriptions is None:
            found: dict[str, Subscription] = {}
            after = ""
            while True:
                rows = await self.store.fetch_all("sns_subscriptions_of_topic", topic_arn=topic_arn, after=after,
                                                  limit=_PAGE)
                found.update((str(row["subscription_arn"]), Subscription.from_row(row)) for row in rows)
                if len(rows) < _PAGE:
                    break
                after = str(rows[-1]["subscription_arn"])
            entry.subscriptions = found
            self._keep(topic_arn, entry)
        return entry.subscriptions

    async def subscription(self, subscription_arn: str) -> Subscription | None:
        """One subscription, found through its topic (its ARN is the topic's plus an id)."""
        topic_arn = subscription_arn.rpartition(":")[0]
        return (await self.subscriptions(topic_arn)).get(subscription_arn)
