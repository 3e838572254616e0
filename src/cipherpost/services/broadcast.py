"""What one node tells the others sharing its store (PostgreSQL: LISTEN/NOTIFY).

Three kinds of event, on one channel, as ``"<node> <kind> <value>"``:

- ``m <queue_id>``: messages may be available (a send, a visibility reset, a dead-letter
  move): long polls waiting on that queue on other nodes wake at once;
- ``q <account>/<queue name>``: a queue record changed (attributes, policy, tags, purge,
  deletion): other nodes drop it from their queue cache, so a policy change is enforced
  everywhere within milliseconds (the cache's few-second expiry stays as the fallback);
- ``k <key id>``: a KMS key was disabled or scheduled for deletion: other nodes drop the
  data keys it made.

The local effect is the caller's (it is immediate); events are sent in the background,
coalesced (a burst of sends to one queue is one notification), and a node ignores its
own. On SQLite the store's notifications stay in-process, so this costs little and does
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Final

from cipherpost.store import StoreError, Unlisten
from cipherpost.store.base import Store

log = logging.getLogger(__name__)

CHANNEL: Final = "cipherpost_sqs"
MESSAGES: Final = "m"
QUEUE: Final = "q"
KMS_KEY: Final = "k"

Handler = Callable[[str, str], None]


class Broadcast:
    """Sends and receives the events of the module docstring; ``handler(kind, value)`` gets
    every other node's events."""

    def __init__(self, store: Store, handler: Handler) -> None:
        self.store = store
        self.node = uuid.uuid4().hex[:16]
        self._handler = handler
        self._pending: dict[str, None] = {}  # ordered set
        self._flusher: asyncio.Task[None] | None = None
        self._unlisten: Unlisten | None = None

    async def start(self) -> None:
        self._unlisten = await self.store.listen(CHANNEL, self._received)

    async def stop(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(asyncio.CancelledError, StoreError):
                await self._flusher
        if self._unlisten is not None:
            await self._unlisten()
            self._unlisten = None

    def publish(self, kind: str, value: str) -> None:
        """Tell the other nodes, soon (in the background, coalesced)."""
        self._pending[f"{self.node} {kind} {value}"] = None
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def publish_now(self, kind: str, value: str) -> None:
        """Tell the other nodes before returning (best effort: a store failure is logged)."""
        try:
            await self.store.notify(CHANNEL, f"{self.node} {kind} {value}")
        except StoreError:
            log.exception("sqs: could not notify other nodes of %s %s", kind, value)

    async def _flush(self) -> None:
        while self._pending:
            payloads = list(self._pending)
            self._pending.clear()
            for payload in payloads:
                try:
                    await self.store.notify(CHANNEL, payload)
                except StoreError:
                    log.exception("sqs: could not notify other nodes")

    def _received(self, payload: str) -> None:
        node, _, rest = payload.partition(" ")
        kind, _, value = rest.partition(" ")
        if node != self.node and value:
            self._handler(kind, value)
