"""KMS with clients nobody here wrote: the AWS CLI and the AWS Encryption SDK for Python."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import aws_encryption_sdk  # type: ignore[import-untyped]
import botocore.session
import pytest
from aws_encryption_sdk import CommitmentPolicy
from e2e_support import REGION, ServerProcess


def _cli(server: ServerProcess, *args: str) -> dict[str, object]:
    env = {
        **os.environ,
        "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "credentials"),
        "AWS_PROFILE": "cipherpost",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
    }
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "kms", *args, "--endpoint-url", server.url, "--output", "json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout) if out.stdout.strip() else {}
    return result


def test_aws_cli(server: ServerProcess, tmp_path: Path) -> None:
    created = _cli(server, "create-key", "--description", "from the CLI",
                   "--tags", "TagKey=origin,TagValue=cli")
    metadata = created["KeyMetadata"]
    assert isinstance(metadata, dict)
    assert metadata["Description"] == "from the CLI"
    key_id = str(metadata["KeyId"])
    _cli(server, "create-alias", "--alias-name", "alias/cli", "--target-key-id", key_id)
    described = _cli(server, "describe-key", "--key-id", "alias/cli")["KeyMetadata"]
    assert isinstance(described, dict) and described["KeyId"] == key_id
    # Binary parameters go in as fileb:// (AWS CLI v1); blobs come out base64-encoded.
    (tmp_path / "plain").write_bytes(b"hello from the cli")
    sealed = _cli(server, "encrypt", "--key-id", "alias/cli", "--plaintext", f"fileb://{tmp_path / 'plain'}",
                  "--encryption-context", "app=cli")
    assert sealed["KeyId"] == metadata["Arn"]
    (tmp_path / "sealed").write_bytes(base64.b64decode(str(sealed["CiphertextBlob"])))
    opened = _cli(server, "decrypt", "--ciphertext-blob", f"fileb://{tmp_path / 'sealed'}",
                  "--encryption-context", "app=cli")
    assert base64.b64decode(str(opened["Plaintext"])) == b"hello from the cli"


def test_aws_encryption_sdk(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Encryption SDK's KMS master key provider builds its own boto3 clients per region;
    botocore's standard ``AWS_ENDPOINT_URL_KMS`` points them at Cipherpost."""
    key = server.client("kms").create_key(Description="encryption sdk")["KeyMetadata"]
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.url)
    session = botocore.session.Session()
    session.set_credentials(server.access_key_id, server.secret_access_key)
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key["Arn"]], botocore_session=session)
    client = aws_encryption_sdk.EncryptionSDKClient(commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    payload = b"patient 1234: blood type AB+ " * 100
    ciphertext, header = client.encrypt(source=payload, key_provider=provider,
                                        encryption_context={"purpose": "emr"})
    assert payload not in ciphertext
    assert header.encryption_context["purpose"] == "emr"
    assert [k.key_provider.key_info.decode() for k in header.encrypted_data_keys] == [key["Arn"]]
    decrypted, decrypted_header = client.decrypt(source=ciphertext, key_provider=provider)
    assert decrypted == payload
    assert decrypted_header.encryption_context["purpose"] == "emr"
    # Disabling the key at Cipherpost stops the SDK from decrypting at once.
    server.client("kms").disable_key(KeyId=key["KeyId"])
    fresh = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[key["Arn"]], botocore_session=session)
    with pytest.raises(aws_encryption_sdk.exceptions.AWSEncryptionSDKClientError):
        client.decrypt(source=ciphertext, key_provider=fresh)
