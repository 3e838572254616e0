"""What one node tells the others sharing its store (PostgreSQL: LISTEN/NOTIFY).

Each service has its own channel and kinds of event (SQS: :mod:`.sqs.events`, SNS:
:mod:`.sns.cache`); an event travels as ``"<node> <kind> <value>"``. The local effect is
the caller's (it is immediate); events are sent in the background, coalesced (a burst of
the same event is one notification), and a node ignores its own. On SQLite the store's
notifications stay in-process, so this costs little and does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

from cipherpost.store import StoreError, Unlisten
from cipherpost.store.base import Store

log = logging.getLogger(__name__)

Handler = Callable[[str, str], None]


class Broadcast:
    """Sends and receives one channel's events; ``handler(kind, value)`` gets every other
    node's events."""

    def __init__(self, store: Store, channel: str, handler: Handler) -> None:
        self.store = store
        self.channel = channel
        self.node = uuid.uuid4().hex[:16]
        self._handler = handler
        self._pending: dict[str, None] = {}  # ordered set
        self._flusher: asyncio.Task[None] | None = None
        self._unlisten: Unlisten | None = None

    async def start(self) -> None:
        self._unlisten = await self.store.listen(self.channel, self._received)

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
            await self.store.notify(self.channel, f"{self.node} {kind} {value}")
        except StoreError:
            log.exception("%s: could not notify other nodes of %s %s", self.channel, kind, value)

    async def _flush(self) -> None:
        while self._pending:
            payloads = list(self._pending)
            self._pending.clear()
            for payload in payloads:
                try:
                    await self.store.notify(self.channel, payload)
                except StoreError:
                    log.exception("%s: could not notify other nodes", self.channel)

    def _received(self, payload: str) -> None:
        node, _, rest = payload.partition(" ")
        kind, _, value = rest.partition(" ")
        if node != self.node and value:
            self._handler(kind, value)
