"""SQLite backend: WAL mode, one writer thread with group commit, a small pool of readers.

Writes never run on the event loop. Every write job is queued to a single writer thread,
which drains all jobs waiting at that moment into ONE transaction (one failing job does not
fail its neighbours: see below), commits with ``synchronous=FULL`` (the commit is fsynced:
an acknowledged write survives ``kill -9`` and power loss), and only then resolves the
jobs' futures. Under load, many requests share each fsync; with one request in flight the
cost is one commit, as it must be.

Cross-thread wake-ups (and handing the GIL back and forth) are the expensive part of a
small write, more than its SQL; so the jobs submitted while the event loop runs its ready
callbacks are handed to the writer together, by one callback scheduled behind them (one
wake-up and one batch instead of one each: the writer could not have run without the GIL
meanwhile anyway). A batch first runs without per-job savepoints; only if a statement
fails is the transaction rolled back and the batch run again with each job in its own
savepoint, which gives the same outcome as savepoints from the start (the first run left
nothing behind); a job alone in its batch just gets its error.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

_MAX_BATCH = 512
_TYPES = {"blob": "BLOB", "int": "INTEGER"}


@dataclass(slots=True)
class _Job:
    steps: Sequence[Step]
    future: asyncio.Future[list[StepResult]]
    loop: asyncio.AbstractEventLoop


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    # Deleted content (shredded key material, deleted messages) is overwritten where that costs no
    # extra I/O; WAL frames still hold it until the next checkpoint.
    conn.execute("PRAGMA secure_delete=FAST")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _translate(exc: Exception) -> StoreError:
    """Driver errors (and a parameter the driver cannot bind) become store errors at this edge."""
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
        return UniqueViolation(str(exc))
    if isinstance(exc, UnicodeEncodeError):
        return UnstorableText(str(exc))
    return StoreError(f"{type(exc).__name__}: {exc}")


def _run_steps(conn: sqlite3.Connection, queries: dict[str, str], steps: Sequence[Step]) -> list[StepResult]:
    results: list[StepResult] = []
    for step in steps:
        params = step.params
        cursor = conn.execute(queries[step.query], params if type(params) is dict else dict(params))
        rows = [dict(row) for row in cursor.fetchall()] if cursor.description else []
        results.append(StepResult(rows, cursor.rowcount))
    return results


_Outcome = tuple[_Job, list[StepResult] | None, BaseException | None]


def _settle(outcomes: list[_Outcome]) -> None:
    """Resolve futures on their loop (called via call_soon_threadsafe)."""
    for job, result, error in outcomes:
        if job.future.done():
            continue
        if error is not None:
            job.future.set_exception(error)
        else:
            assert result is not None
            job.future.set_result(result)


class _Writer(threading.Thread):
    """The one thread that writes; see the module docstring for the group-commit scheme."""

    def __init__(self, path: Path, queries: dict[str, str]) -> None:
        super().__init__(name="cipherpost-sqlite-writer", daemon=True)
        self._conn = _connect(path)
        self._queries = queries
        #: Lists of jobs (one per event-loop hand-over); None stops the thread.
        self.jobs: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        self.commits = 0

    def run(self) -> None:
        stopping = False
        while not stopping:
            first = self.jobs.get()
            if first is None:
                break
            batch = list(first)
            while len(batch) < _MAX_BATCH:
                try:
                    jobs = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if jobs is None:
                    stopping = True
                    break
                batch += jobs
            for start in range(0, len(batch), _MAX_BATCH):
                self._commit_batch(batch[start:start + _MAX_BATCH])
        self._conn.close()

    def _run_batch(self, batch: list[_Job], *, isolated: bool) -> list[_Outcome]:
        """Run every job in a new transaction (left open); ``isolated``: each in a savepoint.

        Not isolated, a failing statement raises (the caller rolls back); isolated, a failing
        job is rolled back to its savepoint and its error becomes its outcome. Any exception
        counts, not only ``sqlite3.Error`` (a parameter sqlite3 cannot bind raises
        ``ValueError``/``OverflowError``): one escaping would end the writer thread, and with
        it every write of the process.
        """
        conn = self._conn
        queries = self._queries
        conn.execute("BEGIN IMMEDIATE")
        if not isolated:
            return [(job, _run_steps(conn, queries, job.steps), None) for job in batch]
        outcomes: list[_Outcome] = []
        for job in batch:
            conn.execute("SAVEPOINT job")
            try:
                outcomes.append((job, _run_steps(conn, queries, job.steps), None))
                conn.execute("RELEASE job")
            except Exception as exc:
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                outcomes.append((job, None, _translate(exc)))
        return outcomes

    def _commit_batch(self, batch: list[_Job]) -> None:
        outcomes: list[_Outcome]
        conn = self._conn
        try:
            try:
                outcomes = self._run_batch(batch, isolated=False)
            except Exception as exc:
                # A statement failed: undo the whole batch. Alone, the job gets its error;
                # otherwise run the batch again, each job in its own savepoint.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if len(batch) > 1:
                    outcomes = self._run_batch(batch, isolated=True)
                else:
                    outcomes = [(batch[0], None, _translate(exc))]
            if conn.in_transaction:
                conn.execute("COMMIT")
            self.commits += 1
        except Exception as exc:
            log.exception("group commit of %d jobs failed", len(batch))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            error = _translate(exc)
            outcomes = [(job, None, error) for job in batch]
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].loop, []).append(outcome)
        for loop, items in by_loop.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, items)


class SqliteStore:
    """The embedded default backend (see module docstring)."""

    backend = "sqlite"

    def __init__(self, path: Path, *, readers: int = 2) -> None:
        self.path = path
        self._queries: dict[str, str] = dict(sql.queries(self.backend))
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._reader_lock = threading.Lock()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="cipherpost-sqlite-read")
        self._writer: _Writer | None = None
        self._closed = False
        self._stopping = False
        #: Jobs submitted during the current iteration of each event loop, not yet handed over.
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        #: Held while handing jobs over and while stopping the writer (no job after the stop).
        self._handover_lock = threading.Lock()
        self._listeners: dict[str, list[NotifyCallback]] = {}

    @classmethod
    async def open(cls, path: Path) -> SqliteStore:
        """Open (creating if needed) the database at ``path`` and apply pending migrations."""
        # Created 0600 first: SQLite gives its -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        store = cls(path)
        await asyncio.to_thread(store._migrate)
        store._writer = _Writer(path, store._queries)
        store._writer.start()
        return store

    def _migrate(self) -> None:
        conn = _connect(self.path)
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
                "applied_at INTEGER NOT NULL, PRIMARY KEY (component, version))"
            )
            applied = {(row[0], row[1]) for row in conn.execute("SELECT component, version FROM schema_migrations")}
            for component, version, statements in sql.migrations(_TYPES):
                if (component, version) in applied:
                    continue
                conn.execute("BEGIN IMMEDIATE")
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (component, version, applied_at) VALUES (?, ?, ?)",
                    (component, version, int(time.time())),
                )
                conn.execute("COMMIT")
                log.info("store: applied %s schema version %d", component, version)
        finally:
            conn.close()

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._reader_lock:
                self._reader_conns.append(conn)
        return conn

    def _read(self, query: str, params: dict[str, object]) -> list[Row]:
        try:
            cursor = self._reader().execute(self._queries[query], params)
            return [dict(row) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise _translate(exc) from exc

    async def fetch_all(self, query: str, /, **params: object) -> list[Row]:
        if self._closed:
            raise StoreClosed("store is closed")
        check_text(params.items())
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self._read, query, params)

    async def fetch_one(self, query: str, /, **params: object) -> Row | None:
        rows = await self.fetch_all(query, **params)
        return rows[0] if rows else None

    async def write(self, steps: Sequence[Step]) -> list[StepResult]:
        if self._closed or self._writer is None:
            raise StoreClosed("store is closed")
        for step in steps:
            if step.query not in self._queries:
                raise KeyError(f"unknown query {step.query!r}")
            check_text(step.params.items())
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[StepResult]] = loop.create_future()
        pending = self._pending.get(loop)
        if pending is None:
            self._pending[loop] = [_Job(steps, future, loop)]
            loop.call_soon(self._hand_over, loop)
        else:
            pending.append(_Job(steps, future, loop))
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the writer the jobs ``loop`` submitted since the last hand-over (on that loop)."""
        jobs = self._pending.pop(loop, None)
        if not jobs:
            return
        with self._handover_lock:
            if self._writer is not None and self._writer.is_alive() and not self._stopping:
                self._writer.jobs.put(jobs)
                return
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(StoreClosed("store is closed"))

    async def execute(self, query: str, /, **params: object) -> StepResult:
        (result,) = await self.write([Step(query, params)])
        return result

    async def notify(self, channel: str, payload: str) -> None:
        """In-process only: one SQLite file has one server process (see the Store protocol)."""
        if self._closed:
            raise StoreClosed("store is closed")
        check_text([("payload", payload)])
        loop = asyncio.get_running_loop()
        for callback in list(self._listeners.get(check_channel(channel), ())):
            loop.call_soon(callback, payload)

    async def listen(self, channel: str, callback: NotifyCallback) -> Unlisten:
        callbacks = self._listeners.setdefault(check_channel(channel), [])
        callbacks.append(callback)

        async def unlisten() -> None:
            if callback in callbacks:
                callbacks.remove(callback)

        return unlisten

    @property
    def commits(self) -> int:
        """Number of group commits so far (for tests and metrics)."""
        return self._writer.commits if self._writer else 0

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            loop = asyncio.get_running_loop()
            if loop in self._pending:
                self._hand_over(loop)  # writes submitted before close() are still done
            with self._handover_lock:
                self._stopping = True
                self._writer.jobs.put(None)
            await asyncio.to_thread(self._writer.join)
        self._readers.shutdown(wait=True)
        with self._reader_lock:
            for conn in self._reader_conns:
                conn.close()
            self._reader_conns.clear()
