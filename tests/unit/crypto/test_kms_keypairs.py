"""Asymmetric KMS keys (crypto/kms_keypairs.py): checked against ``cryptography`` used directly,
with the parameters AWS documents (PSS salt = digest length, OAEP label hash = MGF1 hash)."""

from __future__ import annotations

import hashlib
from functools import cache

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from cipherpost.crypto import kms_keypairs
from cipherpost.crypto.errors import InvalidCiphertext

MESSAGE = b"test message !%$@ 1234567890"
_HASHES = {"SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512, "SHA_1": hashes.SHA1}


@cache
def key(spec: str) -> kms_keypairs.PrivateKey:
    return kms_keypairs.load_private_key(kms_keypairs.generate_private_key(spec))


def public(spec: str) -> rsa.RSAPublicKey | ec.EllipticCurvePublicKey:
    loaded = serialization.load_der_public_key(kms_keypairs.public_key_der(key(spec)))
    assert isinstance(loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return loaded


def digest_of(algorithm: str) -> hashes.HashAlgorithm:
    return next(factory() for suffix, factory in _HASHES.items() if algorithm.endswith(suffix))


def verify_independently(spec: str, algorithm: str, message: bytes, signature: bytes, prehashed: bool) -> None:
    """Raises InvalidSignature unless ``signature`` verifies with cryptography's own API."""
    digest = digest_of(algorithm)
    chosen = utils.Prehashed(digest) if prehashed else digest
    pub = public(spec)
    if isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(signature, message, ec.ECDSA(chosen))
    elif "PSS" in algorithm:
        pub.verify(signature, message, padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size), chosen)
    else:
        pub.verify(signature, message, padding.PKCS1v15(), chosen)


SIGNING_CASES = [
    pytest.param("RSA_2048", "RSASSA_PSS_SHA_256", id="rsa2048-pss256"),
    pytest.param("RSA_2048", "RSASSA_PSS_SHA_384", id="rsa2048-pss384"),
    pytest.param("RSA_2048", "RSASSA_PSS_SHA_512", id="rsa2048-pss512"),
    pytest.param("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256", id="rsa2048-pkcs256"),
    pytest.param("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_384", id="rsa2048-pkcs384"),
    pytest.param("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_512", id="rsa2048-pkcs512"),
    pytest.param("ECC_NIST_P256", "ECDSA_SHA_256", id="p256"),
    pytest.param("ECC_NIST_P384", "ECDSA_SHA_384", id="p384"),
    pytest.param("ECC_NIST_P521", "ECDSA_SHA_512", id="p521"),
    pytest.param("ECC_SECG_P256K1", "ECDSA_SHA_256", id="secp256k1"),
]


@pytest.mark.parametrize(("spec", "algorithm"), SIGNING_CASES)
def test_signatures_verify_with_cryptography_directly(spec: str, algorithm: str) -> None:
    raw = kms_keypairs.sign(key(spec), algorithm, MESSAGE, prehashed=False)
    verify_independently(spec, algorithm, MESSAGE, raw, prehashed=False)
    digest = hashlib.new(digest_of(algorithm).name, MESSAGE).digest()
    assert len(digest) == kms_keypairs.digest_size(algorithm)
    signed_digest = kms_keypairs.sign(key(spec), algorithm, digest, prehashed=True)
    verify_independently(spec, algorithm, MESSAGE, signed_digest, prehashed=False)
    assert kms_keypairs.verify(key(spec), algorithm, digest, signed_digest, prehashed=True)
    assert kms_keypairs.verify(key(spec), algorithm, MESSAGE, raw, prehashed=False)


@pytest.mark.parametrize(("spec", "algorithm"), SIGNING_CASES)
def test_bad_signatures_fail(spec: str, algorithm: str) -> None:
    signature = kms_keypairs.sign(key(spec), algorithm, MESSAGE, prehashed=False)
    assert not kms_keypairs.verify(key(spec), algorithm, MESSAGE + b"!", signature, prehashed=False)
    tampered = bytearray(signature)
    tampered[-1] ^= 1
    assert not kms_keypairs.verify(key(spec), algorithm, MESSAGE, bytes(tampered), prehashed=False)
    other = kms_keypairs.load_private_key(kms_keypairs.generate_private_key(spec))
    assert not kms_keypairs.verify(other, algorithm, MESSAGE, signature, prehashed=False)


@pytest.mark.parametrize(("algorithm", "size"), [("RSASSA_PSS_SHA_384", 48), ("ECDSA_SHA_512", 64),
                                                ("SM2DSA", None), ("ML_DSA_SHAKE_256", None)])
def test_digest_sizes(algorithm: str, size: int | None) -> None:
    assert kms_keypairs.digest_size(algorithm) == size


def test_ecdsa_algorithm_on_an_rsa_key_is_refused() -> None:
    with pytest.raises(ValueError):
        kms_keypairs.sign(key("ECC_NIST_P256"), "RSASSA_PSS_SHA_256", MESSAGE, prehashed=False)


@pytest.mark.parametrize(
    ("bits", "algorithm", "limit"),
    [
        # AWS's limits, as recorded in LocalStack's test_encrypt_validate_plaintext_size_per_key_type.
        (2048, "RSAES_OAEP_SHA_1", 214),
        (2048, "RSAES_OAEP_SHA_256", 190),
        (3072, "RSAES_OAEP_SHA_1", 342),
        (3072, "RSAES_OAEP_SHA_256", 318),
        (4096, "RSAES_OAEP_SHA_1", 470),
        (4096, "RSAES_OAEP_SHA_256", 446),
    ],
)
def test_rsa_plaintext_limits(bits: int, algorithm: str, limit: int) -> None:
    assert kms_keypairs.max_plaintext(bits, algorithm) == limit


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_decrypts_what_cryptography_encrypts(algorithm: str) -> None:
    pub = public("RSA_2048")
    assert isinstance(pub, rsa.RSAPublicKey)
    digest = digest_of(algorithm)
    plaintext = b"x" * kms_keypairs.max_plaintext(2048, algorithm)
    ciphertext = pub.encrypt(plaintext, padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None))
    assert kms_keypairs.rsa_decrypt(key("RSA_2048"), algorithm, ciphertext) == plaintext
    ours = kms_keypairs.rsa_encrypt(key("RSA_2048"), algorithm, plaintext)
    assert kms_keypairs.rsa_decrypt(key("RSA_2048"), algorithm, ours) == plaintext
    other = "RSAES_OAEP_SHA_256" if algorithm == "RSAES_OAEP_SHA_1" else "RSAES_OAEP_SHA_1"
    with pytest.raises(InvalidCiphertext):
        kms_keypairs.rsa_decrypt(key("RSA_2048"), other, ciphertext)
    with pytest.raises(InvalidCiphertext):
        kms_keypairs.rsa_decrypt(key("RSA_2048"), algorithm, ciphertext[:-1])
    with pytest.raises(InvalidCiphertext):
        kms_keypairs.rsa_decrypt(key("ECC_NIST_P256"), algorithm, ciphertext)


def test_ecdh_matches_cryptography() -> None:
    ours = key("ECC_NIST_P256")
    assert isinstance(ours, ec.EllipticCurvePrivateKey)
    peer = ec.generate_private_key(ec.SECP256R1())
    peer_der = peer.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    expected = peer.exchange(ec.ECDH(), ours.public_key())
    assert kms_keypairs.derive_shared_secret(ours, peer_der) == expected
    assert len(expected) == 32


@pytest.mark.parametrize(
    "peer",
    [
        pytest.param(b"InvalidPublicKey", id="garbage"),
        pytest.param(b"", id="empty"),
        pytest.param("ECC_NIST_P384", id="other-curve"),
        pytest.param("RSA_2048", id="rsa"),
    ],
)
def test_ecdh_refuses_bad_peer_keys(peer: bytes | str) -> None:
    der = peer if isinstance(peer, bytes) else kms_keypairs.public_key_der(key(peer))
    with pytest.raises(ValueError):
        kms_keypairs.derive_shared_secret(key("ECC_NIST_P256"), der)


def test_generated_keys_have_their_spec() -> None:
    rsa_key = key("RSA_2048")
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and rsa_key.key_size == 2048
    curves = {"ECC_NIST_P256": "secp256r1", "ECC_NIST_P384": "secp384r1", "ECC_NIST_P521": "secp521r1",
              "ECC_SECG_P256K1": "secp256k1"}
    for spec, name in curves.items():
        ec_key = key(spec)
        assert isinstance(ec_key, ec.EllipticCurvePrivateKey) and ec_key.curve.name == name
    with pytest.raises(ValueError):
        kms_keypairs.generate_private_key("HMAC_256")


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P384"])
def test_generate_key_pair_returns_matching_halves(spec: str) -> None:
    private_der, public_der = kms_keypairs.generate_key_pair(spec)
    private = serialization.load_der_private_key(private_der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == public_der
