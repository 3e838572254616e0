"""Regenerate ``vectors.json``, the known-answer vectors for the crypto formats.

Run from the repository root::

    .venv/bin/python tests/unit/crypto/generate_vectors.py > tests/unit/crypto/vectors.json

Inputs are fixed below; outputs come from the ``*_from_parts`` seams. The file is checked
in, so a change to any byte layout makes ``test_vectors.py`` fail until the format version
is bumped (or the change is deliberate and the vectors are regenerated in the same commit).

The ``aead`` section also carries an independent anchor: test case 16 of the GCM
specification (McGrew and Viega, "The Galois/Counter Mode of Operation", AES-256, 60-byte
plaintext, 20-byte AAD). Its expected ciphertext and tag are the published values, not
our output, so that case checks ``seal_from_parts`` against the standard itself.
"""

from __future__ import annotations

import json
import sys

from cipherpost.crypto import aead, envelope, kms_blob
from cipherpost.crypto.keyring import Keyring

KEY_A = bytes(range(32))
KEY_B = bytes(range(32, 64))
NONCE = bytes.fromhex("000102030405060708090a0b")
INSTALLATION = bytes.fromhex("0f0e0d0c0b0a09080706050403020100")
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"

GCM_TC16 = {
    "name": "gcm-spec-test-case-16",
    "key": "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    "nonce": "cafebabefacedbaddecaf888",
    "plaintext": "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    "aad": "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    "sealed": "01cafebabefacedbaddecaf888"
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
    "76fc6ece0f4e1768cddf8853bb2d551b",
}


def _aead() -> list[dict[str, str]]:
    cases = [("empty", b"", b""), ("short-with-aad", b"hello, cipherpost", b"header")]
    out = [
        {
            "name": name,
            "key": KEY_A.hex(),
            "nonce": NONCE.hex(),
            "plaintext": pt.hex(),
            "aad": aad.hex(),
            "sealed": aead.seal_from_parts(KEY_A, NONCE, pt, aad).hex(),
        }
        for name, pt, aad in cases
    ]
    return [GCM_TC16, *out]


def _keyring() -> list[dict[str, str]]:
    purpose = f"kms-key-material:{KEY_ID}:1"
    wrapped = Keyring(KEY_A).wrap_from_parts(KEY_B, purpose=purpose, nonce=NONCE)
    return [
        {
            "name": "kms-key-material",
            "root_key": KEY_A.hex(),
            "root_key_id": Keyring(KEY_A).key_id,
            "plaintext_key": KEY_B.hex(),
            "purpose": purpose,
            "nonce": NONCE.hex(),
            "wrapped": wrapped.hex(),
        }
    ]


def _kms_blob() -> list[dict[str, object]]:
    salt = bytes(range(100, 116))
    cases: list[tuple[str, int, bytes, dict[str, str]]] = [
        ("data-key-no-context", 1, KEY_B, {}),
        ("sqs-context", 7, b"message body", {"aws:sqs:arn": "arn:aws:sqs:us-east-1:000000000000:q", "b": "é"}),
    ]
    return [
        {
            "name": name,
            "key_id": KEY_ID,
            "version": version,
            "key_material": KEY_A.hex(),
            "plaintext": pt.hex(),
            "context": context,
            "installation_id": INSTALLATION.hex(),
            "salt": salt.hex(),
            "nonce": NONCE.hex(),
            "blob": kms_blob.encrypt_blob_from_parts(
                key_id=KEY_ID,
                version=version,
                key_material=KEY_A,
                plaintext=pt,
                context=context,
                installation_id=INSTALLATION,
                salt=salt,
                nonce=NONCE,
            ).hex(),
        }
        for name, version, pt, context in cases
    ]


def _envelope() -> list[dict[str, str]]:
    blob = bytes.fromhex(_kms_blob()[0]["blob"])  # type: ignore[arg-type]
    data_key = envelope.DataKey(plaintext=KEY_B, ciphertext_blob=blob, key_id=KEY_ID)
    arn = "arn:aws:sqs:us-east-1:000000000000:patient-records"
    body = b'{"patient": "redacted"}'
    sealed = envelope.seal_body_from_parts(data_key, body, resource_arn=arn, nonce=NONCE)
    return [
        {
            "name": "sqs-body",
            "data_key": KEY_B.hex(),
            "ciphertext_blob": blob.hex(),
            "resource_arn": arn,
            "body": body.hex(),
            "nonce": NONCE.hex(),
            "sealed": sealed.hex(),
        }
    ]


def main() -> None:
    vectors = {
        "_generated_by": "tests/unit/crypto/generate_vectors.py (see its docstring)",
        "aead": _aead(),
        "keyring_wrap": _keyring(),
        "kms_blob": _kms_blob(),
        "envelope": _envelope(),
    }
    json.dump(vectors, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
