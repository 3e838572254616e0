"""The KMS ciphertext-blob format (``CiphertextBlob`` of Encrypt and GenerateDataKey).

A blob names the key that made it, so Decrypt needs no ``KeyId``: :func:`peek_header`
reads the (unauthenticated) header to find the key, then :func:`decrypt_blob` verifies
everything, the header included.

Byte layout, format version 1 (82 bytes + the plaintext length; 114 bytes for a 32-byte
data key)::

    offset  size  field
    0       1     format version, 0x01
    1       16    installation id (a blob from another installation fails)
    17      16    KMS key id: the key's UUID as 16 raw bytes (RFC 4122 byte order)
    33      4     backing-key version, unsigned big-endian
    37      16    salt, random
    53      ...   aead.seal(blob key, plaintext, aad) (see cipherpost.crypto.aead):
                  aead version (1) || nonce (12) || ciphertext (n) || tag (16)

    blob key = HKDF-SHA256(ikm=backing key material, salt=salt, info="cipherpost/kms-blob/v1")
    aad      = bytes 0..52 of the blob || canonical encryption context

Why a per-blob key: a KMS key version lives for years and Encrypt/GenerateDataKey can
be called without bound; with the backing key used directly, random 96-bit GCM nonces
would cap it near 2**32 blobs. A random 128-bit salt gives every blob its own key.

The canonical encryption context (:func:`canonicalize_context`) is::

    u32 pair count || for each pair, sorted by the key's UTF-8 bytes:
        u32 len(key) || key (UTF-8) || u32 len(value) || value (UTF-8)

so the same mapping always yields the same bytes whatever its insertion order, and no
two different mappings (e.g. ``{"a": "bc"}`` and ``{"ab": "c"}``) yield the same bytes.
An empty or absent context encodes as four zero bytes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cipherpost.crypto import aead
from cipherpost.crypto._framing import u32_prefixed
from cipherpost.crypto.errors import DecryptionError, InvalidCiphertext

__all__ = [
    "BlobHeader",
    "InvalidCiphertext",
    "canonicalize_context",
    "decrypt_blob",
    "encrypt_blob",
    "encrypt_blob_from_parts",
    "peek_header",
]

FORMAT_VERSION = 0x01
INSTALLATION_ID_SIZE = 16
SALT_SIZE = 16
_HEADER_SIZE = 1 + INSTALLATION_ID_SIZE + 16 + 4
_AAD_PREFIX_SIZE = _HEADER_SIZE + SALT_SIZE
#: Bytes a blob adds to its plaintext.
OVERHEAD = _AAD_PREFIX_SIZE + aead.OVERHEAD
_MAX_KEY_VERSION = 0xFFFFFFFF
_KDF_INFO = b"cipherpost/kms-blob/v1"


@dataclass(frozen=True, slots=True)
class BlobHeader:
    """What a blob says about itself, before anything is verified."""

    key_id: str
    """The KMS key id, a canonical lowercase UUID string (36 characters)."""
    key_version: int
    """The backing-key version the blob was encrypted under."""
    installation_id: bytes
    """The 16-byte id of the installation that made the blob."""


def canonicalize_context(context: Mapping[str, str]) -> bytes:
    """The encryption context as unambiguous bytes (layout in the module docstring).

    :raises ValueError: a key or value is not a ``str``, or cannot be encoded as UTF-8.
    """
    fields: dict[bytes, bytes] = {}
    for key, value in context.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError("encryption context keys and values must be strings")
        fields[_utf8(key)] = _utf8(value)
    # Sorted by the keys' UTF-8 bytes (the same order as by code points); keys are unique.
    framed = (u32_prefixed(key) + u32_prefixed(fields[key]) for key in sorted(fields))
    return len(fields).to_bytes(4, "big") + b"".join(framed)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("encryption context is not encodable as UTF-8") from exc


def encrypt_blob(
    *,
    key_id: str,
    version: int,
    key_material: bytes,
    plaintext: bytes,
    context: Mapping[str, str],
    installation_id: bytes,
) -> bytes:
    """Encrypt ``plaintext`` under one version of a KMS key, binding ``context``.

    :param key_id: the KMS key id, a canonical lowercase UUID string.
    :param version: the backing-key version (0 .. 2**32-1).
    :param key_material: that version's 32-byte backing key.
    :param plaintext: the bytes to encrypt (KMS limits this to 4096; not checked here).
    :param context: the encryption context (may be empty).
    :param installation_id: this installation's 16-byte id.
    :returns: the ciphertext blob.
    :raises ValueError: a malformed argument (a programming error, not bad client input).
    """
    return encrypt_blob_from_parts(
        key_id=key_id,
        version=version,
        key_material=key_material,
        plaintext=plaintext,
        context=context,
        installation_id=installation_id,
        salt=os.urandom(SALT_SIZE),
        nonce=os.urandom(aead.NONCE_SIZE),
    )


def encrypt_blob_from_parts(
    *,
    key_id: str,
    version: int,
    key_material: bytes,
    plaintext: bytes,
    context: Mapping[str, str],
    installation_id: bytes,
    salt: bytes,
    nonce: bytes,
) -> bytes:
    """Internal seam: :func:`encrypt_blob` with caller-chosen salt and nonce.

    For known-answer tests only; production code calls :func:`encrypt_blob`.
    """
    key_uuid = uuid.UUID(key_id)
    if str(key_uuid) != key_id:
        raise ValueError(f"KMS key id must be a canonical lowercase UUID, got {key_id!r}")
    if not 0 <= version <= _MAX_KEY_VERSION:
        raise ValueError(f"backing-key version out of range: {version}")
    if len(installation_id) != INSTALLATION_ID_SIZE:
        raise ValueError(f"installation id must be {INSTALLATION_ID_SIZE} bytes")
    if len(salt) != SALT_SIZE:
        raise ValueError(f"salt must be {SALT_SIZE} bytes")
    prefix = bytes([FORMAT_VERSION]) + installation_id + key_uuid.bytes + version.to_bytes(4, "big") + salt
    aad = prefix + canonicalize_context(context)
    return prefix + aead.seal_from_parts(_blob_key(key_material, salt), nonce, plaintext, aad)


def peek_header(blob: bytes) -> BlobHeader:
    """Read a blob's header to find the key that can decrypt it. Nothing is verified.

    :raises InvalidCiphertext: the blob is too short or has an unknown format version.
    """
    if len(blob) < OVERHEAD or blob[0] != FORMAT_VERSION:
        raise InvalidCiphertext
    return BlobHeader(
        key_id=str(uuid.UUID(bytes=bytes(blob[17:33]))),
        key_version=int.from_bytes(blob[33:37], "big"),
        installation_id=bytes(blob[1:17]),
    )


def decrypt_blob(
    blob: bytes,
    *,
    key_material: bytes,
    context: Mapping[str, str],
    installation_id: bytes,
) -> bytes:
    """Verify and decrypt a blob made by :func:`encrypt_blob`.

    :param blob: the ciphertext blob.
    :param key_material: the backing key of the key id and version :func:`peek_header` named.
    :param context: the encryption context given at encryption (order does not matter).
    :param installation_id: this installation's 16-byte id.
    :returns: the plaintext.
    :raises InvalidCiphertext: on any failure: malformed, truncated, unknown version,
        another installation's blob, wrong key material, wrong context, or tampering.
    """
    try:
        header = peek_header(blob)
        if header.installation_id != installation_id:
            raise InvalidCiphertext
        aad = bytes(blob[:_AAD_PREFIX_SIZE]) + canonicalize_context(context)
        blob_key = _blob_key(key_material, bytes(blob[_HEADER_SIZE:_AAD_PREFIX_SIZE]))
        return aead.unseal(blob_key, blob[_AAD_PREFIX_SIZE:], aad)
    except (DecryptionError, ValueError, TypeError):
        raise InvalidCiphertext from None


def _blob_key(key_material: bytes, salt: bytes) -> bytes:
    if len(key_material) != aead.KEY_SIZE:
        raise ValueError(f"KMS backing key must be {aead.KEY_SIZE} bytes")
    kdf = HKDF(algorithm=hashes.SHA256(), length=aead.KEY_SIZE, salt=salt, info=_KDF_INFO)
    return kdf.derive(key_material)
