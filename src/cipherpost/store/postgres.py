"""PostgreSQL backend: several stateless Cipherpost nodes share one database.

Same named queries as SQLite (``:name`` placeholders are rewritten to asyncpg's ``$n`` once,
when the backend starts); a query that needs PostgreSQL-specific text (``FOR UPDATE SKIP
LOCKED``) is overridden in ``sql/postgres/``. Each write is one transaction on a pooled
connection; PostgreSQL itself batches the WAL flushes of concurrent commits, and a write's
coroutine returns only after its COMMIT.

Notifications (:meth:`PostgresStore.notify` / :meth:`PostgresStore.listen`) are NOTIFY and
LISTEN: one dedicated connection, outside the pool, listens for this process; if it drops,
it is re-opened (with its LISTENs) after a second, and notifications sent meanwhile are lost,
as the Store protocol allows.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from typing import Any, Final

import asyncpg

from cipherpost.store import sql
from cipherpost.store.base import (
    NotifyCallback,
    Row,
    Step,
    StepResult,
    StoreClosed,
    StoreError,
    UniqueViolation,
    Unlisten,
    UnstorableText,
    check_channel,
    check_text,
)

log = logging.getLogger(__name__)

_TYPES = {"blob": "BYTEA", "int": "BIGINT"}
# A `:name` placeholder, not a `::type` cast and not inside a string literal.
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|(?<!:):([a-z_][a-z0-9_]*)")
_MIGRATION_LOCK = 0x43_50_4D_47  # pg_advisory_xact_lock key: "CPMG"
_RECONNECT_SECONDS: Final = 1.0


def positional(query: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite ``:name`` placeholders to ``$1..$n``; returns the text and the names in order."""
    names: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PLACEHOLDER.sub(replace, query), tuple(names)


def _translate(exc: Exception) -> StoreError:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return UniqueViolation(str(exc))
    if isinstance(exc, asyncpg.CharacterNotInRepertoireError | asyncpg.UntranslatableCharacterError):
        return UnstorableText(str(exc))  # e.g. U+0000 produced inside the database
    return StoreError(f"{type(exc).__name__}: {exc}")


class PostgresStore:
    """The scale-out backend (see module docstring)."""

    backend = "postgres"

    def __init__(self, pool: asyncpg.Pool, dsn: str | None = None) -> None:
        self._pool = pool
        self._dsn = dsn
        self._queries = {name: positional(text) for name, text in sql.queries(self.backend).items()}
        self._closed = False
        self._listeners: dict[str, list[NotifyCallback]] = {}
        self._listen_conn: Any = None
        self._listen_lock = asyncio.Lock()
        self._reconnect: asyncio.Task[None] | None = None
        #: Writes under way; close() lets them finish before it closes the pool.
        self._writes = 0
        self._no_writes = asyncio.Event()
        self._no_writes.set()

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = 2, max_size: int = 20) -> PostgresStore:
        """Connect, apply pending migrations (serialized across nodes by an advisory lock)."""
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
        store = cls(pool, dsn)
        try:
            await store._migrate()
        except BaseException:
            await pool.close()
            raise
        return store

    async def _migrate(self) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
                "applied_at BIGINT NOT NULL, PRIMARY KEY (component, version))"
            )
            applied = {(row[0], row[1]) for row in await conn.fetch("SELECT component, version FROM schema_migrations")}
            for component, version, statements in sql.migrations(_TYPES):
                if (component, version) in applied:
                    continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (component, version, applied_at) VALUES ($1, $2, $3)",
                    component, version, int(time.time()),
                )
                log.info("store: applied %s schema version %d", component, version)

    def _prepared(self, step: Step) -> tuple[str, list[Any]]:
        text, names = self._queries[step.query]
        check_text(step.params.items())
        return text, [step.params[name] for name in names]

    async def fetch_all(self, query: str, /, **params: object) -> list[Row]:
        if self._closed:
            raise StoreClosed("store is closed")
        text, args = self._prepared(Step(query, params))
        try:
            rows = await self._pool.fetch(text, *args)
        except asyncpg.PostgresError as exc:
            raise _translate(exc) from exc
        return [dict(row) for row in rows]

    async def fetch_one(self, query: str, /, **params: object) -> Row | None:
        rows = await self.fetch_all(query, **params)
        return rows[0] if rows else None

    async def write(self, steps: Sequence[Step]) -> list[StepResult]:
        if self._closed:
            raise StoreClosed("store is closed")
        prepared = [self._prepared(step) for step in steps]
        results: list[StepResult] = []
        self._writes += 1
        self._no_writes.clear()
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                for text, args in prepared:
                    results.append(await _run(conn, text, args))
        except asyncpg.PostgresError as exc:
            raise _translate(exc) from exc
        finally:
            self._writes -= 1
            if not self._writes:
                self._no_writes.set()
        return results

    async def execute(self, query: str, /, **params: object) -> StepResult:
        (result,) = await self.write([Step(query, params)])
        return result

    async def notify(self, channel: str, payload: str) -> None:
        if self._closed:
            raise StoreClosed("store is closed")
        check_text([("payload", payload)])
        try:
            await self._pool.execute("SELECT pg_notify($1, $2)", check_channel(channel), payload)
        except asyncpg.PostgresError as exc:
            raise _translate(exc) from exc

    async def listen(self, channel: str, callback: NotifyCallback) -> Unlisten:
        check_channel(channel)
        async with self._listen_lock:
            conn = await self._listening_connection()
            callbacks = self._listeners.setdefault(channel, [])
            if not callbacks:
                await conn.add_listener(channel, self._dispatch)
            callbacks.append(callback)

        async def unlisten() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unlisten

    async def _listening_connection(self) -> Any:
        if self._listen_conn is None or self._listen_conn.is_closed():
            if self._dsn is None:
                raise StoreError("this PostgreSQL store was opened without a DSN; it cannot LISTEN")
            conn = await asyncpg.connect(self._dsn)
            conn.add_termination_listener(self._lost)
            for channel, callbacks in self._listeners.items():
                if callbacks:
                    await conn.add_listener(channel, self._dispatch)
            self._listen_conn = conn
        return self._listen_conn

    def _dispatch(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        for callback in list(self._listeners.get(channel, ())):
            try:
                callback(payload)
            except Exception:
                log.exception("store: a listener of %s failed", channel)

    def _lost(self, _conn: Any) -> None:
        if not self._closed and self._reconnect is None:
            log.warning("store: the LISTEN connection was lost; reconnecting")
            self._reconnect = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        try:
            while not self._closed:
                await asyncio.sleep(_RECONNECT_SECONDS)
                try:
                    async with self._listen_lock:
                        await self._listening_connection()
                    return
                except (OSError, asyncpg.PostgresError, StoreError) as exc:
                    log.warning("store: LISTEN reconnect failed (%s); retrying", exc)
        finally:
            self._reconnect = None

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._no_writes.wait()
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._listen_conn is not None and not self._listen_conn.is_closed():
            await self._listen_conn.close()
        await self._pool.close()


async def _run(conn: Any, text: str, args: list[Any]) -> StepResult:
    """One statement: its rows (SELECT/RETURNING) and the affected-row count from its status."""
    statement = await conn.prepare(text)  # asyncpg caches prepared statements per connection
    rows = [dict(row) for row in await statement.fetch(*args)]
    count = statement.get_statusmsg().rsplit(" ", 1)[-1]
    return StepResult(rows, int(count) if count.isdigit() else len(rows))
