"""Asymmetric KMS keys (RSA and elliptic-curve), built only from ``cryptography`` primitives.

A key pair is kept as its private key in PKCS#8 DER (:func:`generate_private_key`); the
caller wraps those bytes under the root keyring like any other key material. Everything
here is pure: no I/O, no clock.

The algorithm names are AWS KMS's (``KeySpec``, ``SigningAlgorithmSpec``,
``EncryptionAlgorithmSpec``). The choices follow the AWS KMS Developer Guide, "Key spec
reference": RSASSA-PSS uses MGF1 with the message digest and a salt as long as the digest;
RSAES-OAEP uses MGF1 with the same hash as the label hash; ECDSA signatures are DER-encoded
(``Ecdsa-Sig-Value``); ECDH returns the raw shared secret (the x coordinate).
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from cipherpost.crypto.errors import InvalidCiphertext

__all__ = [
    "CURVES",
    "RSA_BITS",
    "PrivateKey",
    "derive_shared_secret",
    "digest_size",
    "generate_key_pair",
    "generate_private_key",
    "load_private_key",
    "public_key_der",
    "rsa_decrypt",
    "rsa_encrypt",
    "sign",
    "verify",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: RSA key specs and their modulus sizes.
RSA_BITS: Final = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
#: Elliptic-curve key specs and their curves.
CURVES: Final[dict[str, type[ec.EllipticCurve]]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "SHA_1": hashes.SHA1,
    "SHA_256": hashes.SHA256,
    "SHA_384": hashes.SHA384,
    "SHA_512": hashes.SHA512,
}
_RSA_PUBLIC_EXPONENT: Final = 65537


def _hash(algorithm: str) -> hashes.HashAlgorithm:
    """The hash an algorithm name ends with (``RSASSA_PSS_SHA_256`` -> SHA-256)."""
    for suffix, factory in _HASHES.items():
        if algorithm.endswith(suffix):
            return factory()
    raise ValueError(f"no hash in algorithm name {algorithm!r}")


def digest_size(algorithm: str) -> int | None:
    """The digest length in bytes a ``MessageType=DIGEST`` message must have for ``algorithm``
    (None: not a signing algorithm of this module, e.g. SM2DSA or ML_DSA_SHAKE_256)."""
    if not algorithm.startswith(("RSASSA_", "ECDSA_")):
        return None
    return _hash(algorithm).digest_size


def _new_key(key_spec: str) -> PrivateKey:
    if key_spec in RSA_BITS:
        return rsa.generate_private_key(public_exponent=_RSA_PUBLIC_EXPONENT, key_size=RSA_BITS[key_spec])
    if key_spec in CURVES:
        return ec.generate_private_key(CURVES[key_spec]())
    raise ValueError(f"not an asymmetric key spec: {key_spec!r}")


def _pkcs8(key: PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def generate_private_key(key_spec: str) -> bytes:
    """A fresh private key of ``key_spec`` as unencrypted PKCS#8 DER (wrap it before storing it).

    :raises ValueError: not an RSA or ECC key spec.
    """
    return _pkcs8(_new_key(key_spec))


def generate_key_pair(key_spec: str) -> tuple[bytes, bytes]:
    """A fresh key pair of ``key_spec``: (private key as PKCS#8 DER, public key as DER
    SubjectPublicKeyInfo), what GenerateDataKeyPair returns.

    :raises ValueError: not an RSA or ECC key spec.
    """
    key = _new_key(key_spec)
    return _pkcs8(key), public_key_der(key)


def load_private_key(der: bytes) -> PrivateKey:
    """The private key of :func:`generate_private_key`'s output.

    RSA keys are loaded without ``cryptography``'s consistency check of the key (hundreds of
    milliseconds for RSA_4096): the bytes come out of the root keyring's authenticated
    encryption, so they are exactly the key this module generated.

    :raises ValueError: not an RSA or EC private key in PKCS#8 DER.
    """
    key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("not an RSA or EC private key")
    return key


def public_key_der(key: PrivateKey) -> bytes:
    """The public key as DER ``SubjectPublicKeyInfo`` (what GetPublicKey returns)."""
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _rsa_signature_padding(algorithm: str) -> padding.AsymmetricPadding:
    if algorithm.startswith("RSASSA_PSS_"):
        digest = _hash(algorithm)
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
    if algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        return padding.PKCS1v15()
    raise ValueError(f"not an RSA signing algorithm: {algorithm!r}")


def _signature_hash(algorithm: str, prehashed: bool) -> hashes.HashAlgorithm | utils.Prehashed:
    digest = _hash(algorithm)
    return utils.Prehashed(digest) if prehashed else digest


def sign(key: PrivateKey, algorithm: str, message: bytes, *, prehashed: bool) -> bytes:
    """Sign ``message`` (or, with ``prehashed``, its digest) with ``algorithm``.

    :raises ValueError: the algorithm does not fit the key, or a digest of the wrong length.
    """
    chosen = _signature_hash(algorithm, prehashed)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, _rsa_signature_padding(algorithm), chosen)
    if not algorithm.startswith("ECDSA_"):
        raise ValueError(f"not an ECDSA algorithm: {algorithm!r}")
    return key.sign(message, ec.ECDSA(chosen))


def verify(key: PrivateKey, algorithm: str, message: bytes, signature: bytes, *, prehashed: bool) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``message`` (or of the digest ``message``)."""
    chosen = _signature_hash(algorithm, prehashed)
    public = key.public_key()
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, message, _rsa_signature_padding(algorithm), chosen)
        else:
            public.verify(signature, message, ec.ECDSA(chosen))
    except InvalidSignature:
        return False
    return True


def _oaep(algorithm: str) -> padding.OAEP:
    if not algorithm.startswith("RSAES_OAEP_"):
        raise ValueError(f"not an RSA encryption algorithm: {algorithm!r}")
    digest = _hash(algorithm)
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)


def max_plaintext(key_bits: int, algorithm: str) -> int:
    """The largest plaintext RSAES-OAEP can encrypt: k - 2*hLen - 2 bytes (RFC 8017, 7.1.1)."""
    return key_bits // 8 - 2 * _hash(algorithm).digest_size - 2


def rsa_encrypt(key: PrivateKey, algorithm: str, plaintext: bytes) -> bytes:
    """RSAES-OAEP encryption under the key's public half.

    :raises ValueError: not an RSA key, or the plaintext is too long for the key and algorithm.
    """
    public = key.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("RSAES-OAEP needs an RSA key")
    return public.encrypt(plaintext, _oaep(algorithm))


def rsa_decrypt(key: PrivateKey, algorithm: str, ciphertext: bytes) -> bytes:
    """RSAES-OAEP decryption.

    :raises InvalidCiphertext: any failure (wrong length, wrong algorithm, tampering).
    """
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidCiphertext
    try:
        return key.decrypt(ciphertext, _oaep(algorithm))
    except ValueError:
        raise InvalidCiphertext from None


def derive_shared_secret(key: PrivateKey, peer_public_der: bytes) -> bytes:
    """ECDH between ``key`` and a peer public key (DER ``SubjectPublicKeyInfo``) on the same curve.

    :raises ValueError: not an EC key, a malformed peer key, or a peer key on another curve.
    """
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("ECDH needs an elliptic-curve key")
    try:
        peer = serialization.load_der_public_key(peer_public_der)
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed public key") from exc
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != key.curve.name:
        raise ValueError("the public key is not on the key's curve")
    return key.exchange(ec.ECDH(), peer)
