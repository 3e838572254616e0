"""``cipherpost audit verify``: check a trail as ``aws cloudtrail validate-logs`` does.

For every digest (in the time range): its signature is valid under the installation's key,
and it links to the previous digest, which exists and has the hash and signature the link
records (a removed digest breaks the chain and is named). For every log file a digest
lists: it exists ("deleted" otherwise) and its SHA-256 matches ("modified" otherwise).
Every log file on disk must be listed by some digest ("inserted" otherwise), except files
newer than the newest digest, which no digest can list yet; files from the period of a
removed digest are reported "unverified".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cipherpost.crypto.keyring import ROOT_KEY_ENV, Keyring
from cipherpost.services.audit.digest import AuditSigner, sha256_hex, signed_string, verify_signature
from cipherpost.services.audit.files import read_gzip_json
from cipherpost.services.audit.layout import (
    AUDIT_DIRNAME,
    DIGESTS,
    LOGS,
    SIGNATURE_SUFFIX,
    SIGNING_KEY_FILENAME,
    TrailFile,
    scan,
)
from cipherpost.services.audit.record import format_time, parse_time
from cipherpost.services.audit.recovery import floor_minute

MODIFIED: Final = "modified"
DELETED: Final = "deleted"
INSERTED: Final = "inserted"
UNVERIFIED: Final = "unverified"
DIGEST_DELETED: Final = "digest deleted"
DIGEST_MODIFIED: Final = "digest modified"
DIGEST_INSERTED: Final = "digest inserted"
DIGEST_SIGNATURE: Final = "digest signature invalid"
DIGEST_UNSIGNED: Final = "digest signature missing"
DIGEST_UNREADABLE: Final = "digest unreadable"
_EPOCH: Final = datetime.fromtimestamp(0, UTC)
_NEVER: Final = datetime.max.replace(tzinfo=UTC)


@dataclass(slots=True)
class VerifyReport:
    """What :func:`verify_trail` found: problems as (kind, file) pairs, and counts."""

    start: datetime | None
    end: datetime | None
    problems: list[tuple[str, str]] = field(default_factory=list)
    digests_checked: int = 0
    logs_checked: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def kinds(self, kind: str) -> list[str]:
        """The files with problems of one kind."""
        return [name for problem, name in self.problems if problem == kind]

    @property
    def summary(self) -> str:
        """A human report, one line per problem, then the totals."""
        begin = format_time(self.start) if self.start else "the beginning"
        until = format_time(self.end) if self.end else "now"
        lines = [f"Validating audit trail from {begin} to {until}"]
        lines += [f"  {kind.upper()}: {name}" for kind, name in self.problems]
        bad_digests = len({n for k, n in self.problems if k.startswith("digest") and k != DIGEST_DELETED})
        bad_logs = len({n for k, n in self.problems if not k.startswith("digest")})
        lines.append(f"{self.digests_checked - bad_digests}/{self.digests_checked} digest files valid")
        lines.append(f"{max(self.logs_checked - bad_logs, 0)}/{self.logs_checked} log files valid")
        lines.append("Trail is VALID" if self.ok else f"Trail is INVALID: {len(self.problems)} problem(s)")
        return "\n".join(lines)


@dataclass(slots=True)
class _Digest:
    """A digest file as read from disk (``document`` None when unreadable)."""

    file: TrailFile
    data: bytes
    document: dict[str, Any] | None


def _in_range(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or moment >= start) and (end is None or moment <= end)


def _load(directory: Path, file: TrailFile) -> _Digest:
    data = (directory / file.name).read_bytes()
    try:
        document = read_gzip_json(data)
    except ValueError:
        return _Digest(file, data, None)
    return _Digest(file, data, document if isinstance(document, dict) else None)


def _signature(directory: Path, name: str) -> str | None:
    try:
        return (directory / (name + SIGNATURE_SUFFIX)).read_text(encoding="ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def verify_trail(
    directory: Path, public_key_pem: bytes, *, start: datetime | None = None, end: datetime | None = None
) -> VerifyReport:
    """Validate every digest and log file under ``directory`` in the time range (inclusive)."""
    report = VerifyReport(start, end)
    groups: dict[tuple[str, str], list[TrailFile]] = {}
    for file in scan(directory, DIGESTS):
        groups.setdefault((file.account_id, file.region), []).append(file)
    logs: dict[tuple[str, str], list[TrailFile]] = {}
    for file in scan(directory, LOGS):
        logs.setdefault((file.account_id, file.region), []).append(file)
    for key in sorted(groups.keys() | logs.keys()):
        _verify_chain(directory, public_key_pem, groups.get(key, []), logs.get(key, []), report)
    return report


def _verify_chain(
    directory: Path, public_key_pem: bytes, files: list[TrailFile], log_files: list[TrailFile], report: VerifyReport
) -> None:
    """One account/region: digests in order, their links, their log files, then unlisted files."""
    digests = [_load(directory, file) for file in files]
    by_name = {digest.file.name: digest for digest in digests}
    referenced = {str(d.document.get("previousDigestFileName")) for d in digests if d.document}
    listed: set[str] = set()
    gaps: list[tuple[datetime, datetime]] = []
    for index, digest in enumerate(digests):
        document = digest.document
        if document is not None:
            listed.update(str(item.get("fileName")) for item in document.get("logFiles", []))
        if not _in_range(digest.file.time, report.start, report.end):
            continue
        report.digests_checked += 1
        if document is None:
            report.problems.append((DIGEST_UNREADABLE, digest.file.name))
            continue
        _check_signature(directory, public_key_pem, digest, report)
        before = digests[index - 1] if index else None
        gap = _check_link(directory, digest, before, by_name, referenced, report)
        if gap is not None:
            gaps.append(gap)
        _check_logs(directory, document.get("logFiles", []), report)
    newest = digests[-1].file.time if digests else None
    _check_unlisted(log_files, listed, newest, gaps, report)


def _check_signature(directory: Path, public_key_pem: bytes, digest: _Digest, report: VerifyReport) -> None:
    """The digest's own signature over its end time, name, hash and the previous signature."""
    assert digest.document is not None
    signature = _signature(directory, digest.file.name)
    if signature is None:
        report.problems.append((DIGEST_UNSIGNED, digest.file.name))
        return
    document = digest.document
    message = signed_string(
        str(document.get("digestEndTime")), digest.file.name, sha256_hex(digest.data),
        document.get("previousDigestSignature"),
    )
    try:
        valid = verify_signature(public_key_pem, message, bytes.fromhex(signature))
    except ValueError:
        valid = False
    if not valid or document.get("digestFileName") != digest.file.name:
        report.problems.append((DIGEST_SIGNATURE, digest.file.name))


def _check_link(
    directory: Path, digest: _Digest, before: _Digest | None, by_name: dict[str, _Digest],
    referenced: set[str], report: VerifyReport,
) -> tuple[datetime, datetime] | None:
    """The link to the previous digest; returns the period of a removed digest, if any."""
    assert digest.document is not None
    document = digest.document
    previous_name = document.get("previousDigestFileName")
    if previous_name is None:
        if before is not None:  # a chain that starts again after an earlier digest
            report.problems.append((DIGEST_INSERTED, digest.file.name))
        return None
    previous = by_name.get(str(previous_name))
    if previous is None:
        report.problems.append((DIGEST_DELETED, str(previous_name)))
        since = before.file.time if before is not None else _EPOCH
        return since, parse_time(str(document.get("digestStartTime")))
    if sha256_hex(previous.data) != document.get("previousDigestHashValue") or _signature(
        directory, previous.file.name
    ) != document.get("previousDigestSignature"):
        report.problems.append((DIGEST_MODIFIED, previous.file.name))
    if before is not None and before.file.name != previous.file.name and before.file.name not in referenced:
        report.problems.append((DIGEST_INSERTED, before.file.name))
    return None


def _check_logs(directory: Path, entries: Iterable[Any], report: VerifyReport) -> None:
    """Each listed log file exists and still has the hash the digest recorded."""
    for entry in entries:
        name = str(entry.get("fileName"))
        report.logs_checked += 1
        try:
            data = (directory / name).read_bytes()
        except FileNotFoundError:
            report.problems.append((DELETED, name))
            continue
        if sha256_hex(data) != entry.get("hashValue"):
            report.problems.append((MODIFIED, name))


def _check_unlisted(
    log_files: list[TrailFile], listed: set[str], newest: datetime | None,
    gaps: list[tuple[datetime, datetime]], report: VerifyReport,
) -> None:
    """Log files no digest lists: inserted, unless newer than the newest digest or in a gap."""
    # File names carry minutes only: a file from the newest digest's minute may postdate it.
    horizon = floor_minute(newest) if newest is not None else _EPOCH
    for file in log_files:
        if file.name in listed or file.time >= horizon or not _in_range(file.time, report.start, report.end):
            continue
        report.logs_checked += 1
        in_gap = any(floor_minute(low) <= file.time <= high for low, high in gaps)
        report.problems.append((UNVERIFIED if in_gap else INSERTED, file.name))


def run_verify(data_dir: Path, start: datetime | None = None, end: datetime | None = None) -> int:
    """``cipherpost audit verify``: print the report; exit 0 if valid, 1 if not, 2 if it cannot check.

    The public key is derived from the installation's signing key, unwrapped with the root
    keyring (file in the data directory, or ``$CIPHERPOST_ROOT_KEY``), so a public key file
    an intruder replaced cannot make a forged trail pass.
    """
    keyring_file = data_dir / "keyring"
    env_key = os.environ.get(ROOT_KEY_ENV)
    if env_key is None and not keyring_file.exists():
        print(f"cannot verify: no root keyring in {data_dir} and ${ROOT_KEY_ENV} is not set", file=sys.stderr)
        return 2
    try:
        keyring = Keyring.load_or_create(keyring_file, env_key=env_key)
        signer = AuditSigner.load(data_dir / SIGNING_KEY_FILENAME, keyring)
    except Exception as exc:  # any failure to get the key is reported, not raised
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 2
    report = verify_trail(data_dir / AUDIT_DIRNAME, signer.public_key_pem, start=start, end=end)
    print(report.summary)
    return 0 if report.ok else 1
