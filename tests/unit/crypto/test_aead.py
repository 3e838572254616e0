from __future__ import annotations

import os
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cipherpost.crypto import aead
from cipherpost.crypto.errors import DecryptionError

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_round_trip() -> None:
    sealed = aead.seal(KEY, b"body", b"aad")
    assert aead.unseal(KEY, sealed, b"aad") == b"body"
    assert len(sealed) == 4 + aead.OVERHEAD
    assert sealed[0] == aead.VERSION


def test_every_seal_draws_a_fresh_nonce() -> None:
    count = 5 * aead._NONCES_PER_READ + 7  # across several batches
    nonces = {aead.seal(KEY, b"same", b"")[1:13] for _ in range(count)}
    assert len(nonces) == count


def test_threads_never_share_a_nonce() -> None:
    found: list[list[bytes]] = []

    def seal_many() -> None:
        found.append([aead.seal(KEY, b"same", b"")[1:13] for _ in range(3 * aead._NONCES_PER_READ)])

    workers = [threading.Thread(target=seal_many) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    every = [nonce for batch in found for nonce in batch]
    assert len(every) == 12 * aead._NONCES_PER_READ
    assert len(set(every)) == len(every)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_nonces() -> None:
    aead.seal(KEY, b"", b"")  # the parent now holds a batch with nonces left in it
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the nonces it would use next
        os.write(writer, b"".join(aead.seal(KEY, b"", b"")[1:13] for _ in range(8)))
        os._exit(0)
    os.close(writer)
    child = b""
    while len(child) < 8 * aead.NONCE_SIZE:
        chunk = os.read(reader, 1024)
        if not chunk:
            break
        child += chunk
    os.close(reader)
    os.waitpid(pid, 0)
    parent = b"".join(aead.seal(KEY, b"", b"")[1:13] for _ in range(8))
    assert len(child) == len(parent) == 8 * aead.NONCE_SIZE
    child_nonces = {child[i:i + 12] for i in range(0, len(child), 12)}
    parent_nonces = {parent[i:i + 12] for i in range(0, len(parent), 12)}
    assert not child_nonces & parent_nonces


def test_wrong_version_byte() -> None:
    sealed = aead.seal(KEY, b"body", b"")
    for version in (0x00, 0x02, 0x80, 0xFF):
        with pytest.raises(DecryptionError):
            aead.unseal(KEY, bytes([version]) + sealed[1:], b"")


def test_truncated_blob() -> None:
    sealed = aead.seal(KEY, b"body", b"")
    for length in range(len(sealed)):
        with pytest.raises(DecryptionError):
            aead.unseal(KEY, sealed[:length], b"")


def test_wrong_key() -> None:
    with pytest.raises(DecryptionError):
        aead.unseal(OTHER_KEY, aead.seal(KEY, b"body", b""), b"")


@pytest.mark.parametrize("key", [b"", b"short", bytes(16), bytes(24), bytes(33)], ids=lambda k: f"{len(k)}-bytes")
def test_wrong_key_length_on_open_is_opaque(key: bytes) -> None:
    with pytest.raises(DecryptionError):
        aead.unseal(key, aead.seal(KEY, b"body", b""), b"")


def test_wrong_aad() -> None:
    sealed = aead.seal(KEY, b"body", b"queue-a")
    with pytest.raises(DecryptionError):
        aead.unseal(KEY, sealed, b"queue-b")


def test_appended_bytes() -> None:
    with pytest.raises(DecryptionError):
        aead.unseal(KEY, aead.seal(KEY, b"body", b"") + b"\x00", b"")


def test_non_bytes_input_is_opaque() -> None:
    with pytest.raises(DecryptionError):
        aead.unseal(KEY, "not bytes" * 10, b"")  # type: ignore[arg-type]


def test_error_message_does_not_say_which_check_failed() -> None:
    messages = set()
    sealed = aead.seal(KEY, b"body", b"")
    for bad_key, bad_sealed, aad in [(KEY, b"", b""), (OTHER_KEY, sealed, b""), (KEY, sealed, b"x")]:
        with pytest.raises(DecryptionError) as info:
            aead.unseal(bad_key, bad_sealed, aad)
        assert info.value.__cause__ is None
        messages.add(str(info.value))
    assert messages == {"The data could not be decrypted."}


def test_seal_rejects_bad_key_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        aead.seal(bytes(16), b"body", b"")


def test_seal_from_parts_rejects_bad_nonce_length() -> None:
    with pytest.raises(ValueError, match="nonce"):
        aead.seal_from_parts(KEY, bytes(8), b"body", b"")


@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64))
def test_property_round_trip(plaintext: bytes, aad: bytes) -> None:
    assert aead.unseal(KEY, aead.seal(KEY, plaintext, aad), aad) == plaintext


@given(plaintext=st.binary(max_size=128), aad=st.binary(max_size=32), data=st.data())
def test_property_any_single_bit_flip_fails(plaintext: bytes, aad: bytes, data: st.DataObject) -> None:
    sealed = bytearray(aead.seal(KEY, plaintext, aad))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecryptionError):
        aead.unseal(KEY, bytes(sealed), aad)


def test_random_garbage_fails_opaquely() -> None:
    for length in (0, 1, 28, 29, 30, 100):
        with pytest.raises(DecryptionError):
            aead.unseal(KEY, os.urandom(length), b"")


@given(st.binary(max_size=2048), st.binary(max_size=256))
def test_cipher_is_the_same_recipe(plaintext: bytes, aad: bytes) -> None:
    """A Cipher's output opens with unseal() and unseal()'s input opens with a Cipher: one
    format, fresh nonces, the same opaque failures."""
    key = os.urandom(32)
    cipher = aead.Cipher(key)
    sealed = cipher.seal(plaintext, aad)
    assert aead.unseal(key, sealed, aad) == plaintext
    assert cipher.unseal(aead.seal(key, plaintext, aad), aad) == plaintext
    assert cipher.seal(plaintext, aad)[1:13] != sealed[1:13]
    for bad in (sealed[:-1], b"\x02" + sealed[1:], sealed + b"x"):
        with pytest.raises(DecryptionError):
            cipher.unseal(bad, aad)
    with pytest.raises(DecryptionError):
        aead.Cipher(os.urandom(32)).unseal(sealed, aad)
    with pytest.raises(DecryptionError):
        cipher.unseal(sealed, aad + b"x")


def test_cipher_rejects_bad_key_length() -> None:
    with pytest.raises(ValueError):
        aead.Cipher(os.urandom(16))
    key = os.urandom(32)
    assert key.hex() not in repr(aead.Cipher(key)) and repr(key) not in repr(aead.Cipher(key))
