"""Long polling: wake a waiting ReceiveMessage as soon as its queue may have a message.

One :class:`asyncio.Event` per queue that has listeners. A send (or anything that makes a
message visible at once) sets that event and forgets it, so every listener armed before
the send wakes, and the next ``arm`` makes a fresh event. A listener arms *before* each
receive attempt, so a message committed between an empty attempt and the wait still wakes
it. No thread, no timer and no polling per waiter beyond its own ``wait_for`` deadline.
Messages that become visible by the clock (a delay or a visibility timeout ending) send
no notification: the waiter sleeps no longer than until the next such moment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Listener:
    """One long poll's view of a queue's wake-ups."""

    def __init__(self, notifier: QueueNotifier, queue_id: str) -> None:
        self._notifier = notifier
        self._queue_id = queue_id
        self._event: asyncio.Event | None = None

    def arm(self) -> None:
        """Start listening for the next notification (call before each receive attempt)."""
        self._event = self._notifier.current(self._queue_id)

    async def wait(self, timeout: float) -> bool:
        """Wait for a notification since the last ``arm``; False on timeout or shutdown."""
        event = self._event
        if event is None or self._notifier.closed or timeout <= 0:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return event.is_set() and not self._notifier.closed


class QueueNotifier:
    """Per-queue wake-ups for long polls (see the module docstring)."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._listeners: dict[str, int] = {}
        self.closed = False

    def current(self, queue_id: str) -> asyncio.Event:
        """The event the next notification of ``queue_id`` will set."""
        event = self._events.get(queue_id)
        if event is None:
            event = self._events[queue_id] = asyncio.Event()
            if self.closed:
                event.set()
        return event

    def notify(self, queue_id: str) -> None:
        """Messages may be available in ``queue_id``: wake every armed listener."""
        event = self._events.pop(queue_id, None)
        if event is not None:
            event.set()

    @contextlib.contextmanager
    def listen(self, queue_id: str) -> Iterator[Listener]:
        """A listener for one long poll; the queue's event is dropped when nobody listens."""
        self._listeners[queue_id] = self._listeners.get(queue_id, 0) + 1
        try:
            yield Listener(self, queue_id)
        finally:
            left = self._listeners[queue_id] - 1
            if left:
                self._listeners[queue_id] = left
            else:
                del self._listeners[queue_id]
                self._events.pop(queue_id, None)

    def listening(self, queue_id: str) -> int:
        """How many long polls listen on ``queue_id`` now."""
        return self._listeners.get(queue_id, 0)

    def close(self) -> None:
        """Wake every listener (the server is stopping); later waits return at once."""
        self.closed = True
        for event in self._events.values():
            event.set()
        self._events.clear()
