"""HMAC KMS keys (crypto/kms_hmac.py) against RFC 4231's test case 2."""

from __future__ import annotations

import pytest

from cipherpost.crypto import kms_hmac

KEY = b"Jefe"
DATA = b"what do ya want for nothing?"


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("HMAC_SHA_224", "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"),
        ("HMAC_SHA_256", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        ("HMAC_SHA_384", "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                         "8e2240ca5e69e2c78b3239ecfab21649"),
        ("HMAC_SHA_512", "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                         "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
    ],
)
def test_rfc4231_case_2(algorithm: str, expected: str) -> None:
    mac = kms_hmac.generate_mac(KEY, algorithm, DATA)
    assert mac.hex() == expected
    assert kms_hmac.verify_mac(KEY, algorithm, DATA, mac)
    assert not kms_hmac.verify_mac(KEY, algorithm, DATA + b".", mac)
    assert not kms_hmac.verify_mac(b"Jeff", algorithm, DATA, mac)
    assert not kms_hmac.verify_mac(KEY, algorithm, DATA, mac[:-1])


@pytest.mark.parametrize(("spec", "size"), [("HMAC_224", 28), ("HMAC_256", 32), ("HMAC_384", 48), ("HMAC_512", 64)])
def test_key_sizes(spec: str, size: int) -> None:
    first, second = kms_hmac.generate_mac_key(spec), kms_hmac.generate_mac_key(spec)
    assert len(first) == size and first != second
