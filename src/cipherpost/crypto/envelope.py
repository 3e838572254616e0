"""Envelope encryption of SNS/SQS message bodies under a KMS data key.

A topic or queue with ``KmsMasterKeyId`` gets a data key from KMS GenerateDataKey (a
32-byte plaintext key plus its KMS ciphertext blob), seals each body under the plaintext
key, and stores the ciphertext blob next to the body, so a reader can ask KMS Decrypt for
the key without any other record (:func:`read_wrapped_key`).

Stored form, format version 1 (32 + blob length + body length bytes)::

    offset  size  field
    0       1     format version, 0x01
    1       2     n = length of the data key's KMS ciphertext blob, unsigned big-endian
    3       n     the data key's KMS ciphertext blob (opaque here)
    3+n     ...   aead.seal(data key, body, aad) (see cipherpost.crypto.aead):
                  aead version (1) || nonce (12) || ciphertext || tag (16)

    aad = bytes 0..3+n-1 of the stored form || u32 len(resource ARN) || resource ARN (UTF-8)

Binding the resource ARN (the queue or topic ARN) means a stored body copied to another
queue does not open there; binding the header means the wrapped key cannot be swapped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cipherpost.crypto import aead
from cipherpost.crypto._framing import text_field
from cipherpost.crypto.errors import DecryptionError, InvalidEnvelope

__all__ = [
    "DataKey", "InvalidEnvelope", "open_body", "open_with", "read_wrapped_key", "seal_body", "seal_body_from_parts",
]

FORMAT_VERSION = 0x01
DATA_KEY_SIZE = aead.KEY_SIZE
_MAX_BLOB_SIZE = 0xFFFF


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class DataKey:
    """A KMS data key: the plaintext key (memory only, never logged) and its KMS blob."""

    plaintext: bytes
    """The 32-byte AES key. Never persisted, never printed."""
    ciphertext_blob: bytes
    """The KMS ciphertext blob of :attr:`plaintext`; safe to store."""
    key_id: str
    """The KMS key that made it (key id or key ARN), so caches can drop it when that key
    is disabled or deleted."""

    cipher: aead.Cipher = field(init=False, compare=False)
    """:attr:`plaintext` ready to seal with (set up once per data key)."""
    header: bytes = field(init=False, compare=False)
    """The stored form's header for this key (its first 3 + n bytes)."""
    _aad: tuple[str, bytes] = field(init=False, compare=False)
    """The last resource sealed for and its associated data (a data key serves one resource)."""

    def __post_init__(self) -> None:
        if len(self.plaintext) != DATA_KEY_SIZE:
            raise ValueError(f"a data key must be {DATA_KEY_SIZE} bytes")
        if not 0 < len(self.ciphertext_blob) <= _MAX_BLOB_SIZE:
            raise ValueError(f"a data key's ciphertext blob must be 1..{_MAX_BLOB_SIZE} bytes")
        object.__setattr__(self, "cipher", aead.Cipher(self.plaintext))
        object.__setattr__(self, "header", _header(self.ciphertext_blob))
        object.__setattr__(self, "_aad", ("", b""))

    def aad(self, resource_arn: str) -> bytes:
        """The associated data of a body sealed under this key for ``resource_arn``."""
        arn, aad = self._aad
        if arn != resource_arn or not arn:
            aad = _aad(self.header, resource_arn)
            object.__setattr__(self, "_aad", (resource_arn, aad))
        return aad

    def __repr__(self) -> str:
        return f"DataKey(key_id={self.key_id!r}, ciphertext_blob=<{len(self.ciphertext_blob)} bytes>)"


def seal_body(data_key: DataKey, body: bytes, *, resource_arn: str) -> bytes:
    """Encrypt a message body for storage.

    :param data_key: the resource's current data key.
    :param body: the message body.
    :param resource_arn: the queue or topic ARN the body is stored under.
    :returns: the self-describing stored form (layout in the module docstring).
    :raises ValueError: ``resource_arn`` is empty or not encodable as UTF-8.
    """
    return data_key.header + data_key.cipher.seal(body, data_key.aad(resource_arn))


def seal_body_from_parts(data_key: DataKey, body: bytes, *, resource_arn: str, nonce: bytes) -> bytes:
    """Internal seam: :func:`seal_body` with a caller-chosen nonce, for known-answer tests."""
    header = _header(data_key.ciphertext_blob)
    return header + aead.seal_from_parts(data_key.plaintext, nonce, body, _aad(header, resource_arn))


def read_wrapped_key(sealed: bytes) -> bytes:
    """The KMS ciphertext blob of the data key a stored body was sealed under.

    Nothing is verified here; :func:`open_body` verifies it, with the rest.

    :raises InvalidEnvelope: the stored form is malformed or has an unknown version.
    """
    return bytes(sealed[3 : _body_offset(sealed)])


def open_body(plaintext_key: bytes, sealed: bytes, *, resource_arn: str) -> bytes:
    """Decrypt a stored body.

    :param plaintext_key: the data key, as KMS Decrypt returned it for :func:`read_wrapped_key`.
    :param sealed: the stored form.
    :param resource_arn: the queue or topic ARN the body is read from.
    :returns: the message body.
    :raises InvalidEnvelope: on any failure: malformed, truncated, unknown version, wrong
        key, another resource's body, or tampering.
    """
    try:
        offset = _body_offset(sealed)
        return aead.unseal(plaintext_key, sealed[offset:], _aad(bytes(sealed[:offset]), resource_arn))
    except (DecryptionError, ValueError, TypeError):
        raise InvalidEnvelope from None


def open_with(data_key: DataKey, sealed: bytes, *, resource_arn: str) -> bytes:
    """:func:`open_body` with the data key itself (as KMS Decrypt returned it for the body's
    :func:`read_wrapped_key`): its cipher and associated data are set up once per key.

    :raises InvalidEnvelope: as :func:`open_body` (a body sealed under another data key too).
    """
    try:
        offset = _body_offset(sealed)
        if sealed[:offset] != data_key.header:
            raise InvalidEnvelope
        return data_key.cipher.unseal(sealed[offset:], data_key.aad(resource_arn))
    except (DecryptionError, ValueError, TypeError):
        raise InvalidEnvelope from None


def _header(ciphertext_blob: bytes) -> bytes:
    return bytes([FORMAT_VERSION]) + len(ciphertext_blob).to_bytes(2, "big") + ciphertext_blob


def _aad(header: bytes, resource_arn: str) -> bytes:
    if not resource_arn:
        raise ValueError("resource ARN must not be empty")
    return header + text_field(resource_arn)


def _body_offset(sealed: bytes) -> int:
    """Where the sealed body starts; checks the version and that every part is present."""
    if len(sealed) < 3 or sealed[0] != FORMAT_VERSION:
        raise InvalidEnvelope
    blob_size = int.from_bytes(sealed[1:3], "big")
    offset = 3 + blob_size
    if blob_size == 0 or len(sealed) < offset + aead.OVERHEAD:
        raise InvalidEnvelope
    return offset
