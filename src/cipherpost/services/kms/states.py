"""The key state machine: which operations each key state allows (pure data and functions).

AWS KMS Developer Guide, "Key states of AWS KMS keys" (the "Key states and KMS operations"
table), for the three states a Cipherpost key can be in. Transitions:

    CreateKey            -> Enabled
    Enabled  --DisableKey-->  Disabled  --EnableKey--> Enabled
    Enabled | Disabled --ScheduleKeyDeletion--> PendingDeletion
    PendingDeletion --CancelKeyDeletion--> Disabled       (AWS restores a key disabled)
    PendingDeletion --(deletion date passes)--> deleted   (NotFoundException afterwards)

Keys of origin EXTERNAL start in PendingImport; ImportKeyMaterial makes them Enabled;
DeleteImportedKeyMaterial (or the material's expiry) takes them back to PendingImport, and
CancelKeyDeletion restores a key without material to PendingImport.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

from cipherpost.errors import AwsError
from cipherpost.services.kms.errors import DisabledException, KMSInvalidStateException

KeyState = Literal["Enabled", "Disabled", "PendingDeletion", "PendingImport"]
ENABLED: Final = "Enabled"
DISABLED: Final = "Disabled"
PENDING_DELETION: Final = "PendingDeletion"
PENDING_IMPORT: Final = "PendingImport"

#: Operations that need an Enabled key: cryptographic use and changes to rotation.
_NEEDS_ENABLED: Final = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GetPublicKey",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "RotateKeyOnDemand",
    }
)
#: Operations a key without key material (PendingImport) allows besides those of every state.
_WITHOUT_MATERIAL: Final = frozenset(
    {
        "GetParametersForImport",
        "ImportKeyMaterial",
        "ScheduleKeyDeletion",
        "UpdateKeyDescription",
        "TagResource",
        "UntagResource",
        "CreateGrant",
    }
)
#: Operations allowed in every state (reading metadata, cleaning up grants).
_ANY_STATE: Final = frozenset(
    {
        "DescribeKey",
        "GetKeyPolicy",
        "ListKeyPolicies",
        "ListResourceTags",
        "ListGrants",
        "ListAliases",
        "GetKeyRotationStatus",
        "ListKeyRotations",
        "RetireGrant",
        "RevokeGrant",
        "DeleteAlias",
        "PutKeyPolicy",
        "CancelKeyDeletion",
    }
)


def check_state(operation: str, state: str, key_arn: str) -> None:
    """Raise the error AWS answers ``operation`` with on a key in ``state``; else return.

    :param operation: the KMS operation (``ReEncryptFrom``/``ReEncryptTo`` for the two
        sides of ReEncrypt).
    :raises DisabledException: a cryptographic or rotation operation on a Disabled key.
    :raises KMSInvalidStateException: any operation a PendingDeletion key does not allow,
        CancelKeyDeletion on a key that is not pending deletion, EnableKey/DisableKey on a
        key pending deletion.
    """
    error = state_error(operation, state, key_arn)
    if error is not None:
        raise error


def state_error(operation: str, state: str, key_arn: str) -> AwsError | None:
    """The error of :func:`check_state`, or None when ``operation`` is allowed in ``state``."""
    if operation == "CancelKeyDeletion":
        return None if state == PENDING_DELETION else KMSInvalidStateException(f"{key_arn} is not pending deletion.")
    if operation in _ANY_STATE or state == ENABLED:
        return None
    if state == PENDING_IMPORT:
        return None if operation in _WITHOUT_MATERIAL else KMSInvalidStateException(f"{key_arn} is pending import.")
    if state == PENDING_DELETION:
        return KMSInvalidStateException(f"{key_arn} is pending deletion.")
    if state == DISABLED and operation in _NEEDS_ENABLED:
        return DisabledException(f"{key_arn} is disabled.")
    return None


#: The state each state-changing operation leads to.
TRANSITIONS: Final[Mapping[str, KeyState]] = {
    "EnableKey": ENABLED,
    "DisableKey": DISABLED,
    "ScheduleKeyDeletion": PENDING_DELETION,
    "CancelKeyDeletion": DISABLED,
}
