from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cipherpost.crypto.errors import (
    ForeignRootKeyError,
    KeyringCorruptError,
    KeyringError,
    KeyringPermissionError,
    UnwrapError,
)
from cipherpost.crypto.keyring import Keyring

ROOT = bytes(range(32))
MATERIAL = bytes(range(100, 132))
PURPOSE = "kms-key-material:1234abcd-12ab-34cd-56ef-1234567890ab:1"
RING = Keyring(ROOT)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "keyring"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that removes nothing: the file mode must come from os.open alone."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the file ----------------------------------------------------------------------


def test_creates_file_with_mode_0600(path: Path, open_umask: None) -> None:
    ring = Keyring.load_or_create(path, env_key=None)
    assert mode(path) == 0o600
    assert path.stat().st_size == 57
    assert path.read_bytes()[:9] == b"CPKEYRNG\x01"
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring"]  # no temp file left
    assert len(ring.key_id) == 32


def test_reload_gives_same_key(path: Path) -> None:
    first = Keyring.load_or_create(path, env_key=None)
    wrapped = first.wrap(MATERIAL, purpose=PURPOSE)
    second = Keyring.load_or_create(path, env_key=None)
    assert second.key_id == first.key_id
    assert second.unwrap(wrapped, purpose=PURPOSE) == MATERIAL


def test_two_installations_have_different_keys(tmp_path: Path) -> None:
    a = Keyring.load_or_create(tmp_path / "a", env_key=None)
    b = Keyring.load_or_create(tmp_path / "b", env_key=None)
    assert a.key_id != b.key_id


@pytest.mark.parametrize("bad_mode", [0o640, 0o604, 0o644, 0o660, 0o606, 0o700 | 0o007])
def test_bad_keyring_mode(path: Path, bad_mode: int) -> None:
    Keyring.load_or_create(path, env_key=None)
    path.chmod(bad_mode)
    with pytest.raises(KeyringPermissionError, match="chmod 600"):
        Keyring.load_or_create(path, env_key=None)


def test_owner_read_only_mode_is_fine(path: Path) -> None:
    ring = Keyring.load_or_create(path, env_key=None)
    path.chmod(0o400)
    assert Keyring.load_or_create(path, env_key=None).key_id == ring.key_id


def write_keyring(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def valid_file_bytes() -> bytes:
    return b"CPKEYRNG\x01" + ROOT + bytes.fromhex(RING.key_id)


def test_valid_hand_made_file_loads(path: Path) -> None:
    write_keyring(path, valid_file_bytes())
    assert Keyring.load_or_create(path, env_key=None).key_id == RING.key_id


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(valid_file_bytes()[:-1], id="truncated"),
        pytest.param(valid_file_bytes() + b"\n", id="trailing-byte"),
        pytest.param(b"XPKEYRNG" + valid_file_bytes()[8:], id="bad-magic"),
        pytest.param(b"CPKEYRNG\x02" + valid_file_bytes()[9:], id="unknown-version"),
        pytest.param(valid_file_bytes()[:-1] + b"\x00", id="checksum-mismatch"),
        pytest.param(b"CPKEYRNG\x01" + bytes(32) + bytes.fromhex(RING.key_id), id="key-bit-rot"),
    ],
)
def test_corrupt_file(path: Path, data: bytes) -> None:
    write_keyring(path, data)
    with pytest.raises(KeyringCorruptError):
        Keyring.load_or_create(path, env_key=None)


def test_corrupt_file_is_not_replaced(path: Path) -> None:
    write_keyring(path, b"garbage")
    with pytest.raises(KeyringCorruptError):
        Keyring.load_or_create(path, env_key=None)
    assert path.read_bytes() == b"garbage"


def test_not_a_regular_file(path: Path) -> None:
    path.mkdir(parents=True)
    with pytest.raises(KeyringError):
        Keyring.load_or_create(path, env_key=None)


def test_lost_creation_race_uses_existing_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If another process links its keyring in first, we load theirs instead of clobbering it."""
    theirs = valid_file_bytes()
    real_link = os.link

    def link_after_rival(src: str, dst: str) -> None:
        write_keyring(Path(dst), theirs)
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_rival)
    ring = Keyring.load_or_create(path, env_key=None)
    assert ring.key_id == RING.key_id
    assert path.read_bytes() == theirs
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring"]


# --- the environment variable ------------------------------------------------------


def test_env_key(path: Path) -> None:
    ring = Keyring.load_or_create(path, env_key=base64.b64encode(ROOT).decode())
    assert ring.key_id == RING.key_id
    assert not path.exists()  # the env key is not copied into the data directory


@pytest.mark.parametrize(
    "value", ["not base64!", base64.b64encode(bytes(31)).decode(), base64.b64encode(bytes(33)).decode(), ""]
)
def test_bad_env_key(path: Path, value: str) -> None:
    with pytest.raises(KeyringError, match="CIPHERPOST_ROOT_KEY"):
        Keyring.load_or_create(path, env_key=value)


def test_env_key_conflicting_with_file(path: Path) -> None:
    Keyring.load_or_create(path, env_key=None)
    with pytest.raises(KeyringError, match="differs"):
        Keyring.load_or_create(path, env_key=base64.b64encode(ROOT).decode())


def test_env_key_matching_file(path: Path) -> None:
    write_keyring(path, valid_file_bytes())
    assert Keyring.load_or_create(path, env_key=base64.b64encode(ROOT).decode()).key_id == RING.key_id


# --- wrap / unwrap -----------------------------------------------------------------


def test_wrap_round_trip() -> None:
    wrapped = RING.wrap(MATERIAL, purpose=PURPOSE)
    assert len(wrapped) == 17 + 29 + len(MATERIAL)
    assert wrapped[1:17].hex() == RING.key_id
    assert RING.unwrap(wrapped, purpose=PURPOSE) == MATERIAL


def test_swapped_purpose() -> None:
    wrapped = RING.wrap(MATERIAL, purpose=PURPOSE)
    with pytest.raises(UnwrapError) as info:
        RING.unwrap(wrapped, purpose=PURPOSE[:-1] + "2")
    assert type(info.value) is UnwrapError


def test_foreign_root_key() -> None:
    wrapped = Keyring(bytes(32)).wrap(MATERIAL, purpose=PURPOSE)
    with pytest.raises(ForeignRootKeyError, match=RING.key_id):
        RING.unwrap(wrapped, purpose=PURPOSE)


def test_wrong_version_byte() -> None:
    wrapped = RING.wrap(MATERIAL, purpose=PURPOSE)
    with pytest.raises(UnwrapError):
        RING.unwrap(b"\x02" + wrapped[1:], purpose=PURPOSE)


def test_truncated_blob() -> None:
    wrapped = RING.wrap(MATERIAL, purpose=PURPOSE)
    for length in range(len(wrapped)):
        with pytest.raises(UnwrapError):
            RING.unwrap(wrapped[:length], purpose=PURPOSE)


def test_empty_purpose_is_refused() -> None:
    with pytest.raises(ValueError, match="purpose"):
        RING.wrap(MATERIAL, purpose="")
    with pytest.raises(UnwrapError):
        RING.unwrap(RING.wrap(MATERIAL, purpose=PURPOSE), purpose="")


def test_repr_hides_root_key() -> None:
    assert repr(RING) == f"Keyring(key_id={RING.key_id!r})"
    assert ROOT.hex() not in repr(RING)


@given(data=st.data())
def test_property_any_single_bit_flip_fails(data: st.DataObject) -> None:
    wrapped = bytearray(RING.wrap(MATERIAL, purpose=PURPOSE))
    bit = data.draw(st.integers(0, len(wrapped) * 8 - 1))
    wrapped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(UnwrapError):  # ForeignRootKeyError when the flip is in the root key id
        RING.unwrap(bytes(wrapped), purpose=PURPOSE)
