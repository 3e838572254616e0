"""The recorder: log files, the event history, selectors, digests, retention (services/audit/trail.py)."""

from __future__ import annotations

import asyncio
import gzip
import json
import stat
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cipherpost.services.audit.digest import AuditSigner, sha256_hex, signed_string, verify_signature
from cipherpost.services.audit.errors import InvalidEventSelectorsException
from cipherpost.services.audit.layout import DIGESTS, LOGS, parse_digest_name, parse_log_name, scan
from cipherpost.services.audit.trail import AuditTrail
from cipherpost.store import SqliteStore, Store

from .conftest import (
    ACCOUNT,
    MARKER,
    OTHER,
    REGION,
    ROOT,
    USER,
    WHEN,
    Clock,
    all_bytes,
    kms_event,
    make_ctx,
    sns_publish_event,
)

Body = Callable[[AuditTrail, Store, Clock], Awaitable[Any]]


def run(tmp_path: Path, signer: AuditSigner, body: Body, **options: Any) -> Any:
    """Run ``body`` against a started trail on a fresh SQLite store; stops both after."""
    clock = options.pop("clock", None) or Clock()

    async def main() -> Any:
        store = await SqliteStore.open(tmp_path / "x.sqlite3")
        trail = AuditTrail(tmp_path / "audit", store, signer, region=REGION, clock=clock,
                           flush_interval=options.pop("flush_interval", 3600), **options)
        try:
            await trail.start()
            return await body(trail, store, clock)
        finally:
            await trail.stop()
            await store.close()

    return asyncio.run(main())


def _records(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(gzip.decompress(path.read_bytes()))["Records"]
    return records


def test_log_file_name_mode_and_content(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> None:
        trail.record(kms_event())
        trail.record(kms_event(ROOT, "Encrypt"))
        assert trail.buffered == 2
        assert await trail.flush() == 2

    run(tmp_path, signer, body)
    (log_file,) = scan(tmp_path / "audit", LOGS)
    parsed = parse_log_name(log_file.name)
    assert parsed is not None and (parsed.account_id, parsed.region) == (ACCOUNT, REGION)
    folder = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/2024/05/01/"
    assert log_file.name.startswith(folder + f"{ACCOUNT}_CloudTrail_{REGION}_20240501T1200Z_")
    path = tmp_path / "audit" / log_file.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [r["eventName"] for r in _records(path)] == ["Decrypt", "Encrypt"]
    assert not list(path.parent.glob(".*.tmp"))


def test_events_go_to_the_history_in_one_write(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> list[dict[str, Any]]:
        for _ in range(3):
            trail.record(kms_event())
        await trail.flush()
        return await store.fetch_all("audit_events_page", account_id=ACCOUNT, start_time=0,
                                     before_time=2**40, before_id="~", limit=10)

    rows = run(tmp_path, signer, body)
    assert len(rows) == 3
    record = json.loads(rows[0]["record"])
    assert record["eventName"] == "Decrypt" and record["userIdentity"]["userName"] == "EMRUser"


def test_files_are_grouped_per_account(tmp_path: Path, signer: AuditSigner) -> None:
    other = USER.__class__(OTHER, f"arn:aws:iam::{OTHER}:root", OTHER, "Root", access_key_id="AKIAOTHER")

    async def body(trail: AuditTrail, store: Store, clock: Clock) -> None:
        trail.record(kms_event())
        trail.record(kms_event(other))
        await trail.flush()

    run(tmp_path, signer, body)
    assert sorted(f.account_id for f in scan(tmp_path / "audit", LOGS)) == sorted([ACCOUNT, OTHER])
    assert sorted(f.account_id for f in scan(tmp_path / "audit", DIGESTS)) == sorted([ACCOUNT, OTHER])


def test_data_events_only_when_selected(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> tuple[int, int]:
        trail.record(sns_publish_event())
        await trail.flush()
        before = len(scan(tmp_path / "audit", LOGS))
        await trail.set_event_selectors(ACCOUNT, {"EventSelectors": [
            {"ReadWriteType": "All", "DataResources": [{"Type": "AWS::SNS::Topic", "Values": ["arn:aws:sns"]}]}]})
        trail.record(sns_publish_event())
        await trail.flush()
        return before, len(scan(tmp_path / "audit", LOGS))

    assert run(tmp_path, signer, body) == (0, 1)
    (log_file,) = scan(tmp_path / "audit", LOGS)
    (record,) = _records(tmp_path / "audit" / log_file.name)
    assert record["eventCategory"] == "Data" and record["requestParameters"]["message"] != MARKER


def test_selectors_and_logging_persist(tmp_path: Path, signer: AuditSigner) -> None:
    async def first(trail: AuditTrail, store: Store, clock: Clock) -> None:
        fields = [{"Field": "eventCategory", "Equals": ["Data"]},
                  {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]}]
        await trail.set_event_selectors(ACCOUNT, {"AdvancedEventSelectors": [{"FieldSelectors": fields}]})
        await trail.set_logging(ACCOUNT, False)
        with pytest.raises(InvalidEventSelectorsException):
            await trail.set_event_selectors(ACCOUNT, {})

    async def second(trail: AuditTrail, store: Store, clock: Clock) -> Any:
        return trail.trail_config(ACCOUNT)

    run(tmp_path, signer, first)
    config = run(tmp_path, signer, second)
    assert config.logging is False and config.advanced_selectors and not config.event_selectors


def test_stopped_trail_writes_no_files_but_history_keeps_management_events(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> int:
        await trail.set_logging(ACCOUNT, False)
        trail.record(kms_event())
        await trail.flush()
        rows = await store.fetch_all("audit_events_page", account_id=ACCOUNT, start_time=0,
                                     before_time=2**40, before_id="~", limit=10)
        return len(rows)

    assert run(tmp_path, signer, body) == 1
    assert scan(tmp_path / "audit", LOGS) == []


def test_digests_chain_and_are_signed(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> None:
        for _ in range(3):
            trail.record(kms_event())
            await trail.flush()
            clock.advance(30)
            await trail.write_digests()
            clock.advance(30)

    run(tmp_path, signer, body)
    directory = tmp_path / "audit"
    digests = scan(directory, DIGESTS)
    assert len(digests) == 4  # three periods, and the final digest on stop
    logs = scan(directory, LOGS)
    previous: dict[str, Any] | None = None
    previous_data = b""
    for digest in digests:
        parsed = parse_digest_name(digest.name)
        assert parsed is not None
        assert digest.name.split("/")[-1].startswith(f"{ACCOUNT}_CloudTrail-Digest_{REGION}_cipherpost_{REGION}_")
        path = directory / digest.name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = path.read_bytes()
        document = json.loads(gzip.decompress(data))
        signature = (directory / (digest.name + ".sig")).read_text()
        assert document["digestSignatureAlgorithm"] == "SHA256withRSA"
        assert document["digestPublicKeyFingerprint"] == signer.fingerprint
        message = signed_string(document["digestEndTime"], digest.name, sha256_hex(data),
                                document["previousDigestSignature"])
        assert verify_signature(signer.public_key_pem, message, bytes.fromhex(signature))
        if previous is None:
            assert document["previousDigestFileName"] is None and document["previousDigestSignature"] is None
        else:
            assert document["previousDigestFileName"] == previous["digestFileName"]
            assert document["previousDigestHashValue"] == sha256_hex(previous_data)
            assert document["digestStartTime"] == previous["digestEndTime"]
        previous, previous_data = document, data
    listed = [f["fileName"] for d in digests for f in json.loads(gzip.decompress((directory / d.name).read_bytes()))
              ["logFiles"]]
    assert listed == [f.name for f in logs]


def test_chain_continues_after_restart_and_lists_undigested_files(tmp_path: Path, signer: AuditSigner) -> None:
    clock = Clock()

    async def first(trail: AuditTrail, store: Store, clock: Clock) -> None:
        trail.record(kms_event())

    async def crash() -> None:
        """A process that writes a log file, then dies before any digest (no stop())."""
        store = await SqliteStore.open(tmp_path / "x.sqlite3")
        trail = AuditTrail(tmp_path / "audit", store, signer, region=REGION, clock=clock, flush_interval=3600)
        clock.advance(120)
        trail.record(kms_event())
        await trail.flush()
        await store.close()

    async def third(trail: AuditTrail, store: Store, clock: Clock) -> None:
        clock.advance(120)

    run(tmp_path, signer, first, clock=clock)
    asyncio.run(crash())
    run(tmp_path, signer, third, clock=clock)
    directory = tmp_path / "audit"
    documents = [json.loads(gzip.decompress((directory / d.name).read_bytes())) for d in scan(directory, DIGESTS)]
    assert len(documents) == 2
    assert documents[1]["previousDigestFileName"] == documents[0]["digestFileName"]
    assert [len(d["logFiles"]) for d in documents] == [1, 1]
    assert len(scan(directory, LOGS)) == 2


def test_background_task_flushes_and_digests(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> tuple[int, int]:
        trail.record(kms_event())
        clock.advance(10)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if scan(tmp_path / "audit", DIGESTS):
                break
        return len(scan(tmp_path / "audit", LOGS)), trail.buffered

    logs, buffered = run(tmp_path, signer, body, flush_interval=0.01, digest_period=5)
    assert (logs, buffered) == (1, 0)


def test_retention_deletes_old_history(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> tuple[int, int]:
        trail.record(kms_event(received_at=WHEN - timedelta(days=91)))
        trail.record(kms_event(received_at=WHEN - timedelta(days=89)))
        await trail.flush()
        deleted = await trail.expire()
        rows = await store.fetch_all("audit_events_page", account_id=ACCOUNT, start_time=0,
                                     before_time=2**40, before_id="~", limit=10)
        return deleted, len(rows)

    assert run(tmp_path, signer, body) == (1, 1)


def test_no_secret_in_any_file(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> None:
        await trail.set_event_selectors(ACCOUNT, {"EventSelectors": [
            {"DataResources": [{"Type": "AWS::SNS::Topic", "Values": ["arn:aws:sns"]}]}]})
        for _ in range(5):
            trail.record(kms_event())
            trail.record(sns_publish_event())
        await trail.flush()

    run(tmp_path, signer, body)
    everything = all_bytes(tmp_path)  # the trail directory and the SQLite database
    assert b"Publish" in everything and b"Decrypt" in everything
    assert MARKER.encode() not in everything
    assert MARKER.encode().hex().encode() not in everything


def test_record_call_builds_at_flush_and_skips_unwanted_data_events(tmp_path: Path, signer: AuditSigner) -> None:
    async def body(trail: AuditTrail, store: Store, clock: Clock) -> tuple[list[str], int]:
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:t"
        trail.record_call(make_ctx("kms", "Decrypt"), params={"CiphertextBlob": MARKER.encode()},
                          result={"Plaintext": MARKER.encode()}, error=None, event_time=WHEN)
        trail.record_call(make_ctx("sns", "Publish"), params={"TopicArn": topic, "Message": MARKER},
                          result={"MessageId": "m"}, error=None, event_time=WHEN)
        await trail.flush()
        rows = await store.fetch_all("audit_events_page", account_id=ACCOUNT, start_time=0,
                                     before_time=2**40, before_id="~", limit=10)
        return [json.loads(row["record"])["eventName"] for row in rows], len(scan(tmp_path / "audit", LOGS))

    names, files = run(tmp_path, signer, body)
    assert (names, files) == (["Decrypt"], 1)
    assert MARKER.encode() not in all_bytes(tmp_path)
