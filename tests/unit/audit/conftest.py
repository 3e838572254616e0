"""Shared pieces of the audit tests: request contexts, the signing key, a SQLite store."""

from __future__ import annotations

import gzip
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cipherpost.config import Listener
from cipherpost.context import Caller, RequestContext
from cipherpost.services.audit.digest import AuditSigner
from cipherpost.services.audit.record import build_event

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
MARKER = "ZZ-SECRET-MARKER-7f3a"
WHEN = datetime(2024, 5, 1, 12, 0, 7, tzinfo=UTC)

ROOT = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root", access_key_id="AKIAROOTROOTROOT0001")
USER = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/EMRUser", "AIDAEMRUSER000000001", "IAMUser",
              access_key_id="AKIAEMRUSER000000001", user_name="EMRUser")
ROLE = Caller(ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/Publisher/session-1", "AROAPUBLISHER0000001:session-1",
              "AssumedRole", access_key_id="ASIAPUBLISHER0000001", session_token=MARKER)
SERVICE = Caller.for_service("sns.amazonaws.com", ACCOUNT)
PUBLIC = Listener("http", "127.0.0.1", 4566)
PRIVATE = Listener("unix", "/run/cp.sock", 0, endpoint_id="vpce-0a1b2c3d4e")


def make_ctx(service: str = "kms", operation: str = "Encrypt", caller: Caller = USER, **changes: Any) -> RequestContext:
    """A request context with sensible defaults; ``changes`` override any field."""
    ctx = RequestContext(
        request_id="req-0001", received_at=WHEN, region=REGION, service=service, operation=operation,
        caller=caller, listener=PUBLIC, source_ip="192.0.2.10", user_agent="aws-cli/2.15", tls=None,
    )
    return replace(ctx, **changes)


@pytest.fixture(scope="session")
def signer() -> AuditSigner:
    """One RSA key for the whole run (generation costs tens of milliseconds)."""
    return AuditSigner.generate()


def all_bytes(root: Path) -> bytes:
    """Every file under ``root``, gunzipped where gzipped, concatenated (for marker searches)."""
    out = b""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            out += gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return out


class Clock:
    """A settable clock for the recorder (``clock()`` returns ``now``)."""

    def __init__(self, now: datetime = WHEN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def kms_event(caller: Caller = USER, operation: str = "Decrypt", **changes: Any) -> dict[str, Any]:
    """A KMS management event whose parameters and result carry the marker secret."""
    key_arn = f"arn:aws:kms:{REGION}:{caller.account_id}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    ctx = make_ctx("kms", operation, caller, **changes)
    return build_event(ctx, params={"CiphertextBlob": MARKER.encode(), "EncryptionContext": {"k": "v"}},
                       result={"KeyId": key_arn, "Plaintext": MARKER.encode()}, error=None,
                       event_time=changes.get("received_at", WHEN))


def sns_publish_event(caller: Caller = USER) -> dict[str, Any]:
    """An SNS Publish data event with the marker as its message body."""
    ctx = make_ctx("sns", "Publish", caller)
    topic = f"arn:aws:sns:{REGION}:{caller.account_id}:emr-topic"
    return build_event(ctx, params={"TopicArn": topic, "Message": MARKER}, result={"MessageId": "m-1"},
                       error=None, event_time=WHEN)
