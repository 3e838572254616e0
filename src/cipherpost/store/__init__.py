"""Storage: one narrow async contract (:class:`Store`), SQLite as the embedded default."""

from __future__ import annotations

from pathlib import Path

from cipherpost.store.base import Row, Step, StepResult, Store, StoreClosed, StoreError, UniqueViolation
from cipherpost.store.sqlite import SqliteStore

__all__ = [
    "Row",
    "SqliteStore",
    "Step",
    "StepResult",
    "Store",
    "StoreClosed",
    "StoreError",
    "UniqueViolation",
    "open_store",
]

DATABASE_FILE = "cipherpost.sqlite3"


async def open_store(data_dir: Path) -> Store:
    """Open the store for a data directory (SQLite in ``<data_dir>/cipherpost.sqlite3``)."""
    return await SqliteStore.open(data_dir / DATABASE_FILE)
