"""KMS end to end: keys of origin EXTERNAL — GetParametersForImport, ImportKeyMaterial (both
wrapping schemes), DeleteImportedKeyMaterial, expiry, the PendingImport state, and imported
material never at rest in plaintext."""

from __future__ import annotations

import hmac
import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from e2e_support import BACKEND, ServerProcess, database_args, fails, files_holding

NEVER = {"ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}


@pytest.fixture(scope="module")
def kms(server: ServerProcess) -> Any:
    return server.client("kms")


def wrap(params: dict[str, Any], material: bytes, algorithm: str = "RSAES_OAEP_SHA_256") -> bytes:
    """Wrap key material as a customer does, with the public key of GetParametersForImport."""
    public = serialization.load_der_public_key(params["PublicKey"])
    digest = hashes.SHA256() if algorithm.endswith("256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_"):
        return public.encrypt(material, oaep)  # type: ignore[union-attr]
    ephemeral = os.urandom(32)
    return public.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, material)  # type: ignore[union-attr]


def import_material(kms: Any, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256",
                    **extra: Any) -> dict[str, Any]:
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048")
    answer: dict[str, Any] = kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                                     EncryptedKeyMaterial=wrap(params, material, algorithm),
                                                     **(extra or NEVER))
    return answer


def test_symmetric_import_lifecycle(kms: Any) -> None:
    key = kms.create_key(Origin="EXTERNAL", Description="imported")["KeyMetadata"]
    assert (key["Origin"], key["KeyState"], key["Enabled"]) == ("EXTERNAL", "PendingImport", False)
    assert "CurrentKeyMaterialId" not in key and "ExpirationModel" not in key
    message = fails(kms.encrypt, "KMSInvalidStateException", KeyId=key["KeyId"], Plaintext=b"x")
    assert message == f"{key['Arn']} is pending import."
    fails(kms.enable_key, "KMSInvalidStateException", KeyId=key["KeyId"])
    params = kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    assert params["KeyId"] == key["Arn"]
    remaining = params["ParametersValidTo"] - datetime.now(UTC)
    assert timedelta(hours=23) < remaining <= timedelta(hours=24)
    material = os.urandom(32)
    message = fails(kms.import_key_material, "ValidationException", KeyId=key["KeyId"],
                    ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrap(params, material))
    assert message == "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
    imported = kms.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"],
                                       EncryptedKeyMaterial=wrap(params, material), **NEVER)
    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"], metadata["ExpirationModel"]) == (
        "Enabled", True, "KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert metadata["CurrentKeyMaterialId"] == imported["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"imported secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported secret"

    kms.delete_imported_key_material(KeyId=key["KeyId"])
    metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("PendingImport", False)
    assert "ExpirationModel" not in metadata and metadata["CurrentKeyMaterialId"] == imported["KeyMaterialId"]
    fails(kms.decrypt, "KMSInvalidStateException", CiphertextBlob=blob)
    fails(kms.delete_imported_key_material, "KMSInvalidStateException", KeyId=key["KeyId"])
    # Only the same material may come back; then the old ciphertexts decrypt again.
    params = kms.get_parameters_for_import(KeyId=key["KeyId"], WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                           WrappingKeySpec="RSA_3072")
    fails(kms.import_key_material, "IncorrectKeyMaterialException", KeyId=key["KeyId"],
          ImportToken=params["ImportToken"], EncryptedKeyMaterial=wrap(params, os.urandom(32), "RSAES_OAEP_SHA_1"),
          **NEVER)
    kms.import_key_material(KeyId=key["KeyId"], ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=wrap(params, material, "RSAES_OAEP_SHA_1"), **NEVER)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported secret"


def test_import_errors(kms: Any) -> None:
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    other_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    good = wrap(params, os.urandom(32))
    fails(kms.import_key_material, "InvalidImportTokenException", KeyId=other_id, ImportToken=params["ImportToken"],
          EncryptedKeyMaterial=good, **NEVER)
    fails(kms.import_key_material, "InvalidImportTokenException", KeyId=key_id, ImportToken=b"forged",
          EncryptedKeyMaterial=good, **NEVER)
    fails(kms.import_key_material, "InvalidCiphertextException", KeyId=key_id, ImportToken=params["ImportToken"],
          EncryptedKeyMaterial=good[:-1] + bytes([good[-1] ^ 1]), **NEVER)
    fails(kms.import_key_material, "IncorrectKeyMaterialException", KeyId=key_id, ImportToken=params["ImportToken"],
          EncryptedKeyMaterial=wrap(params, os.urandom(16)), **NEVER)
    fails(kms.import_key_material, "ValidationException", KeyId=key_id, ImportToken=params["ImportToken"],
          EncryptedKeyMaterial=good, ExpirationModel="KEY_MATERIAL_EXPIRES",
          ValidTo=datetime.now(UTC) - timedelta(days=1))
    fails(kms.get_parameters_for_import, "UnsupportedOperationException", KeyId=key_id,
          WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="SM2")
    fails(kms.rotate_key_on_demand, "KMSInvalidStateException", KeyId=key_id)
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"], EncryptedKeyMaterial=good, **NEVER)
    fails(kms.enable_key_rotation, "UnsupportedOperationException", KeyId=key_id)
    message = fails(kms.rotate_key_on_demand, "KMSInvalidStateException", KeyId=key_id)
    assert message.startswith("No available key material pending rotation for the key: ")


def test_asymmetric_import_with_rsa_aes_key_wrap(kms: Any) -> None:
    key = kms.create_key(Origin="EXTERNAL", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    assert key["SigningAlgorithms"] == ["ECDSA_SHA_256"]
    fails(kms.get_public_key, "KMSInvalidStateException", KeyId=key["KeyId"])
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    wrong_curve = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(ClientError) as exc:
        import_material(kms, key["KeyId"], wrong_curve, "RSA_AES_KEY_WRAP_SHA_256")
    assert exc.value.response["Error"]["Code"] == "IncorrectKeyMaterialException"
    import_material(kms, key["KeyId"], der, "RSA_AES_KEY_WRAP_SHA_256")
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    assert kms.get_public_key(KeyId=key["KeyId"])["PublicKey"] == public
    signature = kms.sign(KeyId=key["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    private.public_key().verify(signature, b"m", ec.ECDSA(hashes.SHA256()))


def test_hmac_import(kms: Any) -> None:
    key_id = kms.create_key(Origin="EXTERNAL", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")[
        "KeyMetadata"]["KeyId"]
    material = os.urandom(40)
    import_material(kms, key_id, material, "RSA_AES_KEY_WRAP_SHA_1")
    expected = hmac.new(material, b"m", "sha256").digest()
    assert kms.generate_mac(KeyId=key_id, Message=b"m", MacAlgorithm="HMAC_SHA_256")["Mac"] == expected


def test_cancelled_deletion_of_a_key_without_material_waits_for_import(kms: Any) -> None:
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"


def test_expiry_and_no_imported_material_at_rest(fresh_server: Any) -> None:
    server: ServerProcess = fresh_server(env={"CIPHERPOST_KMS_SWEEP_INTERVAL": "0.2"})
    kms = server.client("kms")
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    material = os.urandom(32)
    valid_to = datetime.now(UTC) + timedelta(seconds=3)
    import_material(kms, key_id, material, ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert abs((metadata["ValidTo"] - valid_to).total_seconds()) < 1
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"until it expires")["CiphertextBlob"]
    deadline = time.monotonic() + 20
    while kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] != "PendingImport":
        assert time.monotonic() < deadline, "the imported key material did not expire"
        time.sleep(0.2)
    fails(kms.decrypt, "KMSInvalidStateException", CiphertextBlob=blob)
    import_material(kms, key_id, material)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"until it expires"
    server.stop()
    needles = {"imported material": material}
    assert files_holding(server.data_dir, needles) == []
    if BACKEND == "postgres":
        dump = subprocess.run(["pg_dump", "--data-only", database_args(server.data_dir)[1]], check=True,
                              capture_output=True).stdout
        assert material not in dump
