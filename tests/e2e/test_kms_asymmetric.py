"""KMS end to end with RSA and ECC keys: CreateKey/DescribeKey metadata, GetPublicKey, Sign/Verify,
RSAES-OAEP Encrypt/Decrypt/ReEncrypt, DeriveSharedSecret, and the errors AWS answers with."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from e2e_support import ServerProcess, fails

MESSAGE = b"test message !%$@ 1234567890"
RSA_SIGNING = ["RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
               "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]
_HASHES = {"SHA_1": hashes.SHA1, "SHA_256": hashes.SHA256, "SHA_384": hashes.SHA384, "SHA_512": hashes.SHA512}


@pytest.fixture(scope="module")
def kms(server: ServerProcess) -> Any:
    return server.client("kms")


@pytest.fixture(scope="module")
def keys(kms: Any) -> dict[str, dict[str, Any]]:
    """One key per (spec, usage) the tests share; RSA generation is slow, so they are made once."""
    made = {}
    for name, spec, usage in [("rsa-sign", "RSA_2048", "SIGN_VERIFY"), ("rsa-encrypt", "RSA_2048", "ENCRYPT_DECRYPT"),
                              ("p256", "ECC_NIST_P256", "SIGN_VERIFY"), ("p384", "ECC_NIST_P384", "SIGN_VERIFY"),
                              ("p521", "ECC_NIST_P521", "SIGN_VERIFY"), ("k1", "ECC_SECG_P256K1", "SIGN_VERIFY"),
                              ("ecdh", "ECC_NIST_P256", "KEY_AGREEMENT"), ("ecdh-2", "ECC_NIST_P256", "KEY_AGREEMENT")]:
        made[name] = kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
    made["symmetric"] = kms.create_key()["KeyMetadata"]
    return made


def _hash(algorithm: str) -> hashes.HashAlgorithm:
    return next(factory() for suffix, factory in _HASHES.items() if algorithm.endswith(suffix))


def _public(kms: Any, key_id: str) -> Any:
    return serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])


def test_metadata_lists_the_algorithms_of_spec_and_usage(kms: Any, keys: dict[str, dict[str, Any]]) -> None:
    rsa_sign = kms.describe_key(KeyId=keys["rsa-sign"]["KeyId"])["KeyMetadata"]
    assert (rsa_sign["KeySpec"], rsa_sign["CustomerMasterKeySpec"], rsa_sign["KeyUsage"]) == (
        "RSA_2048", "RSA_2048", "SIGN_VERIFY")
    assert rsa_sign["SigningAlgorithms"] == RSA_SIGNING
    assert "EncryptionAlgorithms" not in rsa_sign and "CurrentKeyMaterialId" not in rsa_sign
    assert keys["rsa-encrypt"]["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    assert keys["p384"]["SigningAlgorithms"] == ["ECDSA_SHA_384"]
    assert keys["k1"]["SigningAlgorithms"] == ["ECDSA_SHA_256"]
    assert keys["ecdh"]["KeyAgreementAlgorithms"] == ["ECDH"]
    assert "SigningAlgorithms" not in keys["ecdh"]
    assert len(keys["symmetric"]["CurrentKeyMaterialId"]) == 64
    listed = {key["KeyId"] for key in kms.list_keys(Limit=1000)["Keys"]}
    assert {key["KeyId"] for key in keys.values()} <= listed


def test_get_public_key(kms: Any, keys: dict[str, dict[str, Any]]) -> None:
    answer = kms.get_public_key(KeyId=keys["rsa-encrypt"]["Arn"])
    assert answer["KeyId"] == keys["rsa-encrypt"]["Arn"]
    assert (answer["KeySpec"], answer["KeyUsage"]) == ("RSA_2048", "ENCRYPT_DECRYPT")
    assert answer["EncryptionAlgorithms"] == ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    public = serialization.load_der_public_key(answer["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    curve = _public(kms, keys["p521"]["KeyId"])
    assert isinstance(curve, ec.EllipticCurvePublicKey) and curve.curve.name == "secp521r1"
    assert kms.get_public_key(KeyId=keys["ecdh"]["KeyId"])["KeyAgreementAlgorithms"] == ["ECDH"]
    fails(kms.get_public_key, "UnsupportedOperationException", KeyId=keys["symmetric"]["KeyId"])
    fails(kms.get_public_key, "NotFoundException", KeyId="alias/nothing-here")


@pytest.mark.parametrize(
    ("name", "algorithm"),
    [*[pytest.param("rsa-sign", algorithm, id=algorithm) for algorithm in RSA_SIGNING],
     pytest.param("p256", "ECDSA_SHA_256", id="p256"), pytest.param("p384", "ECDSA_SHA_384", id="p384"),
     pytest.param("p521", "ECDSA_SHA_512", id="p521"), pytest.param("k1", "ECDSA_SHA_256", id="secp256k1")],
)
def test_sign_and_verify(kms: Any, keys: dict[str, dict[str, Any]], name: str, algorithm: str) -> None:
    key_id = keys[name]["KeyId"]
    digest = hashlib.new(_hash(algorithm).name, MESSAGE).digest()
    public = _public(kms, key_id)
    for message_type, message in (("RAW", MESSAGE), ("DIGEST", digest)):
        signed = kms.sign(KeyId=key_id, Message=message, MessageType=message_type, SigningAlgorithm=algorithm)
        assert (signed["KeyId"], signed["SigningAlgorithm"]) == (keys[name]["Arn"], algorithm)
        # Anyone with the public key can verify it, with AWS's parameters (PSS salt = digest length).
        chosen = utils.Prehashed(_hash(algorithm)) if message_type == "DIGEST" else _hash(algorithm)
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signed["Signature"], message, ec.ECDSA(chosen))
        else:
            scheme = (padding.PSS(mgf=padding.MGF1(_hash(algorithm)), salt_length=_hash(algorithm).digest_size)
                      if "PSS" in algorithm else padding.PKCS1v15())
            public.verify(signed["Signature"], message, scheme, chosen)
        verified = kms.verify(KeyId=key_id, Message=message, MessageType=message_type,
                              Signature=signed["Signature"], SigningAlgorithm=algorithm)
        assert verified["SignatureValid"] is True
    fails(kms.verify, "KMSInvalidSignatureException", KeyId=key_id, Message=b"another message",
          Signature=signed["Signature"], SigningAlgorithm=algorithm)
    fails(kms.sign, "ValidationException", KeyId=key_id, Message=MESSAGE, MessageType="DIGEST",
          SigningAlgorithm=algorithm)


def test_signature_of_one_key_fails_on_another(kms: Any, keys: dict[str, dict[str, Any]]) -> None:
    signature = kms.sign(KeyId=keys["p256"]["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    fails(kms.verify, "KMSInvalidSignatureException", KeyId=keys["k1"]["KeyId"], Message=MESSAGE,
          Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
    fails(kms.verify, "KMSInvalidSignatureException", KeyId=keys["p256"]["KeyId"], Message=MESSAGE,
          Signature=b"not a signature", SigningAlgorithm="ECDSA_SHA_256")
    # AWS sends this error without any message member.
    with pytest.raises(ClientError) as exc:
        kms.verify(KeyId=keys["k1"]["KeyId"], Message=MESSAGE, Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
    assert exc.value.response["Error"]["Message"] == "" and "message" not in exc.value.response


def test_sign_errors(kms: Any, keys: dict[str, dict[str, Any]]) -> None:
    usage = "InvalidKeyUsageException"
    message = fails(kms.sign, usage, KeyId=keys["rsa-encrypt"]["KeyId"], Message=MESSAGE,
                    SigningAlgorithm="RSASSA_PSS_SHA_256")
    assert message == f"{keys['rsa-encrypt']['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for Sign."
    fails(kms.sign, usage, KeyId=keys["symmetric"]["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
    message = fails(kms.sign, usage, KeyId=keys["p256"]["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_384")
    assert message == "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256."
    fails(kms.sign, usage, KeyId=keys["rsa-sign"]["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
    for algorithm in ("SM2DSA", "ML_DSA_SHAKE_256"):  # valid values no key here supports (was a 500 on DIGEST)
        fails(kms.sign, usage, KeyId=keys["p256"]["KeyId"], Message=bytes(32), MessageType="DIGEST",
              SigningAlgorithm=algorithm)
    fails(kms.sign, "ValidationException", KeyId=keys["p256"]["KeyId"], Message=b"x" * 4097,
          SigningAlgorithm="ECDSA_SHA_256")
    with pytest.raises(ClientError) as exc:
        kms.sign(KeyId=keys["p256"]["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256", DryRun=True)
    # AWS answers 400 (botocore's model says 412).
    assert exc.value.response["Error"]["Code"] == "DryRunOperationException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # DryRun reports what would have failed first.
    fails(kms.sign, usage, KeyId=keys["p256"]["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_512",
          DryRun=True)


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"])
def test_rsa_encrypt_decrypt(kms: Any, keys: dict[str, dict[str, Any]], algorithm: str) -> None:
    key = keys["rsa-encrypt"]
    limit = {"RSAES_OAEP_SHA_1": 214, "RSAES_OAEP_SHA_256": 190}[algorithm]
    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"p" * limit, EncryptionAlgorithm=algorithm)
    assert (sealed["KeyId"], sealed["EncryptionAlgorithm"]) == (key["Arn"], algorithm)
    opened = kms.decrypt(KeyId=key["KeyId"], CiphertextBlob=sealed["CiphertextBlob"], EncryptionAlgorithm=algorithm)
    assert (opened["Plaintext"], opened["EncryptionAlgorithm"]) == (b"p" * limit, algorithm)
    assert "KeyMaterialId" not in opened  # symmetric keys only
    # Whoever holds the public key encrypts offline; KMS decrypts.
    digest = _hash(algorithm)
    offline = _public(kms, key["KeyId"]).encrypt(b"offline", padding.OAEP(padding.MGF1(digest), digest, None))
    assert kms.decrypt(KeyId=key["Arn"], CiphertextBlob=offline, EncryptionAlgorithm=algorithm)["Plaintext"] == (
        b"offline")
    message = fails(kms.encrypt, "ValidationException", KeyId=key["KeyId"], Plaintext=b"p" * (limit + 1),
                    EncryptionAlgorithm=algorithm)
    assert message == f"Algorithm {algorithm} and key spec RSA_2048 cannot encrypt data larger than {limit} bytes."


def test_rsa_encryption_errors(kms: Any, keys: dict[str, dict[str, Any]]) -> None:
    key_id = keys["rsa-encrypt"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"hi", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    fails(kms.decrypt, "InvalidCiphertextException", KeyId=key_id, CiphertextBlob=blob,
          EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    fails(kms.decrypt, "InvalidCiphertextException", KeyId=key_id, CiphertextBlob=blob[:-1],
          EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    fails(kms.decrypt, "InvalidKeyUsageException", KeyId=key_id, CiphertextBlob=blob)  # SYMMETRIC_DEFAULT
    fails(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=blob)  # asymmetric Decrypt needs KeyId
    fails(kms.encrypt, "InvalidKeyUsageException", KeyId=key_id, Plaintext=b"hi")  # SYMMETRIC_DEFAULT
    message = fails(kms.encrypt, "InvalidKeyUsageException", KeyId=keys["rsa-sign"]["KeyId"], Plaintext=b"hi",
                    EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    assert message == f"{keys['rsa-sign']['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt."
    fails(kms.encrypt, "InvalidKeyUsageException", KeyId=keys["symmetric"]["KeyId"], Plaintext=b"hi",
          EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    for operation in (kms.generate_data_key, kms.generate_data_key_without_plaintext):
        fails(operation, "InvalidKeyUsageException", KeyId=key_id, KeySpec="AES_256")
    fails(kms.encrypt, "DryRunOperationException", KeyId=key_id, Plaintext=b"hi",
          EncryptionAlgorithm="RSAES_OAEP_SHA_1", DryRun=True)


def test_re_encrypt_between_rsa_and_symmetric_keys(kms: Any, keys: dict[str, dict[str, Any]]) -> None:
    rsa_key, symmetric = keys["rsa-encrypt"], keys["symmetric"]
    other = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    blob = kms.encrypt(KeyId=rsa_key["KeyId"], Plaintext=b"move me", EncryptionAlgorithm="RSAES_OAEP_SHA_256")
    moved = kms.re_encrypt(CiphertextBlob=blob["CiphertextBlob"], SourceKeyId=rsa_key["KeyId"],
                           SourceEncryptionAlgorithm="RSAES_OAEP_SHA_256", DestinationKeyId=other["KeyId"],
                           DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert (moved["SourceKeyId"], moved["KeyId"]) == (rsa_key["Arn"], other["Arn"])
    assert (moved["SourceEncryptionAlgorithm"], moved["DestinationEncryptionAlgorithm"]) == (
        "RSAES_OAEP_SHA_256", "RSAES_OAEP_SHA_1")
    assert kms.decrypt(KeyId=other["KeyId"], CiphertextBlob=moved["CiphertextBlob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"] == b"move me"
    to_symmetric = kms.re_encrypt(CiphertextBlob=moved["CiphertextBlob"], SourceKeyId=other["KeyId"],
                                  SourceEncryptionAlgorithm="RSAES_OAEP_SHA_1", DestinationKeyId=symmetric["KeyId"])
    assert kms.decrypt(CiphertextBlob=to_symmetric["CiphertextBlob"])["Plaintext"] == b"move me"
    back = kms.re_encrypt(CiphertextBlob=to_symmetric["CiphertextBlob"], DestinationKeyId=rsa_key["KeyId"],
                          DestinationEncryptionAlgorithm="RSAES_OAEP_SHA_1")
    assert kms.decrypt(KeyId=rsa_key["KeyId"], CiphertextBlob=back["CiphertextBlob"],
                       EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"] == b"move me"
    fails(kms.re_encrypt, "InvalidKeyUsageException", CiphertextBlob=to_symmetric["CiphertextBlob"],
          DestinationKeyId=keys["p256"]["KeyId"])
    message = fails(kms.re_encrypt, "IncorrectKeyException", CiphertextBlob=to_symmetric["CiphertextBlob"],
                    SourceKeyId=keys["p256"]["KeyId"], DestinationKeyId=keys["p256"]["KeyId"])
    assert message == "The key ID in the request does not identify a CMK that can perform this operation."


def test_derive_shared_secret(kms: Any, keys: dict[str, dict[str, Any]]) -> None:
    first, second = keys["ecdh"], keys["ecdh-2"]
    first_public = kms.get_public_key(KeyId=first["KeyId"])["PublicKey"]
    second_public = kms.get_public_key(KeyId=second["KeyId"])["PublicKey"]
    answer = kms.derive_shared_secret(KeyId=first["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=second_public)
    assert (answer["KeyId"], answer["KeyAgreementAlgorithm"], answer["KeyOrigin"]) == (first["Arn"], "ECDH", "AWS_KMS")
    assert kms.derive_shared_secret(KeyId=second["KeyId"], KeyAgreementAlgorithm="ECDH",
                                    PublicKey=first_public)["SharedSecret"] == answer["SharedSecret"]
    local = ec.generate_private_key(ec.SECP256R1())
    local_der = local.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    peer = serialization.load_der_public_key(first_public)
    assert isinstance(peer, ec.EllipticCurvePublicKey)
    assert kms.derive_shared_secret(KeyId=first["KeyId"], KeyAgreementAlgorithm="ECDH",
                                    PublicKey=local_der)["SharedSecret"] == local.exchange(ec.ECDH(), peer)
    fails(kms.derive_shared_secret, "ValidationException", KeyId=first["KeyId"], KeyAgreementAlgorithm="ECDH",
          PublicKey=b"InvalidPublicKey")
    p384 = kms.get_public_key(KeyId=keys["p384"]["KeyId"])["PublicKey"]
    fails(kms.derive_shared_secret, "ValidationException", KeyId=first["KeyId"], KeyAgreementAlgorithm="ECDH",
          PublicKey=p384)
    message = fails(kms.derive_shared_secret, "InvalidKeyUsageException", KeyId=keys["p256"]["KeyId"],
                    KeyAgreementAlgorithm="ECDH", PublicKey=second_public)
    assert message == f"{keys['p256']['Arn']} key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret."
    fails(kms.derive_shared_secret, "InvalidKeyUsageException", KeyId=keys["symmetric"]["KeyId"],
          KeyAgreementAlgorithm="ECDH", PublicKey=second_public)
    fails(kms.derive_shared_secret, "DryRunOperationException", KeyId=first["KeyId"], KeyAgreementAlgorithm="ECDH",
          PublicKey=second_public, DryRun=True)


def test_rotation_is_refused_and_state_is_enforced(kms: Any) -> None:
    key_id = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    for operation in (kms.enable_key_rotation, kms.disable_key_rotation, kms.rotate_key_on_demand):
        fails(operation, "UnsupportedOperationException", KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.disable_key(KeyId=key_id)
    fails(kms.sign, "DisabledException", KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
    fails(kms.get_public_key, "DisabledException", KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    assert kms.sign(KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    fails(kms.sign, "KMSInvalidStateException", KeyId=key_id, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
