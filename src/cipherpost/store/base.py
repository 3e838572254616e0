"""The store contract: a narrow async interface over named SQL queries.

Domain code never imports a database driver. It calls a backend with the *name* of a query
from ``queries.sql`` and keyword parameters, and gets plain ``dict`` rows back. Writes are
group-committed by the backend: many concurrent writers share one transaction and one
fsync, and a write's coroutine returns only after its transaction is durable.

Text parameters must be storable (:func:`is_storable`): PostgreSQL's ``text`` cannot hold
U+0000, and a lone surrogate (which a JSON ``\ud800`` escape can produce) is not UTF-8.
Every backend refuses such a parameter with :class:`UnstorableText` before running
anything, so all backends behave alike and a refused write changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

Row = dict[str, Any]
#: Receives one notification's payload, on the event loop (must not block; may schedule work).
NotifyCallback = Callable[[str], None]
#: Stops a :meth:`Store.listen`.
Unlisten = Callable[[], Awaitable[None]]
_CHANNEL: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def check_channel(channel: str) -> str:
    """A notification channel name: lowercase letters, digits and ``_`` (a PostgreSQL identifier)."""
    if not _CHANNEL.fullmatch(channel):
        raise ValueError(f"invalid notification channel {channel!r}")
    return channel


class StoreError(Exception):
    """The store failed to carry out a query."""


class UniqueViolation(StoreError):
    """A row with the same unique key already exists."""


class StoreClosed(StoreError):
    """The store has been closed."""


class UnstorableText(StoreError):
    """A text parameter holds U+0000 or a lone surrogate (see the module docstring)."""


_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def is_storable(text: str) -> bool:
    """Whether ``text`` can be stored as text: no U+0000 and no lone surrogate."""
    if "\x00" in text:
        return False
    if text.isascii():  # O(1) in CPython: most text (ids, names, ARNs) stops here
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(text: str) -> str:
    """``text`` with U+0000 and lone surrogates replaced by U+FFFD (for text that must be
    kept whatever it holds, such as an audit record's columns)."""
    return text if is_storable(text) else _UNSTORABLE.sub("\ufffd", text)


def check_text(params: Iterable[tuple[str, object]]) -> None:
    """Refuse (name, value) parameters whose text is not storable.

    Raises:
        UnstorableText: naming the first such parameter.
    """
    for name, value in params:
        if type(value) is str:  # is_storable's ASCII case inlined: every parameter of every call
            if "\x00" not in value and (value.isascii() or is_storable(value)):
                continue
        elif not isinstance(value, str) or is_storable(value):
            continue
        raise UnstorableText(f"parameter {name!r} holds U+0000 or a lone surrogate, which text cannot store")


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class Step:
    """One named query with its parameters, part of an atomic write."""

    query: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class StepResult:
    """What one step produced: the rows it returned (SELECT / RETURNING) and rows affected."""

    rows: list[Row]
    rowcount: int


class Store(Protocol):
    """What every backend (SQLite, PostgreSQL) provides; see tests/store for the contract."""

    backend: str
    """Short backend name, e.g. ``sqlite``."""

    async def fetch_one(self, query: str, /, **params: object) -> Row | None:
        """Run a read query; the first row or None."""
        ...

    async def fetch_all(self, query: str, /, **params: object) -> list[Row]:
        """Run a read query; all rows."""
        ...

    async def execute(self, query: str, /, **params: object) -> StepResult:
        """Run one write query in a durable (group-committed) transaction."""
        ...

    async def write(self, steps: Sequence[Step]) -> list[StepResult]:
        """Run several write queries atomically: all are committed, or none (the error is raised)."""
        ...

    async def notify(self, channel: str, payload: str) -> None:
        """Send ``payload`` (at most 7,900 bytes of text) to every listener of ``channel``, in
        every process sharing this store (PostgreSQL: NOTIFY; SQLite: this process only).

        Delivery is asynchronous and best effort: listeners hear it soon after, never before,
        this call; a listener that was disconnected at that moment misses it. Use it to wake
        or invalidate, never as the only copy of a fact.
        """
        ...

    async def listen(self, channel: str, callback: NotifyCallback) -> Unlisten:
        """Call ``callback(payload)`` on the event loop for each notification on ``channel``
        (this process's own included); returns the coroutine function that stops it."""
        ...

    async def close(self) -> None:
        """Finish queued writes, then release every connection."""
        ...
