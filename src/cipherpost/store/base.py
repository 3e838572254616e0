"""The store contract: a narrow async interface over named SQL queries.

Domain code never imports a database driver. It calls a backend with the *name* of a query
from ``queries.sql`` and keyword parameters, and gets plain ``dict`` rows back. Writes are
group-committed by the backend: many concurrent writers share one transaction and one
fsync, and a write's coroutine returns only after its transaction is durable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Row = dict[str, Any]


class StoreError(Exception):
    """The store failed to carry out a query."""


class UniqueViolation(StoreError):
    """A row with the same unique key already exists."""


class StoreClosed(StoreError):
    """The store has been closed."""


@dataclass(frozen=True, slots=True)
class Step:
    """One named query with its parameters, part of an atomic write."""

    query: str
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
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

    async def close(self) -> None:
        """Finish queued writes, then release every connection."""
        ...
