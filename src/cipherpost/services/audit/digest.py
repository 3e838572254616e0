"""Digest files: the integrity chain over log files, signed with the installation's RSA key.

As CloudTrail's digest files do, each digest lists the log files delivered since the
previous digest, each with its SHA-256, and names the previous digest with the SHA-256 of
its bytes and its signature. The signature of a digest covers the string (CloudTrail's
"data to sign", with our file name in place of the S3 bucket/key)::

    digestEndTime \\n digestFileName \\n hex(SHA-256(digest file bytes)) \\n previousDigestSignature

so every digest commits to its own bytes and, through them and the previous signature, to
the whole chain before it. The first digest of a chain has null ``previous*`` fields (the
signed string then ends in ``null``). Signatures are ``SHA256withRSA`` (RSASSA-PKCS1-v1_5
with SHA-256) and stored hex-encoded in ``<digest>.sig``.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cipherpost.crypto.keyring import Keyring
from cipherpost.services.audit.files import create_private, gzip_json
from cipherpost.services.audit.layout import digest_file_name
from cipherpost.services.audit.record import format_time

SIGNATURE_ALGORITHM = "SHA256withRSA"
HASH_ALGORITHM = "SHA-256"
KEY_PURPOSE = "audit-digest-signing-key"
_MAGIC = b"CPAUDKEY\x01"


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class SignerError(Exception):
    """The audit signing key file is unusable (wrong mode, corrupt, or another root key)."""


class AuditSigner:
    """The installation's RSA-2048 digest-signing key, kept on disk only wrapped by the keyring."""

    __slots__ = ("_private",)

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._private = private_key

    @classmethod
    def generate(cls) -> AuditSigner:
        """A fresh key (tests; :meth:`load_or_create` for an installation)."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def load_or_create(cls, path: Path, keyring: Keyring) -> AuditSigner:
        """Load the key at ``path``, generating and storing it (0600, wrapped) on first use.

        Also writes the public key next to it as ``<path>.pub.pem`` for offline checks.

        :raises SignerError: the file is group/other-accessible, corrupt, or wrapped by
            another root key.
        """
        signer = _read_key_file(path, keyring)
        if signer is None:
            signer = cls.generate()
            if not create_private(path, _MAGIC + keyring.wrap(signer._pkcs8(), purpose=KEY_PURPOSE)):
                signer = _read_key_file(path, keyring)
                if signer is None:
                    raise SignerError(f"audit signing key {path} vanished while it was being created")
        pem_path = path.with_name(path.name + ".pub.pem")
        if not pem_path.exists():
            create_private(pem_path, signer.public_key_pem)
        return signer

    @classmethod
    def load(cls, path: Path, keyring: Keyring) -> AuditSigner:
        """Load an existing key (``audit verify``: never creates one).

        :raises SignerError: there is no key file, or as :meth:`load_or_create`.
        """
        signer = _read_key_file(path, keyring)
        if signer is None:
            raise SignerError(f"there is no audit signing key at {path}")
        return signer

    def _pkcs8(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, data: bytes) -> bytes:
        """The SHA256withRSA signature of ``data``."""
        return self._private.sign(data, padding.PKCS1v15(), hashes.SHA256())

    @property
    def public_key_pem(self) -> bytes:
        """The public key, SubjectPublicKeyInfo PEM."""
        return self._private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the DER public key (the digests' ``digestPublicKeyFingerprint``)."""
        return public_key_fingerprint(self.public_key_pem)

    def __repr__(self) -> str:
        return f"AuditSigner(fingerprint={self.fingerprint!r})"


def _read_key_file(path: Path, keyring: Keyring) -> AuditSigner | None:
    """The signer stored at ``path``; None if there is no file."""
    try:
        info = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise SignerError(f"audit signing key {path} is accessible to other users; run `chmod 600 {path}`")
    if not data.startswith(_MAGIC):
        raise SignerError(f"{path} is not a cipherpost audit signing key")
    try:
        der = keyring.unwrap(data[len(_MAGIC) :], purpose=KEY_PURPOSE)
    except Exception as exc:
        raise SignerError(f"audit signing key {path} cannot be unwrapped: {exc}") from exc
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignerError(f"audit signing key {path} is not an RSA key")
    return AuditSigner(key)


def public_key_fingerprint(public_key_pem: bytes) -> str:
    """Hex SHA-256 of the DER SubjectPublicKeyInfo of a PEM public key."""
    key = serialization.load_pem_public_key(public_key_pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return sha256_hex(der)


def verify_signature(public_key_pem: bytes, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid SHA256withRSA signature of ``data``."""
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class LogFileEntry:
    """One delivered log file, as a digest lists it."""

    name: str
    sha256: str
    oldest: datetime
    newest: datetime


@dataclass(frozen=True, slots=True)
class ChainLink:
    """What the next digest needs of the previous one."""

    name: str
    sha256: str
    signature: str
    end: datetime


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest ready to write: its relative name, gzipped bytes, hex signature, and link."""

    name: str
    data: bytes
    signature: str
    link: ChainLink


def signed_string(end: str, name: str, digest_sha256: str, previous_signature: str | None) -> bytes:
    """The bytes a digest's signature covers (see the module docstring)."""
    return "\n".join((end, name, digest_sha256, previous_signature or "null")).encode("utf-8")


def digest_document(
    account_id: str, name: str, start: datetime, end: datetime, files: Sequence[LogFileEntry],
    previous: ChainLink | None, fingerprint: str,
) -> dict[str, Any]:
    """The JSON body of a digest file (CloudTrail's fields, file names for S3 objects)."""
    return {
        "awsAccountId": account_id,
        "digestStartTime": format_time(start),
        "digestEndTime": format_time(end),
        "digestFileName": name,
        "digestPublicKeyFingerprint": fingerprint,
        "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
        "oldestEventTime": format_time(min(f.oldest for f in files)) if files else None,
        "newestEventTime": format_time(max(f.newest for f in files)) if files else None,
        "previousDigestFileName": previous.name if previous else None,
        "previousDigestHashValue": previous.sha256 if previous else None,
        "previousDigestHashAlgorithm": HASH_ALGORITHM if previous else None,
        "previousDigestSignature": previous.signature if previous else None,
        "logFiles": [
            {
                "fileName": entry.name,
                "hashValue": entry.sha256,
                "hashAlgorithm": HASH_ALGORITHM,
                "oldestEventTime": format_time(entry.oldest),
                "newestEventTime": format_time(entry.newest),
            }
            for entry in files
        ],
    }


def make_digest(
    signer: AuditSigner, *, account_id: str, region: str, trail: str, start: datetime, end: datetime,
    files: Sequence[LogFileEntry], previous: ChainLink | None,
) -> Digest:
    """Build and sign the digest of ``files`` for the period ``start``..``end``."""
    name = digest_file_name(account_id, region, trail, end)
    data = gzip_json(digest_document(account_id, name, start, end, files, previous, signer.fingerprint))
    digest_hash = sha256_hex(data)
    message = signed_string(format_time(end), name, digest_hash, previous.signature if previous else None)
    signature = signer.sign(message).hex()
    return Digest(name, data, signature, ChainLink(name, digest_hash, signature, end))
