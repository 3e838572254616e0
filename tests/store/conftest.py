"""The store contract suite runs against every backend listed in ``BACKENDS``.

PostgreSQL is reached at ``CIPHERPOST_TEST_POSTGRES`` (default: the local server, user
postgres); each test gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cipherpost.store import SqliteStore, Store
from cipherpost.store.postgres import PostgresStore

ADMIN_DSN = os.environ.get("CIPHERPOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")

Opener = Callable[[], Coroutine[Any, Any, Store]]


async def _admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _database_dsn(name: str) -> str:
    base, _, _ = ADMIN_DSN.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_backend(backend: str, tmp_path: Path) -> Iterator[Opener]:
    if backend == "sqlite":
        async def sqlite() -> Store:
            return await SqliteStore.open(tmp_path / "contract.sqlite3")

        yield sqlite
        return
    name = f"cp_contract_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))

    async def postgres() -> Store:
        return await PostgresStore.open(_database_dsn(name), min_size=1, max_size=8)

    yield postgres
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
