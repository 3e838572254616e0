"""`audit verify`: an untouched trail passes; tampering is named (services/audit/verify.py)."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
from pathlib import Path

import pytest

from cipherpost.crypto.keyring import Keyring
from cipherpost.services.audit import verify as v
from cipherpost.services.audit.digest import AuditSigner
from cipherpost.services.audit.layout import (
    AUDIT_DIRNAME,
    DIGESTS,
    LOGS,
    SIGNING_KEY_FILENAME,
    TrailFile,
    log_file_name,
    scan,
)
from cipherpost.services.audit.trail import AuditTrail
from cipherpost.store import SqliteStore

from .conftest import ACCOUNT, REGION, WHEN, Clock, kms_event

PERIODS = 4


def build_trail(directory: Path, signer: AuditSigner) -> Clock:
    """A trail of PERIODS digests, each listing two log files; the clock is left after the last."""
    clock = Clock()

    async def main() -> None:
        store = await SqliteStore.open(directory.parent / "x.sqlite3")
        trail = AuditTrail(directory, store, signer, region=REGION, clock=clock, flush_interval=3600)
        await trail.start()
        for _ in range(PERIODS):
            for _ in range(2):
                trail.record(kms_event(received_at=clock.now))
                await trail.flush()
                clock.advance(90)
            await trail.write_digests()
            clock.advance(90)
        await trail.stop()
        await store.close()

    asyncio.run(main())
    return clock


@pytest.fixture
def trail(tmp_path: Path, signer: AuditSigner) -> Path:
    directory = tmp_path / AUDIT_DIRNAME
    build_trail(directory, signer)
    return directory


def _logs(directory: Path) -> list[TrailFile]:
    return scan(directory, LOGS)


def _digests(directory: Path) -> list[TrailFile]:
    return scan(directory, DIGESTS)


def test_untouched_trail_is_valid(trail: Path, signer: AuditSigner) -> None:
    report = v.verify_trail(trail, signer.public_key_pem)
    assert report.ok, report.summary
    assert report.digests_checked == PERIODS + 1
    assert report.logs_checked == 2 * PERIODS
    assert "Trail is VALID" in report.summary


def test_one_changed_byte_is_modified(trail: Path, signer: AuditSigner) -> None:
    victim = _logs(trail)[3]
    path = trail / victim.name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = v.verify_trail(trail, signer.public_key_pem)
    assert report.problems == [(v.MODIFIED, victim.name)]
    assert victim.name in report.summary


def test_deleted_log_file(trail: Path, signer: AuditSigner) -> None:
    victim = _logs(trail)[0]
    (trail / victim.name).unlink()
    report = v.verify_trail(trail, signer.public_key_pem)
    assert report.problems == [(v.DELETED, victim.name)]


def test_inserted_log_file(trail: Path, signer: AuditSigner) -> None:
    source = _logs(trail)[1]
    forged = log_file_name(ACCOUNT, REGION, WHEN)
    (trail / forged).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(trail / source.name, trail / forged)
    report = v.verify_trail(trail, signer.public_key_pem)
    assert report.problems == [(v.INSERTED, forged)]


def test_file_newer_than_the_last_digest_is_not_reported(trail: Path, signer: AuditSigner) -> None:
    last = _digests(trail)[-1]
    pending = log_file_name(ACCOUNT, REGION, last.time.replace(hour=last.time.hour + 1))
    (trail / pending).parent.mkdir(parents=True, exist_ok=True)
    (trail / pending).write_bytes(gzip.compress(b'{"Records":[]}'))
    assert v.verify_trail(trail, signer.public_key_pem).ok


def test_deleted_digest_breaks_the_chain(trail: Path, signer: AuditSigner) -> None:
    victim = _digests(trail)[1]
    (trail / victim.name).unlink()
    (trail / (victim.name + ".sig")).unlink()
    report = v.verify_trail(trail, signer.public_key_pem)
    assert report.kinds(v.DIGEST_DELETED) == [victim.name]
    # The files only the removed digest listed can no longer be verified, and are named.
    assert len(report.kinds(v.UNVERIFIED)) == 2
    assert not report.kinds(v.INSERTED)


def test_modified_digest(trail: Path, signer: AuditSigner) -> None:
    victim = _digests(trail)[2]
    path = trail / victim.name
    document = json.loads(gzip.decompress(path.read_bytes()))
    document["logFiles"] = document["logFiles"][:1]  # hide a log file from the chain
    path.write_bytes(gzip.compress(json.dumps(document).encode()))
    report = v.verify_trail(trail, signer.public_key_pem)
    assert (v.DIGEST_SIGNATURE, victim.name) in report.problems
    assert (v.DIGEST_MODIFIED, victim.name) in report.problems


def test_missing_signature(trail: Path, signer: AuditSigner) -> None:
    victim = _digests(trail)[0]
    (trail / (victim.name + ".sig")).unlink()
    report = v.verify_trail(trail, signer.public_key_pem)
    assert (v.DIGEST_UNSIGNED, victim.name) in report.problems


def test_other_key_fails_every_signature(trail: Path) -> None:
    report = v.verify_trail(trail, AuditSigner.generate().public_key_pem)
    assert len(report.kinds(v.DIGEST_SIGNATURE)) == PERIODS + 1


def test_time_range_limits_what_is_checked(trail: Path, signer: AuditSigner) -> None:
    digests = _digests(trail)
    (trail / _logs(trail)[0].name).unlink()  # listed by the first digest only
    report = v.verify_trail(trail, signer.public_key_pem, start=digests[1].time)
    assert report.ok and report.digests_checked == PERIODS


def test_run_verify_uses_the_installation_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    keyring = Keyring.load_or_create(tmp_path / "keyring", env_key=None)
    signer = AuditSigner.load_or_create(tmp_path / SIGNING_KEY_FILENAME, keyring)
    build_trail(tmp_path / AUDIT_DIRNAME, signer)
    assert v.run_verify(tmp_path) == 0
    assert "Trail is VALID" in capsys.readouterr().out
    victim = _logs(tmp_path / AUDIT_DIRNAME)[0]
    (tmp_path / AUDIT_DIRNAME / victim.name).unlink()
    assert v.run_verify(tmp_path) == 1
    assert victim.name in capsys.readouterr().out


def test_run_verify_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIPHERPOST_ROOT_KEY", raising=False)
    assert v.run_verify(tmp_path) == 2
