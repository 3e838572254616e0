"""The in-memory data-key cache for SNS/SQS envelope encryption.

Writes: a data key from KMS GenerateDataKey is reused for every body sealed for the same
(resource ARN, principal ARN, KMS key ARN) until the reuse period has passed (SNS: 300 s;
SQS: ``KmsDataKeyReusePeriodSeconds``), then a new one is generated. Reads: the plaintext
of a data key that KMS Decrypt returned is cached per (principal ARN, ciphertext blob) for
the same period, so a consumer pays one KMS call per data key, not one per message.

Reads are keyed by principal as well as blob because KMS Decrypt is where the reader's
``kms:Decrypt`` permission is checked: a key decrypted for one consumer must not be
handed to another that was never authorized.

Both maps are bounded LRUs; entries also carry their expiry and are pruned. Concurrent
callers for one cache key share a single factory call (single flight), and a caller
being cancelled does not cancel the call the others are waiting on. A failed factory
call is not cached. :meth:`DataKeyCache.invalidate_key` drops every key made by a KMS key
at once, and keys still being fetched when it runs are handed to their callers but not
cached. Plaintext keys live only in memory (Python cannot wipe ``bytes``; entries are
dropped as soon as they expire or are invalidated, the pruning pass permitting).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from cipherpost.crypto.envelope import DataKey

__all__ = ["DataKeyCache", "DataKeyFactory", "GenerationKey"]

DataKeyFactory = Callable[[], Awaitable[DataKey]]
_K = TypeVar("_K", bound=Hashable)

#: How often (seconds of the cache's clock) expired entries are swept out.
_PRUNE_INTERVAL = 30.0


class GenerationKey(NamedTuple):
    """Which data key a write uses: one per resource, principal and KMS key."""

    resource_arn: str
    principal_arn: str
    kms_key_arn: str


@dataclass(slots=True)
class _Entry:
    data_key: DataKey
    created_at: float
    expires_at: float


def _bare_key_id(key: str) -> str:
    """``arn:aws:kms:<region>:<account>:key/<id>`` -> ``<id>``; anything else unchanged."""
    _, sep, key_id = key.partition(":key/")
    return key_id if sep and key.startswith("arn:") else key


class _SingleFlightLru(Generic[_K]):
    """A bounded, expiring map from ``_K`` to data keys, filled by single-flight factories."""

    def __init__(self, now: Callable[[], float], max_entries: int) -> None:
        self._now = now
        self._max_entries = max_entries
        self._entries: OrderedDict[_K, _Entry] = OrderedDict()
        self._inflight: dict[_K, asyncio.Task[DataKey]] = {}
        self._running: set[asyncio.Task[DataKey]] = set()  # strong refs until done
        self._epoch = 0  # bumped by invalidation; a fill started before it is not cached
        self._last_prune = now()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: _K, period: float, factory: DataKeyFactory) -> DataKey:
        now = self._now()
        entry = self._entries.get(key)
        if entry is not None:
            # A lowered period applies at once; a raised one applies to the next key.
            if now < entry.expires_at and now - entry.created_at < period:
                self._entries.move_to_end(key)
                return entry.data_key
            del self._entries[key]
        task = self._inflight.get(key)
        if task is None:
            # The epoch is taken now, not when the task first runs: an invalidation in
            # between must still keep this fill out of the cache.
            task = asyncio.create_task(self._fill(key, period, factory, self._epoch, now))
            self._inflight[key] = task
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        # shield: a cancelled caller must not cancel the fill other callers wait on.
        return await asyncio.shield(task)

    async def _fill(self, key: _K, period: float, factory: DataKeyFactory, epoch: int, started: float) -> DataKey:
        try:
            data_key = await factory()
        finally:
            if self._inflight.get(key) is asyncio.current_task():
                del self._inflight[key]
        if epoch == self._epoch and period > 0:
            self._store(key, _Entry(data_key, started, started + period))
        return data_key

    def _store(self, key: _K, entry: _Entry) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        now = self._now()
        if now - self._last_prune >= _PRUNE_INTERVAL:
            self._last_prune = now
            self._drop(lambda e: now >= e.expires_at)

    def invalidate(self, kms_key_id: str) -> None:
        self._epoch += 1
        self._inflight.clear()  # later callers must not join a fetch begun before this
        self._drop(lambda e: _bare_key_id(e.data_key.key_id) == kms_key_id)

    def clear(self) -> None:
        self._epoch += 1
        self._inflight.clear()
        self._entries.clear()

    def _drop(self, doomed: Callable[[_Entry], bool]) -> None:
        for key in [k for k, e in self._entries.items() if doomed(e)]:
            del self._entries[key]


class DataKeyCache:
    """Data keys for writes (by :class:`GenerationKey`) and reads (by principal and blob).

    :param now: the clock, in seconds; monotonic by default. Tests pass a fake.
    :param max_entries: the bound of each of the two maps (least recently used go first).
    """

    def __init__(self, *, now: Callable[[], float] = time.monotonic, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._generated: _SingleFlightLru[GenerationKey] = _SingleFlightLru(now, max_entries)
        self._decrypted: _SingleFlightLru[tuple[str, bytes]] = _SingleFlightLru(now, max_entries)

    async def get_or_create(self, cache_key: GenerationKey, period: float, factory: DataKeyFactory) -> DataKey:
        """The data key to seal a body with, generating one if none is fresh.

        :param cache_key: (resource ARN, principal ARN, KMS key ARN).
        :param period: the reuse period in seconds; a key older than this is replaced.
        :param factory: calls KMS GenerateDataKey; awaited at most once per cache key at
            a time, however many callers are waiting.
        :raises: whatever ``factory`` raises (e.g. the KMS error), to every waiting caller.
        """
        return await self._generated.get(cache_key, period, factory)

    async def get_or_decrypt(
        self, ciphertext_blob: bytes, principal_arn: str, period: float, factory: DataKeyFactory
    ) -> DataKey:
        """The data key for a stored body's ciphertext blob, decrypting it if not cached.

        :param ciphertext_blob: from :func:`cipherpost.crypto.envelope.read_wrapped_key`.
        :param principal_arn: the reader on whose behalf KMS Decrypt is called.
        :param period: how long a decrypted key may be reused, in seconds.
        :param factory: calls KMS Decrypt and returns the data key (with its key id).
        :raises: whatever ``factory`` raises, to every waiting caller.
        """
        return await self._decrypted.get((principal_arn, bytes(ciphertext_blob)), period, factory)

    def invalidate_key(self, kms_key_id: str) -> None:
        """Forget every data key made by a KMS key (disabled, deleted, or pending deletion).

        :param kms_key_id: the KMS key's id or key ARN (not an alias).
        """
        bare = _bare_key_id(kms_key_id)
        self._generated.invalidate(bare)
        self._decrypted.invalidate(bare)

    def clear(self) -> None:
        """Forget every data key."""
        self._generated.clear()
        self._decrypted.clear()

    def __len__(self) -> int:
        return len(self._generated) + len(self._decrypted)

    def __repr__(self) -> str:
        return f"DataKeyCache(generated={len(self._generated)}, decrypted={len(self._decrypted)})"
