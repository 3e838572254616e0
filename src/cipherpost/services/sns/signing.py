"""SNS message signing: the installation's RSA key, AWS's string-to-sign, sign and verify.

SNS signs every message it delivers to HTTP/S and SQS subscribers so that they can check
it came from the topic: the ``Signature`` field is base64 of an RSA PKCS#1 v1.5
signature over :func:`string_to_sign`, with SHA-1 (``SignatureVersion`` "1") or SHA-256
("2"). The signed fields are the same for every subscription of a message (the
``UnsubscribeURL`` is not signed), so a message is signed once, not once per delivery.
Signing costs about 0.3 ms of CPU (RSA-2048 on this project's 2-core reference machine:
~270-330 us per signature, SHA-1 or SHA-256; verifying ~50-80 us); callers run
:meth:`SigningKey.sign` in a worker thread, off the event loop.

The signing key is one RSA-2048 key per installation, generated on first use. Its file,
format version 1, holds only the key wrapped under the root keyring and a certificate::

    offset  size  field
    0       8     magic b"CPSNSKEY"
    8       1     file format version, 0x01
    9       4     u32 big-endian length n of the wrapped key
    13      n     Keyring.wrap(PKCS#8 DER of the key, purpose=KEY_PURPOSE)
    13+n    ...   the certificate, PEM

The certificate is self-signed, with the public host of this installation as its
subject CN and subject alternative name (not ``sns.amazonaws.com``: we do not impersonate
AWS's certificate, and a self-signed certificate could never chain to AWS's CA anyway).
It is served at ``SigningCertURL``; subscribers that validate the URL's host against
AWS's pattern configure their validator with our host instead. The certificate is
re-issued, with the same key, when the host changes or it nears expiry.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import datetime as dt
import ipaddress
import stat
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from cipherpost.crypto.errors import CryptoError
from cipherpost.crypto.keyring import Keyring
from cipherpost.crypto.signer import ProcessSigner, SignerUnavailable
from cipherpost.files import create_exclusive, read_limited, too_open, write_atomic

__all__ = ["KEY_PURPOSE", "SignatureVersion", "SigningKey", "SigningKeyError", "string_to_sign", "verify"]

SignatureVersion = Literal["1", "2"]

KEY_PURPOSE = "sns-signing-key:v1"
FILE_MAGIC = b"CPSNSKEY"
FILE_VERSION = 0x01
_HEADER = struct.Struct(">8sBI")
_MAX_FILE_SIZE = 64 * 1024
KEY_SIZE = 2048
CERT_VALIDITY = dt.timedelta(days=5 * 365)
RENEW_BEFORE = dt.timedelta(days=30)
_BACKDATE = dt.timedelta(hours=1)

#: AWS's canonical field order per message type; optional fields are signed only if present.
SIGNED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_OPTIONAL_FIELDS = frozenset({("Notification", "Subject")})
_DIGESTS: Mapping[str, type[hashes.SHA1] | type[hashes.SHA256]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_DIGEST_NAMES: Mapping[str, str] = {"1": "sha1", "2": "sha256"}


class SigningKeyError(CryptoError):
    """The SNS signing key file could not be used."""


def string_to_sign(message: Mapping[str, object]) -> bytes:
    """AWS's canonical string for a Notification, SubscriptionConfirmation or
    UnsubscribeConfirmation: ``"Name\\nValue\\n"`` for each signed field, in order.

    :param message: the message fields (a parsed envelope will do; unsigned fields are ignored).
    :raises ValueError: unknown ``Type``, a required field missing, or a field not a string.
    """
    kind = message.get("Type")
    fields = SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise ValueError(f"cannot sign a message of Type {kind!r}")
    parts: list[str] = []
    for name in fields:
        value = message.get(name)
        if value is None and (kind, name) in _OPTIONAL_FIELDS:
            continue
        if not isinstance(value, str):
            raise ValueError(f"a {kind} message needs a string {name} field to be signed")
        parts += (name, "\n", value, "\n")
    return "".join(parts).encode("utf-8")


def verify(message: Mapping[str, object], signature_b64: str, cert_pem: bytes) -> bool:
    """Check a message's signature as a subscriber does: with the certificate's public key,
    the digest its ``SignatureVersion`` names ("1" when absent), over :func:`string_to_sign`.

    :returns: ``True`` only for a valid signature; any malformed input fails closed.
    """
    digest = _DIGESTS.get(str(message.get("SignatureVersion", "1")))
    try:
        public_key = x509.load_pem_x509_certificate(cert_pem).public_key()
        signature = base64.b64decode(signature_b64, validate=True)
        data = string_to_sign(message)
    except (ValueError, TypeError, binascii.Error):
        return False
    if digest is None or not isinstance(public_key, rsa.RSAPublicKey):
        return False
    try:
        public_key.verify(signature, data, padding.PKCS1v15(), digest())
    except InvalidSignature:
        return False
    return True


class SigningKey:
    """The installation's SNS signing key and its certificate. Thread-safe; build with
    :meth:`load_or_create`. ``repr`` shows only the certificate's subject."""

    __slots__ = ("_cert", "_key", "_processes")

    def __init__(self, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
        self._processes: ProcessSigner | None = None
        self._key = key
        self._cert = cert

    @classmethod
    def load_or_create(
        cls, path: Path, keyring: Keyring, *, subject_host: str, now: dt.datetime | None = None
    ) -> SigningKey:
        """Load the signing key file, creating it (key and certificate) on first use.

        :param path: the key file, e.g. ``<data dir>/sns-signing-key``; written 0600, atomically.
        :param keyring: the root keyring that wraps the key.
        :param subject_host: the public host (DNS name or IP address) of ``SigningCertURL``.
        :param now: the current time (UTC), for tests; defaults to the clock.
        :raises SigningKeyError: the file is group/other-accessible, malformed, or its
            certificate does not match its key.
        :raises UnwrapError: the wrapped key does not unwrap under ``keyring``.
        :raises ValueError: ``subject_host`` is not a usable host name.
        """
        now = now or dt.datetime.now(dt.UTC)
        _host_name(subject_host)  # validate before touching the disk
        loaded = _read_key_file(path, keyring)
        if loaded is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
            signing_key = cls(key, _make_certificate(key, subject_host, now))
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if create_exclusive(path, signing_key._encode(keyring), 0o600):
                return signing_key
            loaded = _read_key_file(path, keyring)  # another process won the race: use theirs
            if loaded is None:
                raise SigningKeyError(f"SNS signing key file {path} vanished while it was being created")
        if not _certificate_ok(loaded._cert, subject_host, now):
            loaded = cls(loaded._key, _make_certificate(loaded._key, subject_host, now))
            write_atomic(path, loaded._encode(keyring), 0o600)
        return loaded

    @property
    def cert_pem(self) -> bytes:
        """The certificate, PEM: what ``SigningCertURL`` serves."""
        return self._cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, message: Mapping[str, object], *, version: SignatureVersion) -> str:
        """Sign a message: base64 of RSA PKCS#1 v1.5 over :func:`string_to_sign`, with
        SHA-1 for version "1" and SHA-256 for "2". CPU-bound (~0.3 ms): call it off the event loop.

        :raises ValueError: an unknown version, or see :func:`string_to_sign`.
        """
        digest = _DIGESTS.get(version)
        if digest is None:
            raise ValueError(f"SignatureVersion must be '1' or '2', not {version!r}")
        signature = self._key.sign(string_to_sign(message), padding.PKCS1v15(), digest())
        return base64.b64encode(signature).decode("ascii")

    def use_processes(self, processes: int) -> None:
        """Let :meth:`sign_async` sign in ``processes`` child processes (0: in threads)."""
        self._processes = ProcessSigner(self._key, processes=processes) if processes > 0 else None

    async def start(self) -> None:
        """Start the signing processes now (if any) rather than at the first signature."""
        if self._processes is not None:
            with contextlib.suppress(SignerUnavailable):  # (logged) sign_async signs in threads
                await self._processes.start()

    async def sign_async(self, message: Mapping[str, object], *, version: SignatureVersion) -> str:
        """:meth:`sign`, off the event loop: in a signing process (see :meth:`use_processes`),
        else, or when no process can, in a worker thread."""
        if self._processes is not None:
            digest = _DIGEST_NAMES.get(version)
            if digest is None:
                raise ValueError(f"SignatureVersion must be '1' or '2', not {version!r}")
            try:
                signature = await self._processes.sign(string_to_sign(message), digest)
                return base64.b64encode(signature).decode("ascii")
            except SignerUnavailable:
                pass
        return await asyncio.to_thread(self.sign, message, version=version)

    async def close(self) -> None:
        """Stop the signing processes; :meth:`sign_async` signs in threads from then on."""
        processes, self._processes = self._processes, None
        if processes is not None:
            await processes.close()

    def __repr__(self) -> str:
        return f"SigningKey(subject={self._cert.subject.rfc4514_string()!r})"

    def _encode(self, keyring: Keyring) -> bytes:
        der = self._key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        wrapped = keyring.wrap(der, purpose=KEY_PURPOSE)
        return _HEADER.pack(FILE_MAGIC, FILE_VERSION, len(wrapped)) + wrapped + self.cert_pem


def _read_key_file(path: Path, keyring: Keyring) -> SigningKey | None:
    """The signing key stored in ``path``, or ``None`` if there is no such file."""
    try:
        data, mode = read_limited(path, _MAX_FILE_SIZE)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SigningKeyError(f"SNS signing key file {path} cannot be read: {exc}") from exc
    if too_open(mode):
        raise SigningKeyError(
            f"SNS signing key file {path} has mode {stat.S_IMODE(mode):04o}: group/other users may "
            f"read it. Run `chmod 600 {path}`; refusing to use it"
        )
    wrapped, cert_pem = _split_file(data, path)
    der = keyring.unwrap(wrapped, purpose=KEY_PURPOSE)  # UnwrapError: tampered or foreign
    try:
        # The AEAD tag already proved these are the bytes we wrote: skip OpenSSL's slow
        # RSA consistency check (tens of ms at every start).
        key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"SNS signing key file {path} is corrupt") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or _spki(key.public_key()) != _spki(cert.public_key()):
        raise SigningKeyError(f"SNS signing key file {path}: the certificate does not match the key")
    return SigningKey(key, cert)


def _split_file(data: bytes, path: Path) -> tuple[bytes, bytes]:
    """The wrapped key and the certificate PEM of a version 1 file."""
    if len(data) < _HEADER.size:
        raise SigningKeyError(f"SNS signing key file {path} is truncated")
    magic, version, length = _HEADER.unpack_from(data)
    if magic != FILE_MAGIC:
        raise SigningKeyError(f"{path} is not a cipherpost SNS signing key file (bad magic)")
    if version != FILE_VERSION:
        raise SigningKeyError(f"SNS signing key file {path} has unknown format version {version}")
    end = _HEADER.size + length
    if end >= len(data):
        raise SigningKeyError(f"SNS signing key file {path} is truncated")
    return data[_HEADER.size : end], data[end:]


def _spki(public_key: object) -> bytes:
    if not isinstance(public_key, rsa.RSAPublicKey):
        return b""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _host_name(host: str) -> x509.GeneralName:
    """``host`` as a subject alternative name (IP address or DNS name)."""
    text = host.strip().removeprefix("[").removesuffix("]")
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.rstrip(".").lower()
    if not name or len(name) > 64 or any(c.isspace() or c in "/:@" for c in name):
        raise ValueError(f"not a usable certificate host name: {host!r}")
    return x509.DNSName(name)


def _subject_cn(general_name: x509.GeneralName) -> str:
    return str(general_name.value)


def _certificate_ok(cert: x509.Certificate, host: str, now: dt.datetime) -> bool:
    """Issued for ``host`` and valid for at least :data:`RENEW_BEFORE` more."""
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    fresh = cert.not_valid_before_utc <= now and now + RENEW_BEFORE < cert.not_valid_after_utc
    return fresh and [n.value for n in names] == [_subject_cn(_host_name(host))]


def _make_certificate(key: rsa.RSAPrivateKey, host: str, now: dt.datetime) -> x509.Certificate:
    """A self-signed end-entity certificate for ``host``, for signatures only."""
    san = _host_name(host)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cipherpost SNS"),
            x509.NameAttribute(NameOID.COMMON_NAME, _subject_cn(san)),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .issuer_name(name)
        .subject_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
