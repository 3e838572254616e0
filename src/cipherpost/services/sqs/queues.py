"""Queue records: the store rows of queues, a small read cache, and their typed view.

The cache saves a store read per message operation; every change made here invalidates
it, here and (through ``on_change``: see :mod:`.broadcast`) on every other node sharing the
database; entries also expire after a few seconds, in case a notification is lost.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Final

from cipherpost.policy import Decision, Policy, parse_policy
from cipherpost.services.sqs.attributes import int_attribute
from cipherpost.services.sqs.errors import QueueDoesNotExist
from cipherpost.services.sqs.names import QueueRef, queue_arn, queue_url
from cipherpost.services.sqs.redrive import (
    ALLOW_ALL,
    RedriveAllowPolicy,
    RedrivePolicy,
    parse_redrive_allow_policy,
    parse_redrive_policy,
)
from cipherpost.store import Row, Step, Store

CACHE_SECONDS: Final = 2.0


@dataclass(frozen=True)
class Queue:
    """One queue, as stored, with its derived settings."""

    queue_id: str
    ref: QueueRef
    arn: str
    url: str
    attributes: Mapping[str, str]
    tags: Mapping[str, str]
    created_at_s: int
    modified_at_s: int
    purged_at: int

    @property
    def fifo(self) -> bool:
        return self.ref.fifo

    @property
    def visibility_timeout(self) -> int:
        return int_attribute(self.attributes, "VisibilityTimeout")

    @property
    def delay_seconds(self) -> int:
        return int_attribute(self.attributes, "DelaySeconds")

    @property
    def maximum_message_size(self) -> int:
        return int_attribute(self.attributes, "MaximumMessageSize")

    @property
    def retention_seconds(self) -> int:
        return int_attribute(self.attributes, "MessageRetentionPeriod")

    @property
    def wait_time_seconds(self) -> int:
        return int_attribute(self.attributes, "ReceiveMessageWaitTimeSeconds")

    @property
    def content_based_deduplication(self) -> bool:
        return self.attributes.get("ContentBasedDeduplication") == "true"

    @property
    def deduplication_per_group(self) -> bool:
        return self.attributes.get("DeduplicationScope") == "messageGroup"

    @cached_property
    def policy(self) -> Policy | None:
        """The parsed queue policy (parsing is cached on the text), or None."""
        text = self.attributes.get("Policy")
        return parse_policy(text).named(f"{self.arn} queue policy") if text else None

    @cached_property
    def service_decisions(self) -> dict[tuple[str, str, str], Decision] | None:
        """Where :mod:`.access` keeps service-principal decisions on this record; None when
        the queue policy tests the time (``aws:CurrentTime``, ``aws:EpochTime``)."""
        text = self.attributes.get("Policy", "").lower()
        return None if "aws:currenttime" in text or "aws:epochtime" in text else {}

    @cached_property
    def redrive_policy(self) -> RedrivePolicy | None:
        text = self.attributes.get("RedrivePolicy")
        return parse_redrive_policy(text) if text else None

    @cached_property
    def redrive_allow_policy(self) -> RedriveAllowPolicy:
        text = self.attributes.get("RedriveAllowPolicy")
        return parse_redrive_allow_policy(text) if text else ALLOW_ALL

    def expired_before(self, now_ms: int) -> int:
        """Messages sent at or before this time are past the retention period."""
        return now_ms - self.retention_seconds * 1000


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds (what SentTimestamp and friends report)."""
    return time.time_ns() // 1_000_000


class QueueRegistry:
    """Reads and writes queue records (see the module docstring)."""

    def __init__(self, store: Store, *, region: str, base_url: str) -> None:
        self.store = store
        self.region = region
        self.base_url = base_url
        self._cache: dict[QueueRef, tuple[float, Queue | None]] = {}
        #: Called after every change this registry makes (other nodes must forget the queue).
        self.on_change: Callable[[QueueRef], None] | None = None

    def _queue(self, row: Row) -> Queue:
        ref = QueueRef(str(row["account_id"]), str(row["queue_name"]))
        return Queue(
            queue_id=str(row["queue_id"]),
            ref=ref,
            arn=queue_arn(self.region, ref),
            url=queue_url(self.base_url, ref),
            attributes=json.loads(row["attributes"]),
            tags=json.loads(row["tags"]),
            created_at_s=int(row["created_at_s"]),
            modified_at_s=int(row["modified_at_s"]),
            purged_at=int(row["purged_at"]),
        )

    def invalidate(self, ref: QueueRef) -> None:
        """Forget the cached record of ``ref`` (here only)."""
        self._cache.pop(ref, None)

    def changed(self, ref: QueueRef) -> None:
        """The record of ``ref`` changed: forget it here and tell ``on_change``."""
        self._cache.pop(ref, None)
        if self.on_change is not None:
            self.on_change(ref)

    async def get(self, ref: QueueRef, *, fresh: bool = False) -> Queue | None:
        """The queue ``ref`` names, or None."""
        cached = self._cache.get(ref)
        clock = time.monotonic()
        if cached is not None and not fresh and clock - cached[0] < CACHE_SECONDS:
            return cached[1]
        row = await self.store.fetch_one("sqs_queue_get", account_id=ref.account_id, queue_name=ref.queue_name)
        queue = self._queue(row) if row is not None else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[ref] = (clock, queue)
        return queue

    async def require(self, ref: QueueRef) -> Queue:
        """The queue ``ref`` names; raises ``QueueDoesNotExist``."""
        queue = await self.get(ref)
        if queue is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        return queue

    async def create(self, ref: QueueRef, attributes: Mapping[str, str], tags: Mapping[str, str],
                     dead_letter_target: str | None) -> None:
        """Insert a queue record; raises ``UniqueViolation`` when the name is taken."""
        self.invalidate(ref)
        await self.store.execute(
            "sqs_queue_insert", queue_id=uuid.uuid4().hex, account_id=ref.account_id, queue_name=ref.queue_name,
            attributes=json.dumps(dict(attributes), sort_keys=True), tags=json.dumps(dict(tags), sort_keys=True),
            created_at_s=int(time.time()), dead_letter_target=dead_letter_target)
        self.changed(ref)

    async def set_attributes(self, queue: Queue, attributes: Mapping[str, str]) -> None:
        redrive = parse_redrive_policy(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else None
        await self.store.execute(
            "sqs_queue_set_attributes", queue_id=queue.queue_id,
            attributes=json.dumps(dict(attributes), sort_keys=True), modified_at_s=int(time.time()),
            dead_letter_target=redrive.dead_letter_target_arn if redrive else None)
        self.changed(queue.ref)

    async def set_tags(self, queue: Queue, tags: Mapping[str, str]) -> None:
        await self.store.execute("sqs_queue_set_tags", queue_id=queue.queue_id,
                                 tags=json.dumps(dict(tags), sort_keys=True))
        self.changed(queue.ref)

    async def delete(self, queue: Queue) -> None:
        """Delete the queue and its messages at once (AWS may take up to 60 s; we need not)."""
        params = {"queue_id": queue.queue_id}
        await self.store.write([
            Step("sqs_queue_delete", params),
            Step("sqs_queue_delete_messages", params),
            Step("sqs_queue_delete_dedup", params),
            Step("sqs_deleted_put", {"account_id": queue.ref.account_id, "queue_name": queue.ref.queue_name,
                                     "deleted_at": now_ms()}),
        ])
        self.changed(queue.ref)

    async def deleted_at(self, ref: QueueRef) -> int | None:
        """When a queue of this name was last deleted (epoch ms), if it was."""
        row = await self.store.fetch_one("sqs_deleted_get", account_id=ref.account_id, queue_name=ref.queue_name)
        return int(row["deleted_at"]) if row else None

    async def names(self, account_id: str, prefix: str, after: str, limit: int) -> list[str]:
        rows = await self.store.fetch_all("sqs_queue_list", account_id=account_id, prefix=prefix,
                                          prefix_length=len(prefix), after=after, limit=limit)
        return [str(row["queue_name"]) for row in rows]

    async def dead_letter_sources(self, arn: str) -> list[QueueRef]:
        rows = await self.store.fetch_all("sqs_dead_letter_sources", arn=arn)
        return [QueueRef(str(row["account_id"]), str(row["queue_name"])) for row in rows]
