"""Imported key material (crypto/kms_import.py): both wrapping schemes, as a customer wraps
with ``cryptography``, and the checks of the material against the key spec."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from cipherpost.crypto import kms_import, kms_keypairs
from cipherpost.crypto.errors import InvalidCiphertext

WRAPPING = kms_keypairs.load_private_key(kms_keypairs.generate_private_key("RSA_2048"))


def _pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def customer_wrap(algorithm: str, material: bytes) -> bytes:
    digest = hashes.SHA256() if algorithm.endswith("256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    public = WRAPPING.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    if algorithm.startswith("RSAES_"):
        return public.encrypt(material, oaep)
    ephemeral = os.urandom(32)
    return public.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, material)


@pytest.mark.parametrize("algorithm", sorted(kms_import.WRAPPING_ALGORITHMS))
def test_unwraps_what_a_customer_wraps(algorithm: str) -> None:
    material = os.urandom(32)
    assert kms_import.unwrap_material(WRAPPING, algorithm, customer_wrap(algorithm, material)) == material


@pytest.mark.parametrize("algorithm", ["RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"])
def test_key_wrap_carries_a_private_key(algorithm: str) -> None:
    der = _pkcs8(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert kms_import.unwrap_material(WRAPPING, algorithm, customer_wrap(algorithm, der)) == der


@pytest.mark.parametrize(
    ("algorithm", "mangle"),
    [
        pytest.param("RSAES_OAEP_SHA_256", lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]), id="oaep-tampered"),
        pytest.param("RSA_AES_KEY_WRAP_SHA_256", lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]), id="kwp-tampered"),
        pytest.param("RSA_AES_KEY_WRAP_SHA_256", lambda blob: blob[:256], id="kwp-truncated"),
        pytest.param("RSAES_OAEP_SHA_1", lambda blob: blob, id="wrong-hash"),
    ],
)
def test_bad_wrapping_fails(algorithm: str, mangle: object) -> None:
    wrapped_with = "RSAES_OAEP_SHA_256" if algorithm == "RSAES_OAEP_SHA_1" else algorithm
    blob = customer_wrap(wrapped_with, os.urandom(32))
    assert callable(mangle)
    with pytest.raises(InvalidCiphertext):
        kms_import.unwrap_material(WRAPPING, algorithm, mangle(blob))


def test_material_must_fit_the_key_spec() -> None:
    assert kms_import.check_material("SYMMETRIC_DEFAULT", bytes(32)) == bytes(32)
    assert kms_import.check_material("HMAC_384", bytes(64)) == bytes(64)
    p256 = _pkcs8(ec.generate_private_key(ec.SECP256R1()))
    assert kms_import.check_material("ECC_NIST_P256", p256) == p256
    for spec, material in [("SYMMETRIC_DEFAULT", bytes(31)), ("HMAC_384", bytes(47)), ("HMAC_224", bytes(65)),
                           ("ECC_NIST_P384", p256), ("ECC_SECG_P256K1", p256), ("RSA_2048", p256),
                           ("ECC_NIST_P256", b"not a key")]:
        with pytest.raises(kms_import.IncorrectMaterial):
            kms_import.check_material(spec, material)
