"""The one AEAD recipe: AES-256-GCM with recipe-owned random nonces.

Every other format in :mod:`cipherpost.crypto` seals its payload with :func:`seal` and
opens it with :func:`unseal`. The recipe draws a fresh 96-bit nonce from ``os.urandom``
for every call; callers never pass one. (The hazmat ``AESGCM.encrypt(nonce, ...)`` leaves
nonce handling to the caller, and reusing a nonce under one key breaks GCM completely.)
Nonces are read from ``os.urandom`` in batches (:class:`_Nonces`): each nonce is still 96
fresh random bits, used once, but a message no longer pays a ``getrandom`` call, which
releases the GIL and, under load, waits for the other threads to hand it back. Each thread
has its own batch, and a forked child discards what it inherited.

Byte layout of a sealed value::

    offset  size  field
    0       1     format version, 0x01
    1       12    nonce (random, 96 bits)
    13      n+16  AES-256-GCM ciphertext of the n-byte plaintext, followed by the 16-byte tag

The version byte and nonce are not in the GCM associated data: a changed version byte is
rejected before decryption, and a changed nonce makes the tag check fail.

Random 96-bit nonces keep the nonce-collision probability below 2**-32 for up to 2**32
seals under one key (NIST SP 800-38D, section 8.3). Keys used here are either short-lived
data keys (rotated every reuse period) or per-blob derived keys, far below that bound.
"""

from __future__ import annotations

import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cipherpost.crypto.errors import DecryptionError

__all__ = [
    "KEY_SIZE",
    "NONCE_SIZE",
    "OVERHEAD",
    "TAG_SIZE",
    "VERSION",
    "Cipher",
    "DecryptionError",
    "seal",
    "seal_from_parts",
    "unseal",
]

VERSION = 0x01
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
#: Bytes a sealed value adds to its plaintext: version + nonce + tag.
OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE
_NONCES_PER_READ = 256


class _Nonces(threading.local):
    """This thread's batch of random nonces, each handed out once (see the module docstring)."""

    batch = b""
    offset = 0
    generation = 0


_nonces = _Nonces()
_fork_generation = 0


def _forked() -> None:
    global _fork_generation  # noqa: PLW0603 - one counter the fork hook bumps
    _fork_generation += 1


os.register_at_fork(after_in_child=_forked)


def _nonce() -> bytes:
    pool = _nonces
    if pool.offset >= len(pool.batch) or pool.generation != _fork_generation:
        pool.batch = os.urandom(NONCE_SIZE * _NONCES_PER_READ)
        pool.offset = 0
        pool.generation = _fork_generation
    start = pool.offset
    pool.offset = start + NONCE_SIZE
    return pool.batch[start:start + NONCE_SIZE]

_VERSION_BYTE = bytes([VERSION])


class Cipher:
    """:func:`seal` and :func:`unseal` for one key used many times (a cached data key): the
    AES key schedule is set up once, not per call (about a third of a small seal's cost)."""

    __slots__ = ("_aesgcm",)

    def __init__(self, key: bytes) -> None:
        """:raises ValueError: if the key is not 32 bytes."""
        if len(key) != KEY_SIZE:
            raise ValueError(f"AES-256-GCM key must be {KEY_SIZE} bytes, got {len(key)}")
        self._aesgcm = AESGCM(key)

    def __repr__(self) -> str:
        return "Cipher(<key>)"

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """:func:`seal` under this key."""
        nonce = _nonce()
        return _VERSION_BYTE + nonce + self._aesgcm.encrypt(nonce, plaintext, aad)

    def unseal(self, sealed: bytes, aad: bytes) -> bytes:
        """:func:`unseal` under this key; :raises DecryptionError: as it does."""
        try:
            if len(sealed) < OVERHEAD or sealed[0] != VERSION:
                raise DecryptionError
            return self._aesgcm.decrypt(sealed[1:1 + NONCE_SIZE], sealed[1 + NONCE_SIZE:], aad)
        except (InvalidTag, ValueError, TypeError, OverflowError):
            raise DecryptionError from None


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext``, binding ``aad``, under a fresh random nonce.

    :param key: a 32-byte AES-256 key.
    :param plaintext: the bytes to encrypt (may be empty).
    :param aad: associated data: authenticated, not encrypted, not stored in the output;
        :func:`unseal` needs the same bytes.
    :returns: ``version || nonce || ciphertext || tag`` (:data:`OVERHEAD` bytes longer).
    :raises ValueError: if the key is not 32 bytes (a programming error, not bad input).
    """
    return seal_from_parts(key, _nonce(), plaintext, aad)


def seal_from_parts(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Internal seam: :func:`seal` with a caller-chosen nonce. For known-answer tests only.

    Production code must call :func:`seal`, which draws the nonce itself. A nonce passed
    here must never be used twice with the same key.

    :raises ValueError: if the key is not 32 bytes or the nonce not 12 bytes.
    """
    if len(key) != KEY_SIZE:
        raise ValueError(f"AES-256-GCM key must be {KEY_SIZE} bytes, got {len(key)}")
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"AES-GCM nonce must be {NONCE_SIZE} bytes, got {len(nonce)}")
    return _VERSION_BYTE + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Verify and decrypt a value produced by :func:`seal`.

    :param key: the 32-byte key it was sealed under.
    :param sealed: the sealed bytes.
    :param aad: the associated data it was sealed with.
    :returns: the plaintext.
    :raises DecryptionError: on any failure whatsoever: malformed or truncated input, an
        unknown version byte, a wrong key (of any length), wrong ``aad``, or a tag
        mismatch. Nothing else escapes, and the message never says which check failed.
    """
    try:
        if len(sealed) < OVERHEAD or sealed[0] != VERSION or len(key) != KEY_SIZE:
            raise DecryptionError
        nonce = sealed[1 : 1 + NONCE_SIZE]
        return AESGCM(key).decrypt(nonce, sealed[1 + NONCE_SIZE :], aad)
    except (InvalidTag, ValueError, TypeError, OverflowError):
        # ``from None``: the cause would tell which check failed; the error is opaque.
        raise DecryptionError from None
