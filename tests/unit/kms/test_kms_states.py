"""The key state machine table (services/kms/states.py)."""

from __future__ import annotations

import pytest

from cipherpost.services.kms.errors import DisabledException, KMSInvalidStateException
from cipherpost.services.kms.states import TRANSITIONS, check_state, state_error

ARN = "arn:aws:kms:us-east-1:000000000000:key/k"
CRYPTO = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext"]
ANY = ["DescribeKey", "GetKeyPolicy", "ListKeyPolicies", "ListResourceTags", "ListGrants", "GetKeyRotationStatus",
       "RetireGrant", "RevokeGrant", "PutKeyPolicy"]


@pytest.mark.parametrize("op", CRYPTO + ANY + ["EnableKey", "DisableKey", "ScheduleKeyDeletion", "CreateGrant"])
def test_enabled_allows_everything_but_cancel(op: str) -> None:
    check_state(op, "Enabled", ARN)


@pytest.mark.parametrize("op", [*CRYPTO, "EnableKeyRotation", "DisableKeyRotation", "RotateKeyOnDemand"])
def test_disabled_refuses_crypto_with_disabled_exception(op: str) -> None:
    error = state_error(op, "Disabled", ARN)
    assert isinstance(error, DisabledException)
    assert error.message == f"{ARN} is disabled."


@pytest.mark.parametrize("op", ["EnableKey", "DisableKey", "ScheduleKeyDeletion", "CreateGrant", "TagResource",
                                "UpdateKeyDescription", "CreateAlias", *ANY])
def test_disabled_allows_management(op: str) -> None:
    check_state(op, "Disabled", ARN)


@pytest.mark.parametrize("op", [*CRYPTO, "EnableKey", "DisableKey", "ScheduleKeyDeletion", "CreateGrant",
                                "TagResource", "UntagResource", "UpdateKeyDescription", "CreateAlias",
                                "EnableKeyRotation", "RotateKeyOnDemand"])
def test_pending_deletion_refuses_with_invalid_state(op: str) -> None:
    error = state_error(op, "PendingDeletion", ARN)
    assert isinstance(error, KMSInvalidStateException)
    assert error.message == f"{ARN} is pending deletion."


@pytest.mark.parametrize("op", ANY)
def test_pending_deletion_still_allows_reads_and_cleanup(op: str) -> None:
    check_state(op, "PendingDeletion", ARN)


@pytest.mark.parametrize("state", ["Enabled", "Disabled"])
def test_cancel_needs_pending_deletion(state: str) -> None:
    with pytest.raises(KMSInvalidStateException):
        check_state("CancelKeyDeletion", state, ARN)
    check_state("CancelKeyDeletion", "PendingDeletion", ARN)


def test_transitions_follow_aws() -> None:
    assert TRANSITIONS == {
        "EnableKey": "Enabled",
        "DisableKey": "Disabled",
        "ScheduleKeyDeletion": "PendingDeletion",
        "CancelKeyDeletion": "Disabled",
    }


@pytest.mark.parametrize("op", [*CRYPTO, "Sign", "GetPublicKey", "GenerateMac", "EnableKey", "DisableKey",
                                "DeleteImportedKeyMaterial", "RotateKeyOnDemand"])
def test_pending_import_refuses_use_until_material_is_imported(op: str) -> None:
    with pytest.raises(KMSInvalidStateException, match="is pending import"):
        check_state(op, "PendingImport", "arn")


@pytest.mark.parametrize("op", [*ANY, "GetParametersForImport", "ImportKeyMaterial", "ScheduleKeyDeletion",
                                "TagResource", "UpdateKeyDescription", "CreateGrant"])
def test_pending_import_allows_import_and_management(op: str) -> None:
    assert state_error(op, "PendingImport", "arn") is None


def test_import_is_refused_while_pending_deletion() -> None:
    with pytest.raises(KMSInvalidStateException):
        check_state("ImportKeyMaterial", "PendingDeletion", "arn")
