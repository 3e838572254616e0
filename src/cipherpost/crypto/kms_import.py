"""Imported KMS key material (ImportKeyMaterial): unwrap what the customer wrapped under a
wrapping key of GetParametersForImport, and check that it is key material of the key's spec.

AWS KMS Developer Guide, "Encrypt (wrap) key material": ``RSAES_OAEP_SHA_1/256`` encrypt
the material directly with the RSA wrapping public key (OAEP, MGF1 with the same hash);
``RSA_AES_KEY_WRAP_SHA_1/256`` encrypt a fresh AES-256 key with RSA-OAEP and wrap the
material under it with AES key wrap with padding (RFC 5649); the result is the RSA
ciphertext (as long as the modulus) followed by the wrapped material. Pure: no I/O.
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from cipherpost.crypto.errors import InvalidCiphertext
from cipherpost.crypto.kms_keypairs import CURVES, RSA_BITS, PrivateKey, rsa_decrypt

__all__ = ["WRAPPING_ALGORITHMS", "IncorrectMaterial", "check_material", "unwrap_material"]

#: Wrapping algorithm -> the RSAES-OAEP algorithm of its RSA step.
WRAPPING_ALGORITHMS: Final = {
    "RSAES_OAEP_SHA_1": "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256": "RSAES_OAEP_SHA_256",
    "RSA_AES_KEY_WRAP_SHA_1": "RSAES_OAEP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256": "RSAES_OAEP_SHA_256",
}
_SYMMETRIC_BYTES: Final = 32
#: HMAC key material: at least the digest length of the key spec's hash, at most 64 bytes.
_HMAC_BYTES: Final = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}
_HMAC_MAX: Final = 64


class IncorrectMaterial(ValueError):
    """The unwrapped bytes are not key material of the key's spec."""


def unwrap_material(wrapping_key: PrivateKey, wrapping_algorithm: str, encrypted: bytes) -> bytes:
    """The key material the customer wrapped.

    :raises InvalidCiphertext: it does not unwrap with this wrapping key and algorithm.
    """
    if not isinstance(wrapping_key, rsa.RSAPrivateKey) or wrapping_algorithm not in WRAPPING_ALGORITHMS:
        raise InvalidCiphertext
    oaep = WRAPPING_ALGORITHMS[wrapping_algorithm]
    if wrapping_algorithm.startswith("RSAES_"):
        return rsa_decrypt(wrapping_key, oaep, encrypted)
    size = wrapping_key.key_size // 8
    ephemeral = rsa_decrypt(wrapping_key, oaep, encrypted[:size])
    try:
        return aes_key_unwrap_with_padding(ephemeral, encrypted[size:])
    except (InvalidUnwrap, ValueError):
        raise InvalidCiphertext from None


def check_material(key_spec: str, material: bytes) -> bytes:
    """The material as stored for ``key_spec`` (a private key re-encoded as PKCS#8 DER).

    :raises IncorrectMaterial: a symmetric key that is not 256 bits, an HMAC key of the wrong
        length, or not a private key of the spec's algorithm, size or curve.
    """
    if key_spec == "SYMMETRIC_DEFAULT":
        if len(material) != _SYMMETRIC_BYTES:
            raise IncorrectMaterial("symmetric key material must be 256 bits")
        return material
    if key_spec in _HMAC_BYTES:
        if not _HMAC_BYTES[key_spec] <= len(material) <= _HMAC_MAX:
            raise IncorrectMaterial(f"{key_spec} key material must be {_HMAC_BYTES[key_spec]}..{_HMAC_MAX} bytes")
        return material
    try:
        key = serialization.load_der_private_key(material, password=None)
    except (ValueError, TypeError) as exc:
        raise IncorrectMaterial("not a PKCS#8 DER private key") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        matches = RSA_BITS.get(key_spec) == key.key_size
    else:
        matches = (isinstance(key, ec.EllipticCurvePrivateKey) and key_spec in CURVES
                   and key.curve.name == CURVES[key_spec]().name)
    if not matches:
        raise IncorrectMaterial(f"not a private key of key spec {key_spec}")
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
