"""The root keyring: one 32-byte root key that wraps KMS key material at rest.

The root key comes from one of two places:

- a keyring file in the data directory (the default), created on first start with mode
  0600 and refused, with a clear error, if it is ever group- or other-accessible; or
- an environment variable holding the key as base64 (:data:`ROOT_KEY_ENV` by convention),
  for deployments that keep the root key out of the data directory. The caller reads the
  variable and passes its value as ``env_key``.

Keyring file, format version 1 (57 bytes)::

    offset  size  field
    0       8     magic b"CPKEYRNG"
    8       1     file format version, 0x01
    9       32    root key
    41      16    root key id (see below); doubles as a checksum of the key bytes

A later format (e.g. several root keys, for root-key rotation) gets a new version byte;
the loader dispatches on it and refuses versions it does not know.

The *root key id* is ``HKDF-SHA256(root key, info="cipherpost/keyring/key-id/v1")``
truncated to 16 bytes: public, stable, and safe to log. It is stamped into every wrapped
blob, so a blob wrapped by another installation is recognized as foreign instead of
failing as mere corruption. Wrapping uses a separate subkey,
``HKDF-SHA256(root key, info="cipherpost/keyring/wrap/v1")``.

Wrapped key, format version 1 (46 bytes + the key length)::

    offset  size  field
    0       1     wrap format version, 0x01
    1       16    root key id
    17      ...   aead.seal(wrap subkey, plaintext key, aad) (see cipherpost.crypto.aead)

    aad = bytes 0..16 of the blob || u32 len(purpose) || purpose (UTF-8)

``purpose`` names the slot the key belongs to (e.g. ``kms-key-material:<key-id>:<version>``),
so a wrapped blob copied into another slot fails to unwrap.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cipherpost.crypto import aead
from cipherpost.crypto._framing import text_field
from cipherpost.crypto.errors import (
    DecryptionError,
    ForeignRootKeyError,
    KeyringCorruptError,
    KeyringError,
    KeyringPermissionError,
    UnwrapError,
)
from cipherpost.files import create_exclusive, read_limited, too_open

__all__ = ["ROOT_KEY_ENV", "Keyring"]

#: The environment variable a deployment conventionally uses to provide the root key.
ROOT_KEY_ENV = "CIPHERPOST_ROOT_KEY"

ROOT_KEY_SIZE = 32
KEY_ID_SIZE = 16

FILE_MAGIC = b"CPKEYRNG"
FILE_VERSION = 0x01
_FILE_SIZE_V1 = len(FILE_MAGIC) + 1 + ROOT_KEY_SIZE + KEY_ID_SIZE

WRAP_VERSION = 0x01
_WRAP_HEADER_SIZE = 1 + KEY_ID_SIZE


def _derive(root_key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(root_key)


class Keyring:
    """Holds the root key; wraps and unwraps key material under it.

    Build one with :meth:`load_or_create`, or directly from 32 key bytes (tests, future
    HSM-backed sources). The root key never leaves the object; ``repr`` shows only the
    public key id.
    """

    __slots__ = ("_key_id", "_wrap_key")

    def __init__(self, root_key: bytes) -> None:
        if len(root_key) != ROOT_KEY_SIZE:
            raise ValueError(f"root key must be {ROOT_KEY_SIZE} bytes, got {len(root_key)}")
        self._key_id = _derive(root_key, b"cipherpost/keyring/key-id/v1", KEY_ID_SIZE)
        self._wrap_key = _derive(root_key, b"cipherpost/keyring/wrap/v1", aead.KEY_SIZE)

    @classmethod
    def load_or_create(cls, path: Path, *, env_key: str | None) -> Keyring:
        """Load the root keyring, creating the keyring file on first start.

        :param path: the keyring file, normally ``<data dir>/keyring``.
        :param env_key: the root key as base64 (the value of :data:`ROOT_KEY_ENV`), or
            ``None``. When given, no file is created; if a keyring file exists anyway,
            it must hold the same key.
        :raises KeyringPermissionError: the file is group/other-accessible.
        :raises KeyringCorruptError: the file has the wrong size, magic, version or checksum.
        :raises KeyringError: ``env_key`` is not base64 of 32 bytes, it disagrees with an
            existing keyring file, or the file is not a regular file.
        """
        if env_key is not None:
            ring = cls(_decode_env_key(env_key))
            existing = _read_keyring_file(path)
            if existing is not None and existing.key_id != ring.key_id:
                raise KeyringError(
                    f"the root key given in the environment (key id {ring.key_id}) differs from "
                    f"the keyring file {path} (key id {existing.key_id}); remove one of them"
                )
            return ring
        existing = _read_keyring_file(path)
        if existing is not None:
            return existing
        root_key = secrets.token_bytes(ROOT_KEY_SIZE)
        ring = cls(root_key)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL temp file created 0600, fsynced, hard-linked into place: never readable
        # by others, never seen half written, never replacing a rival's keyring.
        if create_exclusive(path, _encode_file_v1(root_key, ring._key_id), 0o600):
            return ring
        # Another process created the file first: use theirs.
        raced = _read_keyring_file(path)
        if raced is None:
            raise KeyringError(f"keyring file {path} vanished while it was being created")
        return raced

    @property
    def key_id(self) -> str:
        """The root key's public id, 32 lowercase hex characters."""
        return self._key_id.hex()

    def __repr__(self) -> str:
        return f"Keyring(key_id={self.key_id!r})"

    def wrap(self, plaintext_key: bytes, *, purpose: str) -> bytes:
        """Encrypt key material under the root key, bound to ``purpose``.

        :param plaintext_key: the key material to protect (any length).
        :param purpose: the slot the key belongs to; :meth:`unwrap` needs the same string.
        :returns: the wrapped key (see the module docstring for the layout).
        :raises ValueError: ``purpose`` is empty or not encodable as UTF-8.
        """
        header = bytes([WRAP_VERSION]) + self._key_id
        return header + aead.seal(self._wrap_key, plaintext_key, _wrap_aad(header, purpose))

    def wrap_from_parts(self, plaintext_key: bytes, *, purpose: str, nonce: bytes) -> bytes:
        """Internal seam: :meth:`wrap` with a caller-chosen nonce, for known-answer tests."""
        header = bytes([WRAP_VERSION]) + self._key_id
        return header + aead.seal_from_parts(self._wrap_key, nonce, plaintext_key, _wrap_aad(header, purpose))

    def unwrap(self, wrapped: bytes, *, purpose: str) -> bytes:
        """Decrypt key material wrapped by :meth:`wrap` with the same ``purpose``.

        :raises ForeignRootKeyError: the blob names another root key (another installation).
        :raises UnwrapError: anything else: malformed, truncated, unknown version, tampered,
            or wrapped for another purpose.
        """
        if len(wrapped) < _WRAP_HEADER_SIZE + aead.OVERHEAD or wrapped[0] != WRAP_VERSION:
            raise UnwrapError
        header = bytes(wrapped[:_WRAP_HEADER_SIZE])
        if header[1:] != self._key_id:
            raise ForeignRootKeyError(
                f"the wrapped key was wrapped under root key {header[1:].hex()}, "
                f"but this keyring holds root key {self.key_id}"
            )
        try:
            aad = _wrap_aad(header, purpose)
            return aead.unseal(self._wrap_key, wrapped[_WRAP_HEADER_SIZE:], aad)
        except (DecryptionError, ValueError):
            raise UnwrapError from None


def _wrap_aad(header: bytes, purpose: str) -> bytes:
    if not purpose:
        raise ValueError("purpose must not be empty")
    return header + text_field(purpose)


def _decode_env_key(value: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"the root key in ${ROOT_KEY_ENV} is not valid base64") from None
    if len(key) != ROOT_KEY_SIZE:
        raise KeyringError(
            f"the root key in ${ROOT_KEY_ENV} must be {ROOT_KEY_SIZE} bytes of base64, got {len(key)} bytes"
        )
    return key


def _encode_file_v1(root_key: bytes, key_id: bytes) -> bytes:
    return FILE_MAGIC + bytes([FILE_VERSION]) + root_key + key_id


def _read_keyring_file(path: Path) -> Keyring | None:
    """The keyring in ``path``, or ``None`` if there is no such file."""
    try:
        # One byte more than a v1 file is enough to tell "too long"; never read more.
        data, mode = read_limited(path, _FILE_SIZE_V1 + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyringError(f"keyring {path} cannot be read: {exc}") from exc
    if too_open(mode):
        raise KeyringPermissionError(
            f"keyring file {path} has mode {stat.S_IMODE(mode):04o}: group/other users may "
            f"read it. Check who had access, then run `chmod 600 {path}`; refusing to use it"
        )
    return _decode_file(data, path)


def _decode_file(data: bytes, path: Path) -> Keyring:
    if data[: len(FILE_MAGIC)] != FILE_MAGIC:
        raise KeyringCorruptError(f"{path} is not a cipherpost keyring file (bad magic)")
    version = data[len(FILE_MAGIC)] if len(data) > len(FILE_MAGIC) else None
    if version != FILE_VERSION:
        raise KeyringCorruptError(f"keyring file {path} has unknown format version {version}")
    if len(data) != _FILE_SIZE_V1:
        raise KeyringCorruptError(f"keyring file {path} has the wrong size (expected {_FILE_SIZE_V1} bytes)")
    start = len(FILE_MAGIC) + 1
    ring = Keyring(data[start : start + ROOT_KEY_SIZE])
    if not secrets.compare_digest(ring._key_id, data[start + ROOT_KEY_SIZE :]):
        raise KeyringCorruptError(f"keyring file {path} is corrupt: its key does not match its checksum")
    return ring
