"""Key specs and key usages: which combinations exist, and the algorithms each allows (pure data).

AWS KMS Developer Guide, "Key spec reference" and the CreateKey API reference:

- ``SYMMETRIC_DEFAULT``: ENCRYPT_DECRYPT only (AES-256-GCM; ``SYMMETRIC_DEFAULT`` algorithm).
- ``RSA_2048/3072/4096``: ENCRYPT_DECRYPT (RSAES_OAEP_SHA_1/256) or SIGN_VERIFY (RSASSA_PSS_*
  and RSASSA_PKCS1_V1_5_* with SHA-256/384/512).
- ``ECC_NIST_P256/P384/P521``: SIGN_VERIFY (ECDSA with the curve's hash) or KEY_AGREEMENT (ECDH).
- ``ECC_SECG_P256K1``: SIGN_VERIFY only (ECDSA_SHA_256).
- ``HMAC_224/256/384/512``: GENERATE_VERIFY_MAC with the one matching HMAC_SHA_* algorithm.

Other key specs in the model (SM2, ML-DSA, ML-KEM, Ed25519) are valid AWS values that
Cipherpost does not implement.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from cipherpost.crypto import kms_hmac, kms_keypairs
from cipherpost.services.kms.errors import UnsupportedOperationException, ValidationException

SYMMETRIC_DEFAULT: Final = "SYMMETRIC_DEFAULT"
ENCRYPT_DECRYPT: Final = "ENCRYPT_DECRYPT"
SIGN_VERIFY: Final = "SIGN_VERIFY"
GENERATE_VERIFY_MAC: Final = "GENERATE_VERIFY_MAC"
KEY_AGREEMENT: Final = "KEY_AGREEMENT"

RSA_SPECS: Final = frozenset(kms_keypairs.RSA_BITS)
ECC_SPECS: Final = frozenset(kms_keypairs.CURVES)
HMAC_SPECS: Final = frozenset(kms_hmac.KEY_BYTES)
ASYMMETRIC_SPECS: Final = RSA_SPECS | ECC_SPECS

_RSA_SIGNING: Final = (
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
)
RSA_ENCRYPTION: Final = ("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")

#: The key usages each implemented key spec allows.
USAGES: Final[Mapping[str, tuple[str, ...]]] = {
    SYMMETRIC_DEFAULT: (ENCRYPT_DECRYPT,),
    **{spec: (ENCRYPT_DECRYPT, SIGN_VERIFY) for spec in RSA_SPECS},
    "ECC_NIST_P256": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P384": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_NIST_P521": (SIGN_VERIFY, KEY_AGREEMENT),
    "ECC_SECG_P256K1": (SIGN_VERIFY,),
    **{spec: (GENERATE_VERIFY_MAC,) for spec in HMAC_SPECS},
}

#: Signing algorithms per key spec (an ECC curve signs with its own hash only).
SIGNING: Final[Mapping[str, tuple[str, ...]]] = {
    **{spec: _RSA_SIGNING for spec in RSA_SPECS},
    "ECC_NIST_P256": ("ECDSA_SHA_256",),
    "ECC_NIST_P384": ("ECDSA_SHA_384",),
    "ECC_NIST_P521": ("ECDSA_SHA_512",),
    "ECC_SECG_P256K1": ("ECDSA_SHA_256",),
}

#: The MAC algorithm of each HMAC key spec.
MAC: Final[Mapping[str, str]] = {spec: "HMAC_SHA_" + spec.removeprefix("HMAC_") for spec in HMAC_SPECS}


def check_key_spec(params: Mapping[str, Any]) -> tuple[str, str]:
    """CreateKey's KeySpec (or CustomerMasterKeySpec) and KeyUsage; returns (key spec, key usage).

    :raises ValidationException: both spec members, no KeyUsage for a key that is not a
        symmetric encryption key, or a KeyUsage the key spec does not support (AWS's wording).
    :raises UnsupportedOperationException: a valid option Cipherpost does not implement
        (SM2, ML-DSA, ML-KEM and Ed25519 keys; custom-store or external key
        material in a custom key store; multi-Region keys).
    """
    if "KeySpec" in params and "CustomerMasterKeySpec" in params:
        raise ValidationException("You cannot specify KeySpec and CustomerMasterKeySpec in the same request.")
    spec = str(params.get("KeySpec") or params.get("CustomerMasterKeySpec") or SYMMETRIC_DEFAULT)
    if spec not in USAGES:
        raise UnsupportedOperationException(f"KeySpec {spec} is not supported by Cipherpost.")
    usage = params.get("KeyUsage")
    if usage is None and spec != SYMMETRIC_DEFAULT:
        raise ValidationException("You must specify a KeyUsage value for all KMS keys except for symmetric "
                                  "encryption keys.")
    usage = str(usage or ENCRYPT_DECRYPT)
    if usage not in USAGES[spec]:
        raise ValidationException(f"KeyUsage {usage} is not compatible with KeySpec {spec}")
    if params.get("Origin", "AWS_KMS") not in ("AWS_KMS", "EXTERNAL"):
        raise UnsupportedOperationException(f"Origin {params['Origin']} is not supported by Cipherpost.")
    for unsupported in ("CustomKeyStoreId", "XksKeyId"):
        if unsupported in params:
            raise UnsupportedOperationException(f"{unsupported} is not supported by Cipherpost.")
    if params.get("MultiRegion"):
        raise UnsupportedOperationException("Multi-Region keys are not supported by Cipherpost.")
    return spec, usage


def algorithm_metadata(key_spec: str, key_usage: str) -> dict[str, list[str]]:
    """The algorithm members of KeyMetadata and GetPublicKey for a key spec and usage.

    AWS lists only the members that apply: EncryptionAlgorithms for encryption keys,
    SigningAlgorithms for signing keys, KeyAgreementAlgorithms for key agreement keys,
    MacAlgorithms for HMAC keys.
    """
    if key_usage == ENCRYPT_DECRYPT:
        algorithms = [SYMMETRIC_DEFAULT] if key_spec == SYMMETRIC_DEFAULT else list(RSA_ENCRYPTION)
        return {"EncryptionAlgorithms": algorithms}
    if key_usage == SIGN_VERIFY:
        return {"SigningAlgorithms": list(SIGNING[key_spec])}
    if key_usage == KEY_AGREEMENT:
        return {"KeyAgreementAlgorithms": ["ECDH"]}
    return {"MacAlgorithms": [MAC[key_spec]]}


def new_material(key_spec: str) -> bytes:
    """Fresh key material for a key spec: 32 random bytes (symmetric), HMAC key bytes, or a
    PKCS#8 DER private key. RSA generation takes up to seconds: call it off the event loop."""
    if key_spec in HMAC_SPECS:
        return kms_hmac.generate_mac_key(key_spec)
    if key_spec in ASYMMETRIC_SPECS:
        return kms_keypairs.generate_private_key(key_spec)
    raise ValueError(f"not a generated key spec: {key_spec!r}")
