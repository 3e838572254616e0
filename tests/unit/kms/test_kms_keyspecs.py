"""Key specs and usages (services/kms/keyspecs.py): CreateKey's combinations and the metadata lists."""

from __future__ import annotations

from typing import Any

import pytest

from cipherpost.errors import AwsError
from cipherpost.services.kms.keyspecs import algorithm_metadata, check_key_spec


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), id="default"),
        pytest.param({"KeySpec": "RSA_3072", "KeyUsage": "SIGN_VERIFY"}, ("RSA_3072", "SIGN_VERIFY"), id="rsa-sign"),
        pytest.param({"CustomerMasterKeySpec": "RSA_4096", "KeyUsage": "ENCRYPT_DECRYPT"},
                     ("RSA_4096", "ENCRYPT_DECRYPT"), id="cmk-spec"),
        pytest.param({"KeySpec": "ECC_NIST_P521", "KeyUsage": "KEY_AGREEMENT"}, ("ECC_NIST_P521", "KEY_AGREEMENT"),
                     id="ecdh"),
        pytest.param({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "SIGN_VERIFY"}, ("ECC_SECG_P256K1", "SIGN_VERIFY"),
                     id="secp256k1"),
        pytest.param({"KeySpec": "HMAC_384", "KeyUsage": "GENERATE_VERIFY_MAC"}, ("HMAC_384", "GENERATE_VERIFY_MAC"),
                     id="hmac"),
    ],
)
def test_valid_combinations(params: dict[str, Any], expected: tuple[str, str]) -> None:
    assert check_key_spec(params) == expected


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        pytest.param({"KeySpec": "HMAC_256"}, "ValidationException",
                     "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
                     id="no-usage"),
        pytest.param({"KeySpec": "RSA_2048", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException",
                     "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048", id="rsa-ecdh"),
        pytest.param({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException",
                     "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1", id="k1-ecdh"),
        pytest.param({"KeySpec": "ECC_NIST_P256", "KeyUsage": "ENCRYPT_DECRYPT"}, "ValidationException",
                     "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256", id="ecc-encrypt"),
        pytest.param({"KeyUsage": "GENERATE_VERIFY_MAC"}, "ValidationException",
                     "KeyUsage GENERATE_VERIFY_MAC is not compatible with KeySpec SYMMETRIC_DEFAULT", id="sym-mac"),
        pytest.param({"KeySpec": "SM2", "KeyUsage": "SIGN_VERIFY"}, "UnsupportedOperationException",
                     "KeySpec SM2 is not supported by Cipherpost.", id="sm2"),
    ],
)
def test_invalid_combinations(params: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(AwsError) as exc:
        check_key_spec(params)
    assert (exc.value.code, exc.value.message) == (code, message)


@pytest.mark.parametrize(
    ("spec", "usage", "expected"),
    [
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]}),
        ("RSA_2048", "ENCRYPT_DECRYPT", {"EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]}),
        ("RSA_2048", "SIGN_VERIFY", {"SigningAlgorithms": [
            "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
            "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]}),
        ("ECC_NIST_P256", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_256"]}),
        ("ECC_NIST_P521", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_512"]}),
        ("ECC_NIST_P384", "KEY_AGREEMENT", {"KeyAgreementAlgorithms": ["ECDH"]}),
        ("HMAC_224", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_224"]}),
    ],
)
def test_algorithm_metadata(spec: str, usage: str, expected: dict[str, list[str]]) -> None:
    assert algorithm_metadata(spec, usage) == expected
