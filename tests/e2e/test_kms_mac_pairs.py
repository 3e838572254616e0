"""KMS end to end: HMAC keys (GenerateMac/VerifyMac), GenerateDataKeyPair(WithoutPlaintext),
authorization of the new operations (key policy, grants), their audit records, and key
material at rest (never in plaintext)."""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from e2e_support import BACKEND, ServerProcess, database_args, fails, files_holding

MESSAGE = b"some important message"


@pytest.fixture(scope="module")
def kms(server: ServerProcess) -> Any:
    return server.client("kms")


def make_user(server: ServerProcess, name: str) -> tuple[str, Any]:
    """An IAM user without policies; returns its ARN and a KMS client acting as it."""
    iam = server.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, server.client("kms", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])


@pytest.mark.parametrize("size", [224, 256, 384, 512])
def test_generate_and_verify_mac(kms: Any, size: int) -> None:
    key = kms.create_key(KeySpec=f"HMAC_{size}", KeyUsage="GENERATE_VERIFY_MAC", Description="mac")["KeyMetadata"]
    assert (key["KeySpec"], key["KeyUsage"], key["MacAlgorithms"]) == (
        f"HMAC_{size}", "GENERATE_VERIFY_MAC", [f"HMAC_SHA_{size}"])
    assert "EncryptionAlgorithms" not in key and "CurrentKeyMaterialId" not in key
    algorithm = f"HMAC_SHA_{size}"
    answer = kms.generate_mac(KeyId=key["KeyId"], Message=MESSAGE, MacAlgorithm=algorithm)
    assert (answer["KeyId"], answer["MacAlgorithm"], len(answer["Mac"])) == (key["Arn"], algorithm, size // 8)
    assert kms.generate_mac(KeyId=key["Arn"], Message=MESSAGE, MacAlgorithm=algorithm)["Mac"] == answer["Mac"]
    verified = kms.verify_mac(KeyId=key["KeyId"], Message=MESSAGE, MacAlgorithm=algorithm, Mac=answer["Mac"])
    assert (verified["MacValid"], verified["KeyId"]) == (True, key["Arn"])
    fails(kms.verify_mac, "KMSInvalidMacException", KeyId=key["KeyId"], Message=MESSAGE + b"!",
          MacAlgorithm=algorithm, Mac=answer["Mac"])
    fails(kms.verify_mac, "KMSInvalidMacException", KeyId=key["KeyId"], Message=MESSAGE, MacAlgorithm=algorithm,
          Mac=answer["Mac"][:-1])


def test_mac_errors(kms: Any) -> None:
    mac_key = kms.create_key(KeySpec="HMAC_224", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    symmetric = kms.create_key()["KeyMetadata"]
    message = fails(kms.generate_mac, "InvalidKeyUsageException", KeyId=mac_key["KeyId"], Message=MESSAGE,
                    MacAlgorithm="HMAC_SHA_256")
    assert message == "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."
    message = fails(kms.generate_mac, "InvalidKeyUsageException", KeyId=symmetric["KeyId"], Message=MESSAGE,
                    MacAlgorithm="HMAC_SHA_224")
    assert message == f"{symmetric['Arn']} key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."
    fails(kms.generate_mac, "NotFoundException", KeyId="key_id", Message=MESSAGE, MacAlgorithm="HMAC_SHA_224")
    fails(kms.generate_mac, "ValidationException", KeyId=mac_key["KeyId"], Message=b"m" * 4097,
          MacAlgorithm="HMAC_SHA_224")
    fails(kms.generate_mac, "DryRunOperationException", KeyId=mac_key["KeyId"], Message=MESSAGE,
          MacAlgorithm="HMAC_SHA_224", DryRun=True)
    fails(kms.encrypt, "InvalidKeyUsageException", KeyId=mac_key["KeyId"], Plaintext=b"x")
    blob = kms.encrypt(KeyId=symmetric["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    fails(kms.decrypt, "IncorrectKeyException", KeyId=mac_key["KeyId"], CiphertextBlob=blob)
    fails(kms.rotate_key_on_demand, "UnsupportedOperationException", KeyId=mac_key["KeyId"])
    kms.disable_key(KeyId=mac_key["KeyId"])
    fails(kms.generate_mac, "DisabledException", KeyId=mac_key["KeyId"], Message=MESSAGE, MacAlgorithm="HMAC_SHA_224")


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"])
def test_generate_data_key_pair(kms: Any, spec: str) -> None:
    key = kms.create_key()["KeyMetadata"]
    context = {"purpose": "pairs"}
    pair = kms.generate_data_key_pair(KeyId=key["KeyId"], KeyPairSpec=spec, EncryptionContext=context)
    assert (pair["KeyId"], pair["KeyPairSpec"]) == (key["Arn"], spec)
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == pair["PublicKey"]
    opened = kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"], KeyId=key["KeyId"], EncryptionContext=context)
    assert opened["Plaintext"] == pair["PrivateKeyPlaintext"]
    fails(kms.decrypt, "InvalidCiphertextException", CiphertextBlob=pair["PrivateKeyCiphertextBlob"])
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=key["KeyId"], KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in bare
    private = serialization.load_der_private_key(kms.decrypt(CiphertextBlob=bare["PrivateKeyCiphertextBlob"])[
        "Plaintext"], password=None)
    assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    assert private.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == bare["PublicKey"]


def test_generate_data_key_pair_errors(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    for operation in (kms.generate_data_key_pair, kms.generate_data_key_pair_without_plaintext):
        fails(operation, "DryRunOperationException", KeyId=key_id, KeyPairSpec="RSA_2048", DryRun=True)
        fails(operation, "InvalidKeyUsageException", KeyId=signing["KeyId"], KeyPairSpec="RSA_2048")
        fails(operation, "UnsupportedOperationException", KeyId=key_id, KeyPairSpec="SM2")
        fails(operation, "NotFoundException", KeyId="alias/missing", KeyPairSpec="RSA_2048")


def test_new_operations_follow_the_key_policy_and_grants(server: ServerProcess, kms: Any) -> None:
    user_arn, as_user = make_user(server, "AsymmetricWorker")
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    mac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    symmetric = kms.create_key()["KeyMetadata"]
    denied = "AccessDeniedException"
    message = fails(as_user.sign, denied, KeyId=signing["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")
    assert "kms:Sign" in message
    fails(as_user.get_public_key, denied, KeyId=signing["KeyId"])
    fails(as_user.generate_mac, denied, KeyId=mac_key["KeyId"], Message=MESSAGE, MacAlgorithm="HMAC_SHA_256")
    fails(as_user.generate_data_key_pair, denied, KeyId=symmetric["KeyId"], KeyPairSpec="ECC_NIST_P256")
    # A denial comes before the DryRun answer.
    fails(as_user.sign, denied, KeyId=signing["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256",
          DryRun=True)
    kms.create_grant(KeyId=signing["KeyId"], GranteePrincipal=user_arn, Operations=["Sign", "GetPublicKey"])
    signature = as_user.sign(KeyId=signing["KeyId"], Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    assert as_user.get_public_key(KeyId=signing["KeyId"])["PublicKey"]
    fails(as_user.verify, denied, KeyId=signing["KeyId"], Message=MESSAGE, Signature=signature,
          SigningAlgorithm="ECDSA_SHA_256")
    fails(kms.create_grant, "ValidationException", KeyId=signing["KeyId"], GranteePrincipal=user_arn,
          Operations=["Decrypt"])
    fails(kms.create_grant, "ValidationException", KeyId=mac_key["KeyId"], GranteePrincipal=user_arn,
          Operations=["Sign"])
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{signing['AWSAccountId']}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["kms:GenerateMac", "kms:VerifyMac"],
         "Resource": "*"}]}
    kms.put_key_policy(KeyId=mac_key["KeyId"], PolicyName="default", Policy=json.dumps(policy))
    mac = as_user.generate_mac(KeyId=mac_key["KeyId"], Message=MESSAGE, MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert as_user.verify_mac(KeyId=mac_key["KeyId"], Message=MESSAGE, MacAlgorithm="HMAC_SHA_256",
                              Mac=mac)["MacValid"]


def _audit_text(data_dir: Path) -> str:
    texts = []
    for path in sorted((data_dir / "audit").rglob("*")):
        if path.is_file():
            raw = path.read_bytes()
            texts.append((gzip.decompress(raw) if path.suffix == ".gz" else raw).decode(errors="replace"))
    return "\n".join(texts)


def test_new_operations_are_audited_without_secrets(server: ServerProcess, kms: Any) -> None:
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    kms.sign(KeyId=signing["KeyId"], Message=b"AUDIT-SIGN-MARKER", SigningAlgorithm="ECDSA_SHA_256")
    pair = kms.generate_data_key_pair(KeyId=kms.create_key()["KeyMetadata"]["KeyId"], KeyPairSpec="ECC_NIST_P256")
    trail = server.client("cloudtrail")

    def events(name: str) -> list[dict[str, Any]]:
        found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        return [json.loads(event["CloudTrailEvent"]) for event in found["Events"]]

    signs = events("Sign")
    assert signs and signs[0]["requestParameters"]["signingAlgorithm"] == "ECDSA_SHA_256"
    assert signs[0]["readOnly"] is True and signs[0]["responseElements"] is None
    assert events("GenerateDataKeyPair")
    text = _audit_text(server.data_dir)
    assert "AUDIT-SIGN-MARKER" not in text
    assert base64.b64encode(pair["PrivateKeyPlaintext"]).decode() not in text
    assert base64.b64encode(pair["PublicKey"]).decode() not in text  # CloudTrail leaves PublicKey out too


def _private_values(server: ServerProcess) -> dict[str, bytes]:
    """Byte strings that appear in a plaintext private key (RSA modulus, EC public point), for keys made
    by CreateKey, plus the private key of a data key pair."""
    kms = server.client("kms")
    needles: dict[str, bytes] = {}
    rsa_key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=rsa_key)["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    needles["rsa modulus"] = public.public_numbers().n.to_bytes(256, "big")
    ec_key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]["KeyId"]
    point = serialization.load_der_public_key(kms.get_public_key(KeyId=ec_key)["PublicKey"])
    assert isinstance(point, ec.EllipticCurvePublicKey)
    needles["ec point"] = point.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    pair = kms.generate_data_key_pair(KeyId=kms.create_key()["KeyMetadata"]["KeyId"], KeyPairSpec="ECC_NIST_P256")
    needles["data key pair private key"] = pair["PrivateKeyPlaintext"]
    # The keys are in use: signing works, so the material is there, only not in plaintext.
    signed = kms.sign(KeyId=rsa_key, Message=MESSAGE, SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    public.verify(signed, MESSAGE, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    return needles


def test_no_private_key_material_in_plaintext_at_rest(fresh_server: Any) -> None:
    server: ServerProcess = fresh_server()
    needles = _private_values(server)
    server.stop()
    assert files_holding(server.data_dir, needles) == []
    if BACKEND == "postgres":
        dump = subprocess.run(["pg_dump", "--data-only", database_args(server.data_dir)[1]], check=True,
                              capture_output=True).stdout
        assert [name for name, needle in needles.items() if needle in dump] == []
    # The check can see such bytes: a file holding one is found.
    (server.data_dir / "probe").write_bytes(b"x" + needles["ec point"])
    assert files_holding(server.data_dir, needles) == ["ec point in probe"]
