"""SNS message signing: string-to-sign vectors, sign/verify, and the signing key file.

Signing cost, measured with ``timeit`` on the 2-core reference machine (not asserted:
tests never time things): RSA-2048 ``SigningKey.sign`` ~270-330 us per message for
SignatureVersion 1 and 2 alike (~530 us on session 3's machine); ``verify`` ~50-80 us.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import secrets
import stat
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from cipherpost.crypto.errors import ForeignRootKeyError, UnwrapError
from cipherpost.crypto.keyring import Keyring
from cipherpost.crypto.signer import ProcessSigner, SignerUnavailable
from cipherpost.services.sns.signing import (
    KEY_PURPOSE,
    SigningKey,
    SigningKeyError,
    string_to_sign,
    verify,
)

from .support import case_id, load_vectors

VECTORS = load_vectors("signing_vectors.json")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOST = "cipherpost.example"


@pytest.fixture(scope="module")
def keyring() -> Keyring:
    return Keyring(secrets.token_bytes(32))


@pytest.fixture(scope="module")
def key_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sns") / "sns-signing-key"


@pytest.fixture(scope="module")
def signing_key(key_path: Path, keyring: Keyring) -> SigningKey:
    return SigningKey.load_or_create(key_path, keyring, subject_host=HOST, now=NOW)


def messages() -> list[dict[str, Any]]:
    return [case["message"] for case in VECTORS["string_to_sign"]]


# --- string to sign ---


@pytest.mark.parametrize("case", VECTORS["string_to_sign"], ids=case_id)
def test_string_to_sign(case: dict[str, Any]) -> None:
    assert string_to_sign(case["message"]) == case["string_to_sign"].encode("utf-8")


@pytest.mark.parametrize("case", VECTORS["errors"], ids=case_id)
def test_string_to_sign_refuses(case: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as caught:
        string_to_sign(case["message"])
    assert str(caught.value) == case["error"]


# --- sign and verify ---


@pytest.mark.parametrize("version", ["1", "2"])
@pytest.mark.parametrize("message", messages(), ids=[case_id(c) for c in VECTORS["string_to_sign"]])
def test_sign_verify_round_trip(signing_key: SigningKey, message: dict[str, Any], version: str) -> None:
    signature = signing_key.sign(message, version=version)  # type: ignore[arg-type]
    assert verify({**message, "SignatureVersion": version}, signature, signing_key.cert_pem)


@pytest.mark.parametrize(("version", "digest"), [("1", hashes.SHA1()), ("2", hashes.SHA256())])
def test_signature_is_pkcs1v15_over_the_string_to_sign(
    signing_key: SigningKey, version: str, digest: hashes.HashAlgorithm
) -> None:
    """Checked with `cryptography` directly, as a subscriber without our code would."""
    message = messages()[0]
    signature = base64.b64decode(signing_key.sign(message, version=version))  # type: ignore[arg-type]
    public_key = x509.load_pem_x509_certificate(signing_key.cert_pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, string_to_sign(message), padding.PKCS1v15(), digest)


@pytest.mark.parametrize("version", ["1", "2"])
def test_sign_async_in_a_process_or_a_thread_gives_the_same_signature(
    signing_key: SigningKey, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PKCS#1 v1.5 is deterministic: a signing process, a thread, and a process that cannot
    sign (the thread takes over) all give sign()'s signature."""
    message = messages()[0]

    async def broken(self: ProcessSigner, data: bytes, digest: str) -> bytes:
        raise SignerUnavailable("gone")

    async def main() -> list[str]:
        signatures = []
        for processes in (1, 0):
            signing_key.use_processes(processes)
            try:
                signatures.append(await signing_key.sign_async(message, version=version))  # type: ignore[arg-type]
            finally:
                await signing_key.close()
        signing_key.use_processes(1)
        with monkeypatch.context() as patch:
            patch.setattr(ProcessSigner, "sign", broken)
            signatures.append(await signing_key.sign_async(message, version=version))  # type: ignore[arg-type]
        await signing_key.close()
        return signatures

    expected = signing_key.sign(message, version=version)  # type: ignore[arg-type]
    assert asyncio.run(main()) == [expected] * 3


@pytest.mark.parametrize("field", ["Message", "MessageId", "Subject", "Timestamp", "TopicArn"])
def test_tampered_signed_field_fails(signing_key: SigningKey, field: str) -> None:
    message = {**messages()[0], "SignatureVersion": "2"}
    signature = signing_key.sign(message, version="2")
    assert not verify({**message, field: message[field] + "x"}, signature, signing_key.cert_pem)


@pytest.mark.parametrize("field", ["Token", "SubscribeURL"])
def test_tampered_confirmation_field_fails(signing_key: SigningKey, field: str) -> None:
    message = {**VECTORS["string_to_sign"][5]["message"], "SignatureVersion": "1"}
    signature = signing_key.sign(message, version="1")
    assert not verify({**message, field: message[field] + "x"}, signature, signing_key.cert_pem)


def test_removing_the_subject_fails(signing_key: SigningKey) -> None:
    message = {**messages()[0], "SignatureVersion": "2"}
    signature = signing_key.sign(message, version="2")
    assert not verify({k: v for k, v in message.items() if k != "Subject"}, signature, signing_key.cert_pem)


def test_unsigned_fields_may_change(signing_key: SigningKey) -> None:
    message = {**messages()[4], "SignatureVersion": "2"}
    signature = signing_key.sign(message, version="2")
    changed = {**message, "UnsubscribeURL": "https://elsewhere.example/", "SigningCertURL": "x"}
    assert verify(changed, signature, signing_key.cert_pem)


def test_signature_version_is_part_of_the_check(signing_key: SigningKey) -> None:
    message = messages()[1]
    signature = signing_key.sign(message, version="1")
    assert verify({**message, "SignatureVersion": "1"}, signature, signing_key.cert_pem)
    assert verify(message, signature, signing_key.cert_pem)  # absent means "1"
    assert not verify({**message, "SignatureVersion": "2"}, signature, signing_key.cert_pem)
    assert not verify({**message, "SignatureVersion": "3"}, signature, signing_key.cert_pem)


@pytest.mark.parametrize("signature", ["", "not base64!", base64.b64encode(b"\0" * 256).decode()])
def test_malformed_signature_fails_closed(signing_key: SigningKey, signature: str) -> None:
    assert not verify(messages()[1], signature, signing_key.cert_pem)


def test_wrong_certificate_fails(signing_key: SigningKey, tmp_path: Path, keyring: Keyring) -> None:
    other = SigningKey.load_or_create(tmp_path / "other", keyring, subject_host=HOST, now=NOW)
    signature = signing_key.sign(messages()[1], version="2")
    message = {**messages()[1], "SignatureVersion": "2"}
    assert not verify(message, signature, other.cert_pem)
    assert not verify(message, signature, b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert not verify(message, signature, _ec_certificate())


def test_unsignable_message_fails_closed(signing_key: SigningKey) -> None:
    assert not verify({"Type": "Notice"}, signing_key.sign(messages()[1], version="1"), signing_key.cert_pem)


def test_unknown_version_is_refused(signing_key: SigningKey) -> None:
    with pytest.raises(ValueError, match="SignatureVersion"):
        signing_key.sign(messages()[1], version="3")  # type: ignore[arg-type]


# --- the key file ---


def test_key_file_is_0600(signing_key: SigningKey, key_path: Path) -> None:
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_key_file_holds_no_plaintext_key(signing_key: SigningKey, key_path: Path, keyring: Keyring) -> None:
    data = key_path.read_bytes()
    header = struct.Struct(">8sBI")
    magic, version, length = header.unpack_from(data)
    assert (magic, version) == (b"CPSNSKEY", 1)
    der = keyring.unwrap(data[header.size : header.size + length], purpose=KEY_PURPOSE)
    key = serialization.load_der_private_key(der, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    pkcs1 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    secrets_to_find = [der, pkcs1, *(n.to_bytes((n.bit_length() + 7) // 8, "big") for n in (numbers.d, numbers.p))]
    for secret in secrets_to_find:
        assert secret not in data
        assert base64.b64encode(secret)[:64] not in data
    assert b"PRIVATE KEY" not in data
    assert data[header.size + length :] == signing_key.cert_pem


def test_second_load_returns_the_same_key(signing_key: SigningKey, key_path: Path, keyring: Keyring) -> None:
    before = key_path.read_bytes()
    again = SigningKey.load_or_create(key_path, keyring, subject_host=HOST, now=NOW + dt.timedelta(days=1))
    assert again.cert_pem == signing_key.cert_pem
    assert key_path.read_bytes() == before
    message = {**messages()[0], "SignatureVersion": "2"}
    assert verify(message, again.sign(message, version="2"), signing_key.cert_pem)


def test_certificate(signing_key: SigningKey) -> None:
    cert = x509.load_pem_x509_certificate(signing_key.cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == HOST
    assert cert.issuer == cert.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == 2048
    cert.verify_directly_issued_by(cert)
    assert cert.not_valid_before_utc <= NOW < cert.not_valid_after_utc
    assert "PRIVATE" not in repr(signing_key)


def test_ip_host_gets_an_ip_san(tmp_path: Path, keyring: Keyring) -> None:
    key = SigningKey.load_or_create(tmp_path / "k", keyring, subject_host="[::1]", now=NOW)
    cert = x509.load_pem_x509_certificate(key.cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["::1"]


@pytest.mark.parametrize("host", ["", "a b", "host/path", "x" * 65])
def test_unusable_host_is_refused_before_writing(tmp_path: Path, keyring: Keyring, host: str) -> None:
    with pytest.raises(ValueError, match="host"):
        SigningKey.load_or_create(tmp_path / "k", keyring, subject_host=host, now=NOW)
    assert not (tmp_path / "k").exists()


def test_new_host_reissues_the_certificate_for_the_same_key(
    signing_key: SigningKey, key_path: Path, keyring: Keyring, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.write_bytes(key_path.read_bytes())
    os.chmod(copy, 0o600)
    moved = SigningKey.load_or_create(copy, keyring, subject_host="sns.internal", now=NOW)
    assert moved.cert_pem != signing_key.cert_pem
    assert _spki(moved.cert_pem) == _spki(signing_key.cert_pem)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    reloaded = SigningKey.load_or_create(copy, keyring, subject_host="sns.internal", now=NOW)
    assert reloaded.cert_pem == moved.cert_pem


def test_expiring_certificate_is_reissued(
    signing_key: SigningKey, key_path: Path, keyring: Keyring, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.write_bytes(key_path.read_bytes())
    os.chmod(copy, 0o600)
    expiry = x509.load_pem_x509_certificate(signing_key.cert_pem).not_valid_after_utc
    later = SigningKey.load_or_create(copy, keyring, subject_host=HOST, now=expiry - dt.timedelta(days=1))
    assert later.cert_pem != signing_key.cert_pem
    assert _spki(later.cert_pem) == _spki(signing_key.cert_pem)


def test_group_readable_file_is_refused(
    signing_key: SigningKey, key_path: Path, keyring: Keyring, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    copy.write_bytes(key_path.read_bytes())
    os.chmod(copy, 0o640)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        SigningKey.load_or_create(copy, keyring, subject_host=HOST, now=NOW)


def test_foreign_keyring_cannot_load(key_path: Path, signing_key: SigningKey) -> None:
    with pytest.raises(ForeignRootKeyError):
        SigningKey.load_or_create(key_path, Keyring(secrets.token_bytes(32)), subject_host=HOST, now=NOW)


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda d: b"XXXXXXXX" + d[8:], SigningKeyError),
        (lambda d: d[:8] + b"\x02" + d[9:], SigningKeyError),
        (lambda d: d[:10], SigningKeyError),
        (lambda d: d[:5], SigningKeyError),
        (lambda d: d[:40] + bytes([d[40] ^ 1]) + d[41:], UnwrapError),
        (lambda d: d[: d.index(b"-----BEGIN")] + b"not a certificate", SigningKeyError),
    ],
    ids=["bad-magic", "unknown-version", "truncated-header", "shorter-than-header", "tampered-wrapped-key", "bad-cert"],
)
def test_corrupt_file_is_refused(
    signing_key: SigningKey, key_path: Path, keyring: Keyring, tmp_path: Path, mutate: Any, error: type[Exception]
) -> None:
    copy = tmp_path / "copy"
    copy.write_bytes(mutate(key_path.read_bytes()))
    os.chmod(copy, 0o600)
    with pytest.raises(error):
        SigningKey.load_or_create(copy, keyring, subject_host=HOST, now=NOW)


def test_certificate_of_another_key_is_refused(
    signing_key: SigningKey, key_path: Path, keyring: Keyring, tmp_path: Path
) -> None:
    other = SigningKey.load_or_create(tmp_path / "other", keyring, subject_host=HOST, now=NOW)
    data = key_path.read_bytes()
    swapped = tmp_path / "swapped"
    swapped.write_bytes(data[: data.index(b"-----BEGIN")] + other.cert_pem)
    os.chmod(swapped, 0o600)
    with pytest.raises(SigningKeyError, match="does not match"):
        SigningKey.load_or_create(swapped, keyring, subject_host=HOST, now=NOW)


def _spki(cert_pem: bytes) -> bytes:
    public_key = x509.load_pem_x509_certificate(cert_pem).public_key()
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _ec_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ec")])
    cert = (
        x509.CertificateBuilder()
        .issuer_name(name)
        .subject_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_invalid_signature_exception_is_not_leaked(signing_key: SigningKey) -> None:
    try:
        result = verify(messages()[1], base64.b64encode(b"x" * 256).decode(), signing_key.cert_pem)
    except InvalidSignature:  # pragma: no cover - the failure this test guards against
        pytest.fail("verify leaked InvalidSignature")
    assert result is False
