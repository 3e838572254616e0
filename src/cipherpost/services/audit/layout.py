"""Where trail files live and what they are called: CloudTrail's S3 key layout, on disk.

Log file::

    AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<random>.json.gz

Digest file::

    AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/
        <account>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHMMSSZ>.json.gz

and its signature ``<digest>.sig`` (hex). Names are relative to the trail directory, with
``/`` separators, so they read the same in digests and reports on every platform.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

#: Under the data directory: the trail's files, and the wrapped digest-signing key.
AUDIT_DIRNAME = "audit"
SIGNING_KEY_FILENAME = "audit-signing-key"

LOGS = "CloudTrail"
DIGESTS = "CloudTrail-Digest"
SIGNATURE_SUFFIX = ".sig"
_ALPHABET = string.ascii_letters + string.digits

_LOG_NAME = re.compile(r"^(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8}T\d{4}Z)_([A-Za-z0-9]{16})\.json\.gz$")
_DIGEST_NAME = re.compile(
    r"^(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_([A-Za-z0-9._-]+)_([a-z0-9-]+)_(\d{8}T\d{6}Z)\.json\.gz$"
)


@dataclass(frozen=True, slots=True)
class TrailFile:
    """A log or digest file recognized by its name."""

    name: str
    """Path relative to the trail directory (``AWSLogs/...``)."""
    account_id: str
    region: str
    time: datetime
    """The time in the file name (minutes for log files, seconds for digests)."""


def _day(moment: datetime) -> str:
    return moment.strftime("%Y/%m/%d")


def log_file_name(account_id: str, region: str, moment: datetime, unique: str | None = None) -> str:
    """A new log file's relative name; ``unique`` is 16 letters and digits (random if None)."""
    tag = unique or "".join(secrets.choice(_ALPHABET) for _ in range(16))
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    folder = f"AWSLogs/{account_id}/{LOGS}/{region}/{_day(moment.astimezone(UTC))}"
    return f"{folder}/{account_id}_CloudTrail_{region}_{stamp}_{tag}.json.gz"


def digest_file_name(account_id: str, region: str, trail: str, end: datetime) -> str:
    """The relative name of the digest file that ends at ``end``."""
    moment = end.astimezone(UTC)
    stamp = moment.strftime("%Y%m%dT%H%M%SZ")
    folder = f"AWSLogs/{account_id}/{DIGESTS}/{region}/{_day(moment)}"
    return f"{folder}/{account_id}_CloudTrail-Digest_{region}_{trail}_{region}_{stamp}.json.gz"


def parse_log_name(name: str) -> TrailFile | None:
    """A log file's account, region and minute, from its relative name; None if not one."""
    match = _LOG_NAME.match(name.rsplit("/", 1)[-1])
    if match is None:
        return None
    moment = datetime.strptime(match.group(3), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    return TrailFile(name, match.group(1), match.group(2), moment)


def parse_digest_name(name: str) -> TrailFile | None:
    """A digest file's account, region and end time, from its relative name; None if not one."""
    match = _DIGEST_NAME.match(name.rsplit("/", 1)[-1])
    if match is None:
        return None
    moment = datetime.strptime(match.group(5), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return TrailFile(name, match.group(1), match.group(2), moment)


def relative(directory: Path, path: Path) -> str:
    """``path`` relative to the trail directory, ``/``-separated."""
    return path.relative_to(directory).as_posix()


def scan(directory: Path, kind: str) -> list[TrailFile]:
    """Every log (``kind=LOGS``) or digest (``kind=DIGESTS``) file under the directory, by time then name."""
    parse = parse_log_name if kind == LOGS else parse_digest_name
    found: list[TrailFile] = []
    root = directory / "AWSLogs"
    if not root.is_dir():
        return found
    for path in root.glob(f"*/{kind}/*/*/*/*/*.json.gz"):
        parsed = parse(relative(directory, path))
        if parsed is not None:
            found.append(parsed)
    found.sort(key=lambda item: (item.time, item.name))
    return found
