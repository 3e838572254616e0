"""Picking a trail up where the last process left it: the chain head and undigested files.

On start the recorder must continue each account's digest chain from the newest digest on
disk (so a restart does not start a new, unlinked chain) and list, in its next digest, any
log file written after that digest but never digested (a crash between the two). A digest
is written after its ``.sig`` (see ``trail.py``), so the newest digest always has one
unless someone removed it; then its link has an empty signature and ``audit verify``
reports the digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cipherpost.services.audit.digest import ChainLink, LogFileEntry, sha256_hex
from cipherpost.services.audit.files import read_gzip_json
from cipherpost.services.audit.layout import DIGESTS, LOGS, SIGNATURE_SUFFIX, TrailFile, parse_log_name, scan
from cipherpost.services.audit.record import parse_time

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ChainState:
    """One account's trail state between digests."""

    link: ChainLink | None = None
    """The newest digest (None before the first)."""
    pending: list[LogFileEntry] = field(default_factory=list)
    """Log files written since that digest."""
    period_start: datetime | None = None
    """Start of the period the next digest covers (None: the first file's time)."""


def floor_minute(moment: datetime) -> datetime:
    """``moment`` without seconds (log file names carry minutes only)."""
    return moment.replace(second=0, microsecond=0)


def log_entry(directory: Path, name: str, data: bytes | None = None) -> LogFileEntry:
    """A digest entry for an existing log file (its hash and event time range)."""
    raw = (directory / name).read_bytes() if data is None else data
    times: list[str] = []
    try:
        records = read_gzip_json(raw).get("Records", [])
        times = sorted(str(record["eventTime"]) for record in records)
    except (ValueError, AttributeError, KeyError, TypeError):
        log.warning("audit: log file %s is not readable; listing it by hash only", name)
    parsed = parse_log_name(name)
    fallback = parsed.time if parsed is not None else datetime.fromtimestamp(0, UTC)
    oldest = parse_time(times[0]) if times else fallback
    newest = parse_time(times[-1]) if times else fallback
    return LogFileEntry(name, sha256_hex(raw), oldest, newest)


def _head(directory: Path, digest: TrailFile) -> tuple[ChainLink, set[str], datetime]:
    """The chain link of a digest, the files it lists, and the start of its period."""
    data = (directory / digest.name).read_bytes()
    document: dict[str, Any] = read_gzip_json(data)
    sig_path = directory / (digest.name + SIGNATURE_SUFFIX)
    try:
        signature = sig_path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        log.warning("audit: digest %s has no signature file; `cipherpost audit verify` will report it", digest.name)
        signature = ""
    end = parse_time(document["digestEndTime"])
    listed = {str(item["fileName"]) for item in document.get("logFiles", [])}
    return ChainLink(digest.name, sha256_hex(data), signature, end), listed, parse_time(document["digestStartTime"])


def recover(directory: Path, region: str) -> dict[str, ChainState]:
    """Each account's chain head and pending log files, from what is on disk."""
    newest: dict[str, TrailFile] = {}
    for digest in scan(directory, DIGESTS):
        if digest.region == region:
            newest[digest.account_id] = digest
    states: dict[str, ChainState] = {}
    covered: dict[str, tuple[set[str], datetime]] = {}
    for account, digest in newest.items():
        try:
            link, listed, start = _head(directory, digest)
        except (OSError, ValueError, KeyError) as exc:
            log.error("audit: cannot read digest %s (%s); its chain restarts", digest.name, exc)
            continue
        states[account] = ChainState(link, [], link.end)
        covered[account] = (listed, floor_minute(start))
    for file in scan(directory, LOGS):
        if file.region != region:
            continue
        listed, since = covered.get(file.account_id, (set(), datetime.fromtimestamp(0, UTC)))
        if file.name in listed or file.time < since:
            continue
        states.setdefault(file.account_id, ChainState()).pending.append(log_entry(directory, file.name))
    return states
