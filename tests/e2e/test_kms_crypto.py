"""KMS end to end: Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, GenerateRandom, rotation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from e2e_support import ServerProcess, fails, http_get

CONTEXT = {"patient": "1234", "purpose": "emr"}




@pytest.fixture(scope="module")
def kms(server: ServerProcess) -> Any:
    return server.client("kms")


@pytest.fixture(scope="module")
def raw(server: ServerProcess) -> Any:
    """A client that sends what botocore's own validation would refuse (the server must refuse it too)."""
    return server.client("kms", parameter_validation=False)


@pytest.fixture
def key(kms: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = kms.create_key()["KeyMetadata"]
    return metadata


def test_encrypt_decrypt_round_trip(kms: Any, key: dict[str, Any]) -> None:
    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello", EncryptionContext=CONTEXT)
    assert sealed["KeyId"] == key["Arn"]
    assert sealed["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert b"hello" not in sealed["CiphertextBlob"]
    # Context order does not matter; KeyId is optional and may be any form naming the key.
    for extra in ({}, {"KeyId": key["KeyId"]}, {"KeyId": key["Arn"]}):
        opened = kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"],
                             EncryptionContext=dict(reversed(list(CONTEXT.items()))), **extra)
        assert opened["Plaintext"] == b"hello"
        assert opened["KeyId"] == key["Arn"]
        assert opened["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    assert kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x" * 4096)["KeyId"] == key["Arn"]


def test_decrypt_failures(kms: Any, key: dict[str, Any]) -> None:
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hello", EncryptionContext=CONTEXT)["CiphertextBlob"]
    invalid = "InvalidCiphertextException"
    fails(kms.decrypt, invalid, CiphertextBlob=blob)
    fails(kms.decrypt, invalid, CiphertextBlob=blob, EncryptionContext={"patient": "9999", "purpose": "emr"})
    fails(kms.decrypt, invalid, CiphertextBlob=blob, EncryptionContext={**CONTEXT, "extra": "x"})
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    fails(kms.decrypt, invalid, CiphertextBlob=bytes(tampered), EncryptionContext=CONTEXT)
    fails(kms.decrypt, invalid, CiphertextBlob=blob[:40], EncryptionContext=CONTEXT)
    fails(kms.decrypt, invalid, CiphertextBlob=b"\x00" * 200)
    fails(kms.decrypt, invalid, CiphertextBlob=b"x")
    foreign = bytearray(blob)  # another installation's id in the header
    foreign[1:17] = bytes(16)
    fails(kms.decrypt, invalid, CiphertextBlob=bytes(foreign), EncryptionContext=CONTEXT)
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    fails(kms.decrypt, "IncorrectKeyException", CiphertextBlob=blob, EncryptionContext=CONTEXT, KeyId=other)
    fails(kms.decrypt, "NotFoundException", CiphertextBlob=blob, EncryptionContext=CONTEXT, KeyId="alias/none")
    fails(kms.decrypt, "InvalidKeyUsageException", CiphertextBlob=blob, EncryptionContext=CONTEXT,
          EncryptionAlgorithm="RSAES_OAEP_SHA_256")


def test_decrypt_with_raw_json_never_fails_with_a_500(server: ServerProcess) -> None:
    """Bodies botocore would never send: wrong types, non-base64 blobs."""
    for body in ({"CiphertextBlob": "!!!notbase64"}, {"CiphertextBlob": 5}, {"CiphertextBlob": ""},
                 {"Plaintext": "aGk=", "KeyId": 7}):
        status, _, raw = _signed_json(server, "Decrypt" if "CiphertextBlob" in body else "Encrypt", body)
        assert 400 <= status < 500, raw
        assert json.loads(raw)["__type"] in ("SerializationException", "ValidationException",
                                             "InvalidCiphertextException")


def _signed_json(server: ServerProcess, target: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=server.url + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{target}"})
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "kms", "us-east-1").add_auth(request)
    return http_get(server.url + "/", headers=dict(request.headers), data=data, method="POST")


def test_encrypt_bad_input(kms: Any, raw: Any, key: dict[str, Any]) -> None:
    fails(raw.encrypt, "ValidationException", KeyId=key["KeyId"], Plaintext=b"x" * 4097)
    fails(raw.encrypt, "ValidationException", KeyId=key["KeyId"], Plaintext=b"")
    fails(kms.encrypt, "InvalidKeyUsageException", KeyId=key["KeyId"], Plaintext=b"x",
          EncryptionAlgorithm="RSAES_OAEP_SHA_1")
    fails(kms.encrypt, "ValidationException", KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="ROT13")
    fails(kms.encrypt, "InvalidGrantTokenException", KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=["bogus"])
    fails(kms.encrypt, "NotFoundException", KeyId="alias/does-not-exist", Plaintext=b"x")
    fails(kms.encrypt, "DryRunOperationException", KeyId=key["KeyId"], Plaintext=b"x", DryRun=True)


def test_generate_data_key(kms: Any, raw: Any, key: dict[str, Any]) -> None:
    for params, size in (({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16), ({"NumberOfBytes": 1}, 1),
                         ({"NumberOfBytes": 1024}, 1024)):
        data_key = kms.generate_data_key(KeyId=key["Arn"], EncryptionContext=CONTEXT, **params)
        assert len(data_key["Plaintext"]) == size
        assert data_key["KeyId"] == key["Arn"]
        opened = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext=CONTEXT)
        assert opened["Plaintext"] == data_key["Plaintext"]
    without = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
    assert "Plaintext" not in without
    assert len(kms.decrypt(CiphertextBlob=without["CiphertextBlob"])["Plaintext"]) == 32
    for bad in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}, {"NumberOfBytes": 0}, {"NumberOfBytes": 1025}):
        fails(raw.generate_data_key, "ValidationException", KeyId=key["KeyId"], **bad)
    fails(raw.generate_data_key, "ValidationException", KeyId=key["KeyId"], KeySpec="AES_512")
    fails(kms.generate_data_key_without_plaintext, "ValidationException", KeyId=key["KeyId"])


def test_generate_random(kms: Any, raw: Any) -> None:
    first = kms.generate_random(NumberOfBytes=64)["Plaintext"]
    assert len(first) == 64
    assert first != kms.generate_random(NumberOfBytes=64)["Plaintext"]
    for bad in (0, 1025):
        fails(raw.generate_random, "ValidationException", NumberOfBytes=bad)
    fails(kms.generate_random, "UnsupportedOperationException", NumberOfBytes=8, CustomKeyStoreId="cks-1")


def test_re_encrypt(kms: Any, key: dict[str, Any]) -> None:
    destination = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"move me", EncryptionContext=CONTEXT)["CiphertextBlob"]
    moved = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=CONTEXT, DestinationKeyId=destination["Arn"],
                           DestinationEncryptionContext={"new": "context"})
    assert moved["SourceKeyId"] == key["Arn"]
    assert moved["KeyId"] == destination["Arn"]
    assert moved["SourceEncryptionAlgorithm"] == moved["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    opened = kms.decrypt(CiphertextBlob=moved["CiphertextBlob"], EncryptionContext={"new": "context"})
    assert opened["Plaintext"] == b"move me"
    assert opened["KeyId"] == destination["Arn"]
    fails(kms.re_encrypt, "InvalidCiphertextException", CiphertextBlob=blob, DestinationKeyId=destination["KeyId"])
    fails(kms.re_encrypt, "IncorrectKeyException", CiphertextBlob=blob, SourceEncryptionContext=CONTEXT,
          SourceKeyId=destination["KeyId"], DestinationKeyId=destination["KeyId"])


def test_re_encrypt_needs_both_permissions(kms: Any) -> None:
    def policy(actions: list[str]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", *actions], "Resource": "*"}]})

    no_from = kms.create_key(Policy=policy(["kms:ReEncryptTo"]), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    no_to = kms.create_key(Policy=policy(["kms:ReEncryptFrom"]), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    blob = kms.encrypt(KeyId=no_from["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    message = fails(kms.re_encrypt, "AccessDeniedException", CiphertextBlob=blob, DestinationKeyId=no_from["KeyId"])
    assert "kms:ReEncryptFrom" in message
    blob = kms.encrypt(KeyId=no_to["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    message = fails(kms.re_encrypt, "AccessDeniedException", CiphertextBlob=blob, DestinationKeyId=no_to["KeyId"])
    assert "kms:ReEncryptTo" in message


def _blob_version(blob: bytes) -> int:
    return int.from_bytes(blob[33:37], "big")  # see crypto/kms_blob.py's layout


def test_rotation_keeps_old_ciphertexts_readable(kms: Any, raw: Any, key: dict[str, Any]) -> None:
    key_id = key["KeyId"]
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is False
    assert "NextRotationDate" not in status
    old = kms.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 90
    assert status["KeyId"] == key["Arn"]
    assert "NextRotationDate" in status
    before = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert kms.rotate_key_on_demand(KeyId=key_id)["KeyId"] == key["Arn"]
    # An on-demand rotation leaves the automatic schedule alone (as AWS does) and changes the material id.
    assert kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"] == status["NextRotationDate"]
    after = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert after != before
    # Decrypt names the material that encrypted the blob; new encryptions use the current one.
    assert kms.decrypt(CiphertextBlob=old)["KeyMaterialId"] == before
    assert kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")["KeyMaterialId"] == after
    moved = kms.re_encrypt(CiphertextBlob=old, DestinationKeyId=key_id)
    assert (moved["SourceKeyMaterialId"], moved["DestinationKeyMaterialId"]) == (before, after)
    new = kms.encrypt(KeyId=key_id, Plaintext=b"after rotation")["CiphertextBlob"]
    assert (_blob_version(old), _blob_version(new)) == (1, 2)
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before rotation"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after rotation"
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [(r["KeyId"], r["RotationType"]) for r in rotations] == [(key_id, "ON_DEMAND")]
    kms.disable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    for bad in (89, 2561):
        fails(raw.enable_key_rotation, "ValidationException", KeyId=key_id, RotationPeriodInDays=bad)


def test_on_demand_rotation_limit_and_pagination(kms: Any, key: dict[str, Any]) -> None:
    key_id = key["KeyId"]
    blobs = [kms.encrypt(KeyId=key_id, Plaintext=b"v1")["CiphertextBlob"]]
    for index in range(10):
        kms.rotate_key_on_demand(KeyId=key_id)
        blobs.append(kms.encrypt(KeyId=key_id, Plaintext=f"v{index + 2}".encode())["CiphertextBlob"])
    fails(kms.rotate_key_on_demand, "LimitExceededException", KeyId=key_id)
    assert [kms.decrypt(CiphertextBlob=blob)["Plaintext"] for blob in blobs] == [
        f"v{index}".encode() for index in range(1, 12)]
    first = kms.list_key_rotations(KeyId=key_id, Limit=4)
    assert first["Truncated"] and len(first["Rotations"]) == 4
    rest = kms.list_key_rotations(KeyId=key_id, Marker=first["NextMarker"])
    assert len(rest["Rotations"]) == 6 and not rest["Truncated"]


def test_encryption_context_must_be_text(server: ServerProcess, key: dict[str, Any]) -> None:
    body = {"KeyId": key["KeyId"], "Plaintext": base64.b64encode(b"x").decode(), "EncryptionContext": {"a": 1}}
    status, _, raw = _signed_json(server, "Encrypt", body)
    assert status == 400, raw
