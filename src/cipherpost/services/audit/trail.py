"""The recorder: buffers events from the request path, delivers them in the background.

:meth:`AuditTrail.record` only appends to a list (the request path pays a method call and
an ``append``). Every ``flush_interval`` a background task takes the buffer and

1. decides per event, with the account's trail settings, whether the trail delivers it
   (CloudTrail: management events by default; data events only when a selector asks) and
   whether the event history keeps it (every management event, as CloudTrail's event
   history does whatever the trails say, and every delivered data event);
2. writes one gzipped ``{"Records": [...]}`` log file per account (0600, atomic), off the
   event loop;
3. inserts the history rows in one batched store write.

Every ``digest_period`` (CloudTrail: hourly), and on :meth:`stop`, it writes each account's
digest file (see ``digest.py``), and applies retention to the event history. A failed file
or store write is retried at the next flush; events are never dropped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cipherpost.context import RequestContext
from cipherpost.errors import AwsError
from cipherpost.services.audit import selectors as sel
from cipherpost.services.audit.digest import AuditSigner, LogFileEntry, make_digest, sha256_hex
from cipherpost.services.audit.files import gzip_records, write_private
from cipherpost.services.audit.layout import SIGNATURE_SUFFIX, log_file_name
from cipherpost.services.audit.lookup import event_row
from cipherpost.services.audit.record import build_event, parse_time
from cipherpost.services.audit.recovery import ChainState, recover
from cipherpost.services.audit.tables import is_data_event
from cipherpost.store import Step, Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_Files = dict[str, list[dict[str, Any]]]
#: A call whose record is built at flush time: (ctx, params, result, error, event time).
_Call = tuple[RequestContext, Mapping[str, Any] | None, Mapping[str, Any] | None, AwsError | None, datetime]
DEFAULT_TRAIL = "cipherpost"
#: Records per log file and rows per store write (a burst becomes several of each).
MAX_RECORDS_PER_FILE = 5000
MAX_ROWS_PER_WRITE = 1000


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _account_of(event: Mapping[str, Any]) -> str:
    """The account whose trail receives an event (CloudTrail's recipientAccountId)."""
    account = event.get("recipientAccountId") or (event.get("userIdentity") or {}).get("accountId")
    return str(account or "")


class AuditTrail:
    """One installation's audit recorder (see the module docstring)."""

    def __init__(
        self, directory: Path, store: Store, signer: AuditSigner, *, region: str,
        trail_name: str = DEFAULT_TRAIL, digest_period: float = 3600, flush_interval: float = 1.0,
        retention_days: int = 90, clock: Clock = _utcnow,
    ) -> None:
        self.directory = directory
        self.region = region
        self.trail_name = trail_name
        self._store = store
        self._signer = signer
        self._digest_period = timedelta(seconds=digest_period)
        self._flush_interval = flush_interval
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        self._buffer: list[dict[str, Any] | _Call] = []
        self._file_backlog: dict[str, list[dict[str, Any]]] = {}
        self._row_backlog: list[dict[str, object]] = []
        self._configs: dict[str, sel.TrailConfig] = {}
        self._chains: dict[str, ChainState] = {}
        self._last_digest = clock()
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- the request path ---

    def record(self, event: dict[str, Any]) -> None:
        """Queue one CloudTrail record for delivery. O(1); never blocks, never raises."""
        self._buffer.append(event)

    def record_call(
        self, ctx: RequestContext, *, params: Mapping[str, Any] | None, result: Mapping[str, Any] | None,
        error: AwsError | None, event_time: datetime,
    ) -> None:
        """Queue one API call; its record is built (and redacted) later, off the request path.

        The same as ``record(build_event(...))`` but O(1) here: building a record costs
        10-100 µs of Python. ``params`` and ``result`` must not be mutated afterwards, and a
        data event no selector can want is never built at all.
        """
        self._buffer.append((ctx, params, result, error, event_time))

    def _build(self, item: dict[str, Any] | _Call) -> dict[str, Any] | None:
        """A buffered item as a record; None for a data event this account's trail cannot want."""
        if isinstance(item, dict):
            return item
        ctx, params, result, error, event_time = item
        if is_data_event(ctx.service, ctx.operation) and not sel.may_select_data(
            self.trail_config(ctx.caller.account_id)
        ):
            return None
        return build_event(ctx, params=params, result=result, error=error, event_time=event_time)

    @property
    def buffered(self) -> int:
        """Events waiting for the next flush (metrics, tests)."""
        return len(self._buffer)

    # --- lifecycle ---

    async def start(self) -> None:
        """Load trail settings and the chain heads, then start the background task."""
        for row in await self._store.fetch_all("audit_trails_all"):
            if row["trail_name"] == self.trail_name:
                self._configs[str(row["account_id"])] = _config_of(row)
        self._chains = await asyncio.to_thread(recover, self.directory, self.region)
        self._last_digest = self._clock()
        await self.expire()
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="cipherpost-audit")

    async def stop(self) -> None:
        """Stop the task, deliver everything buffered, and write a final digest per account."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()
        await self.write_digests()

    async def _run(self) -> None:
        """Flush every interval; digest and expire every digest period. Never dies of an error."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._flush_interval)
            if self._stopping.is_set():
                return
            try:
                await self.flush()
                if self._clock() - self._last_digest >= self._digest_period:
                    await self.write_digests()
                    await self.expire()
            except Exception:
                log.exception("audit: delivery failed; retrying at the next flush")

    # --- delivery ---

    async def flush(self) -> int:
        """Deliver buffered events now; returns how many items were taken from the buffer."""
        async with self._lock:
            events, self._buffer = self._buffer, []
            # Building, redacting and serializing records is pure Python at tens of µs each:
            # a worker thread keeps a burst from holding the event loop for its whole length.
            files, rows = await asyncio.to_thread(self._sort, events)
            for account, records in self._file_backlog.items():
                files[account] = records + files.get(account, [])
            rows = self._row_backlog + rows
            self._file_backlog, self._row_backlog = {}, []
            await self._write_logs(files)
            await self._insert_rows(rows)
            return len(events)

    def _sort(self, items: list[dict[str, Any] | _Call]) -> tuple[_Files, list[dict[str, object]]]:
        """Records per account for the log files, and rows for the event history (worker thread).

        The trail gets what its selectors ask for; the history gets every management event
        (CloudTrail's event history does not depend on trails) and every delivered data event.
        """
        files: _Files = {}
        rows: list[dict[str, object]] = []
        for item in items:
            try:
                event = self._build(item)
            except Exception:  # one unbuildable call must not cost the others their records
                log.exception("audit: cannot build the record of a call")
                continue
            if event is None:
                continue
            account = _account_of(event)
            delivered = sel.selects(self.trail_config(account), event)
            if delivered:
                files.setdefault(account, []).append(event)
            if delivered or event.get("managementEvent", True):
                rows.append(event_row(event))
        return files, rows

    async def _write_logs(self, files: _Files) -> None:
        """One log file per account (more for a burst); failures go back to the backlog."""
        now = self._clock()
        for account, records in files.items():
            for first in range(0, len(records), MAX_RECORDS_PER_FILE):
                chunk = records[first : first + MAX_RECORDS_PER_FILE]
                try:
                    entry = await asyncio.to_thread(self._write_log, account, chunk, now)
                except OSError:
                    log.exception("audit: cannot write a log file for account %s", account)
                    self._file_backlog.setdefault(account, []).extend(records[first:])
                    break
                state = self._chains.setdefault(account, ChainState())
                state.pending.append(entry)
                if state.period_start is None:
                    state.period_start = now

    def _write_log(self, account: str, records: list[dict[str, Any]], now: datetime) -> LogFileEntry:
        """Write one log file (runs in a worker thread)."""
        name = log_file_name(account, self.region, now)
        data = gzip_records(records)
        write_private(self.directory / name, data)
        times = sorted(str(record["eventTime"]) for record in records)
        return LogFileEntry(name, sha256_hex(data), parse_time(times[0]), parse_time(times[-1]))

    async def _insert_rows(self, rows: list[dict[str, object]]) -> None:
        """Insert history rows in batched writes; failures go back to the backlog (idempotent)."""
        for first in range(0, len(rows), MAX_ROWS_PER_WRITE):
            chunk = rows[first : first + MAX_ROWS_PER_WRITE]
            try:
                await self._store.write([Step("audit_event_insert", row) for row in chunk])
            except Exception:
                log.exception("audit: cannot store %d events", len(rows) - first)
                self._row_backlog.extend(rows[first:])
                return

    async def write_digests(self) -> list[str]:
        """Write the digest of every account that has a trail on disk; returns their names."""
        async with self._lock:
            now = self._clock()
            self._last_digest = now
            written: list[str] = []
            for account, state in self._chains.items():
                written.append(await asyncio.to_thread(self._write_digest, account, state, now))
            return written

    def _write_digest(self, account: str, state: ChainState, now: datetime) -> str:
        """Sign and write one digest, its ``.sig`` first (runs in a worker thread)."""
        previous = state.link
        end = now.replace(microsecond=0)
        if previous is not None and end <= previous.end:
            end = previous.end + timedelta(seconds=1)  # names are unique to the second
        start = previous.end if previous is not None else (state.period_start or end)
        digest = make_digest(
            self._signer, account_id=account, region=self.region, trail=self.trail_name,
            start=start, end=end, files=state.pending, previous=previous,
        )
        write_private(self.directory / (digest.name + SIGNATURE_SUFFIX), digest.signature.encode("ascii"))
        write_private(self.directory / digest.name, digest.data)
        state.link, state.pending, state.period_start = digest.link, [], None
        return digest.name

    async def expire(self) -> int:
        """Retention: delete history older than ``retention_days``; returns rows deleted."""
        cutoff = int((self._clock() - self._retention).timestamp())
        result = await self._store.execute("audit_events_expire", cutoff=cutoff)
        return result.rowcount

    # --- trail settings ---

    def trail_config(self, account_id: str) -> sel.TrailConfig:
        """An account's trail settings (the default trail until someone changes them)."""
        config = self._configs.get(account_id)
        return config if config is not None else sel.TrailConfig(self.trail_name)

    def trail_arn(self, account_id: str) -> str:
        """The trail's ARN in ``account_id``."""
        return f"arn:aws:cloudtrail:{self.region}:{account_id}:trail/{self.trail_name}"

    async def set_event_selectors(self, account_id: str, selectors: Mapping[str, Any]) -> sel.TrailConfig:
        """PutEventSelectors: ``selectors`` holds ``EventSelectors`` or ``AdvancedEventSelectors``.

        :raises InvalidEventSelectorsException: see :func:`selectors.validate`.
        """
        basic, advanced = sel.validate(selectors)
        config = replace(self.trail_config(account_id), event_selectors=basic, advanced_selectors=advanced)
        await self._save(account_id, config)
        return config

    async def set_logging(self, account_id: str, logging_on: bool) -> sel.TrailConfig:
        """StartLogging / StopLogging for the account's trail."""
        config = replace(self.trail_config(account_id), logging=logging_on)
        await self._save(account_id, config)
        return config

    async def _save(self, account_id: str, config: sel.TrailConfig) -> None:
        """Store the settings first, then use them (a failed write changes nothing)."""
        await self._store.execute(
            "audit_trail_put", account_id=account_id, trail_name=config.name, region=self.region,
            logging=int(config.logging), event_selectors=json.dumps(list(config.event_selectors)),
            advanced_selectors=json.dumps(list(config.advanced_selectors)),
            updated_at=int(self._clock().timestamp()),
        )
        self._configs[account_id] = config


def _config_of(row: Mapping[str, Any]) -> sel.TrailConfig:
    """A trail's settings from its ``audit_trails`` row."""
    return sel.TrailConfig(
        name=str(row["trail_name"]),
        logging=bool(row["logging"]),
        event_selectors=tuple(json.loads(row["event_selectors"])),
        advanced_selectors=tuple(json.loads(row["advanced_selectors"])),
    )
