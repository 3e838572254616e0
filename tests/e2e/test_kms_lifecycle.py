"""KMS end to end: key states (enable, disable, scheduled deletion, cancel), the background
deletion (crypto-shredding), and no plaintext or key material in the data directory."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, fails, files_holding

DAY = 86_400


@pytest.fixture(scope="module")
def kms(server: ServerProcess) -> Any:
    return server.client("kms")


def test_disable_and_enable(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    key_id = key["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    kms.disable_key(KeyId=key_id)  # idempotent, as in AWS
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("Disabled", False)
    message = fails(kms.encrypt, "DisabledException", KeyId=key_id, Plaintext=b"x")
    assert message == f"{key['Arn']} is disabled."
    fails(kms.decrypt, "DisabledException", CiphertextBlob=blob)
    fails(kms.generate_data_key, "DisabledException", KeyId=key_id, KeySpec="AES_256")
    fails(kms.generate_data_key_without_plaintext, "DisabledException", KeyId=key_id, KeySpec="AES_256")
    fails(kms.re_encrypt, "DisabledException", CiphertextBlob=blob, DestinationKeyId=key_id)
    fails(kms.enable_key_rotation, "DisabledException", KeyId=key_id)
    fails(kms.rotate_key_on_demand, "DisabledException", KeyId=key_id)
    # Management still works on a disabled key.
    kms.update_key_description(KeyId=key_id, Description="disabled")
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "k", "TagValue": "v"}])
    kms.create_alias(AliasName="alias/disabled-key", TargetKeyId=key_id)
    kms.enable_key(KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"


def test_schedule_and_cancel_deletion(kms: Any, server: ServerProcess) -> None:
    key = kms.create_key()["KeyMetadata"]
    key_id = key["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"keep me")["CiphertextBlob"]
    before = time.time()
    scheduled = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert scheduled["KeyId"] == key["Arn"]
    assert scheduled["KeyState"] == "PendingDeletion"
    assert scheduled["PendingWindowInDays"] == 7
    assert abs(scheduled["DeletionDate"].timestamp() - (before + 7 * DAY)) < 60
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Enabled"]) == ("PendingDeletion", False)
    assert metadata["PendingDeletionWindowInDays"] == 7
    assert metadata["DeletionDate"] == scheduled["DeletionDate"]
    message = fails(kms.decrypt, "KMSInvalidStateException", CiphertextBlob=blob)
    assert message == f"{key['Arn']} is pending deletion."
    invalid = "KMSInvalidStateException"
    fails(kms.encrypt, invalid, KeyId=key_id, Plaintext=b"x")
    fails(kms.generate_data_key, invalid, KeyId=key_id, KeySpec="AES_256")
    fails(kms.enable_key, invalid, KeyId=key_id)
    fails(kms.disable_key, invalid, KeyId=key_id)
    fails(kms.schedule_key_deletion, invalid, KeyId=key_id)
    fails(kms.update_key_description, invalid, KeyId=key_id, Description="x")
    fails(kms.create_alias, invalid, AliasName="alias/pending", TargetKeyId=key_id)
    fails(kms.create_grant, invalid, KeyId=key_id, GranteePrincipal="arn:aws:iam::000000000000:root",
          Operations=["Decrypt"])
    kms.get_key_policy(KeyId=key_id, PolicyName="default")  # reads still work
    assert kms.cancel_key_deletion(KeyId=key_id)["KeyId"] == key["Arn"]
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "Disabled"  # AWS restores a cancelled key disabled
    assert "DeletionDate" not in metadata
    fails(kms.cancel_key_deletion, invalid, KeyId=key_id)
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"keep me"


def test_pending_window_bounds(server: ServerProcess, kms: Any) -> None:
    raw = server.client("kms", parameter_validation=False)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for bad in (6, 31, 0):
        fails(raw.schedule_key_deletion, "ValidationException", KeyId=key_id, PendingWindowInDays=bad)
    default = kms.schedule_key_deletion(KeyId=key_id)
    assert default["PendingWindowInDays"] == 30


def _wait_for(predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_due_deletion_shreds_and_nothing_leaks_to_disk(fresh_server: Callable[..., ServerProcess]) -> None:
    # The documented test hook: the deletion clock runs 8 days ahead, sweeping every 0.2 s.
    server = fresh_server(env={"CIPHERPOST_KMS_DELETION_CLOCK_SKEW": str(8 * DAY),
                               "CIPHERPOST_KMS_SWEEP_INTERVAL": "0.2"})
    kms = server.client("kms")
    marker = b"CIPHERPOST-PLAINTEXT-MARKER-7f3a9c"
    doomed = kms.create_key()["KeyMetadata"]
    spared = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=doomed["KeyId"])
    doomed_blob = kms.encrypt(KeyId=doomed["KeyId"], Plaintext=marker, EncryptionContext={"m": "1"})["CiphertextBlob"]
    spared_blob = kms.encrypt(KeyId=spared["KeyId"], Plaintext=marker)["CiphertextBlob"]
    data_key = kms.generate_data_key(KeyId=spared["KeyId"], KeySpec="AES_256")
    kms.schedule_key_deletion(KeyId=doomed["KeyId"], PendingWindowInDays=7)   # due under the skewed clock
    kms.schedule_key_deletion(KeyId=spared["KeyId"], PendingWindowInDays=30)  # not due

    def deleted() -> bool:
        try:
            kms.describe_key(KeyId=doomed["KeyId"])
        except ClientError as error:
            return bool(error.response["Error"]["Code"] == "NotFoundException")
        return False

    _wait_for(deleted)
    fails(kms.decrypt, "NotFoundException", CiphertextBlob=doomed_blob, EncryptionContext={"m": "1"})
    fails(kms.describe_key, "NotFoundException", KeyId="alias/doomed")
    assert doomed["KeyId"] not in {k["KeyId"] for k in kms.list_keys()["Keys"]}
    assert "alias/doomed" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    # The other key was only pending: cancelling restores it, and its ciphertext with it.
    assert kms.describe_key(KeyId=spared["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=spared["KeyId"])
    kms.enable_key(KeyId=spared["KeyId"])
    assert kms.decrypt(CiphertextBlob=spared_blob)["Plaintext"] == marker
    plaintext_key = data_key["Plaintext"]
    needles = {
        "marker": marker,
        "marker-base64": base64.b64encode(marker)[:24],
        "data-key": plaintext_key,
        "data-key-base64": base64.b64encode(plaintext_key)[:24],
    }
    assert files_holding(server.data_dir, needles) == []
    server.stop()
    assert files_holding(server.data_dir, needles) == []
