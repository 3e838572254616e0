"""The digest-signing key: generated once, stored wrapped and private (services/audit/digest.py)."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

import pytest

from cipherpost.crypto.keyring import Keyring
from cipherpost.services.audit.digest import AuditSigner, SignerError, public_key_fingerprint, verify_signature


def test_load_or_create_round_trip(tmp_path: Path) -> None:
    keyring = Keyring(secrets.token_bytes(32))
    path = tmp_path / "audit-signing-key"
    first = AuditSigner.load_or_create(path, keyring)
    again = AuditSigner.load_or_create(path, keyring)
    assert first.fingerprint == again.fingerprint == public_key_fingerprint(first.public_key_pem)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in path.read_bytes()
    assert (tmp_path / "audit-signing-key.pub.pem").read_bytes() == first.public_key_pem
    signature = again.sign(b"data")
    assert verify_signature(first.public_key_pem, b"data", signature)
    assert not verify_signature(first.public_key_pem, b"other", signature)


def test_other_root_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    AuditSigner.load_or_create(path, Keyring(secrets.token_bytes(32)))
    with pytest.raises(SignerError, match="cannot be unwrapped"):
        AuditSigner.load_or_create(path, Keyring(secrets.token_bytes(32)))


def test_readable_by_others_is_refused(tmp_path: Path) -> None:
    keyring = Keyring(secrets.token_bytes(32))
    path = tmp_path / "k"
    AuditSigner.load_or_create(path, keyring)
    os.chmod(path, 0o644)
    with pytest.raises(SignerError, match="chmod 600"):
        AuditSigner.load_or_create(path, keyring)


def test_load_never_creates(tmp_path: Path) -> None:
    with pytest.raises(SignerError, match="no audit signing key"):
        AuditSigner.load(tmp_path / "missing", Keyring(secrets.token_bytes(32)))
