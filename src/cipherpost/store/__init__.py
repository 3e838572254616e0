"""Storage: one narrow async contract (:class:`Store`), SQLite as the embedded default."""

from __future__ import annotations

from pathlib import Path

from cipherpost.store.base import (
    NotifyCallback,
    Row,
    Step,
    StepResult,
    Store,
    StoreClosed,
    StoreError,
    UniqueViolation,
    Unlisten,
    UnstorableText,
    is_storable,
    storable,
)
from cipherpost.store.sqlite import SqliteStore

__all__ = [
    "NotifyCallback",
    "Row",
    "SqliteStore",
    "Step",
    "StepResult",
    "Store",
    "StoreClosed",
    "StoreError",
    "UniqueViolation",
    "Unlisten",
    "UnstorableText",
    "is_storable",
    "open_store",
    "storable",
]

DATABASE_FILE = "cipherpost.sqlite3"


async def open_store(data_dir: Path, database_url: str | None = None) -> Store:
    """Open the store: PostgreSQL at ``database_url`` if given, else SQLite in ``<data_dir>/cipherpost.sqlite3``."""
    if database_url:
        from cipherpost.store.postgres import PostgresStore  # noqa: PLC0415 - driver only when used

        return await PostgresStore.open(database_url)
    return await SqliteStore.open(data_dir / DATABASE_FILE)
