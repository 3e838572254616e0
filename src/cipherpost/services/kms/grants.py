"""Grants: records, grant ids and tokens, constraint checks, and the evaluator's view of them.

AWS KMS Developer Guide, "Grants in AWS KMS": a grant lets a grantee principal perform some
operations on one key, optionally only with a given encryption context
(``EncryptionContextEquals`` / ``EncryptionContextSubset``); the retiring principal, the
grantee (when the grant includes ``RetireGrant``) and the account the grant was created in
may retire it; RevokeGrant is controlled by the key policy. Grant tokens exist in AWS for
eventual consistency; Cipherpost is strongly consistent, so a token is only checked for form
(it is not a credential: using a grant always needs the grantee principal itself).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cipherpost.context import Caller
from cipherpost.policy import Grant
from cipherpost.policy.principals import root_arn
from cipherpost.services.kms.errors import (
    InvalidArnException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    ValidationException,
)
from cipherpost.services.kms.keys import to_datetime
from cipherpost.store import Row

GRANT_ID_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
_TOKEN_PREFIX: Final = "CPGT1"  # noqa: S105 - a format marker, not a secret
_TOKEN_BYTES: Final = 64
_MODEL_PRINCIPAL: Final = re.compile(r"[\w+=,.@:/-]+")
#: AWS accepts any ARN that names an account as a grantee or retiring principal (LocalStack's
#: test_list_retirable_grants, validated against AWS, uses a KMS key ARN); a grant only ever
#: matches a caller whose ARN it names.
_PRINCIPAL_ARN: Final = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+")
_SERVICE_PRINCIPAL: Final = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com(\.cn)?")
_ACCOUNT: Final = re.compile(r"\d{12}")
_KEY_OPERATIONS: Final = frozenset({"CreateGrant", "RetireGrant", "DescribeKey"})
#: Operations a grant on a symmetric encryption key may include.
SYMMETRIC_OPERATIONS: Final = _KEY_OPERATIONS | {
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
}
#: "Grant operations" of the AWS KMS Developer Guide, per kind of key: (operations, what the
#: error message calls the key). Symmetric encryption keys are keyed by their key spec.
_GRANT_OPERATIONS: Final[Mapping[str, tuple[frozenset[str], str]]] = {
    "SYMMETRIC_DEFAULT": (SYMMETRIC_OPERATIONS, "symmetric encryption"),
    "ENCRYPT_DECRYPT": (_KEY_OPERATIONS | {"Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"},
                        "asymmetric encryption"),
    "SIGN_VERIFY": (_KEY_OPERATIONS | {"Sign", "Verify", "GetPublicKey"}, "asymmetric signing"),
    "GENERATE_VERIFY_MAC": (_KEY_OPERATIONS | {"GenerateMac", "VerifyMac"}, "HMAC"),
    "KEY_AGREEMENT": (_KEY_OPERATIONS | {"DeriveSharedSecret", "GetPublicKey"}, "key agreement"),
}
#: Operations that take no encryption context: a grant with constraints may not include them.
_NO_CONTEXT_OPERATIONS: Final = frozenset(
    {"DescribeKey", "GetPublicKey", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret"}
)


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """One stored grant."""

    grant_id: str
    key_id: str
    issuing_account: str
    name: str | None
    grantee: str
    retiring: str | None
    operations: tuple[str, ...]
    constraints: Mapping[str, Mapping[str, str]] | None
    created_at: int

    @classmethod
    def from_row(cls, row: Row) -> GrantRecord:
        """Build from a ``kms_grant_get`` row."""
        constraints = json.loads(row["grant_constraints"]) if row["grant_constraints"] else None
        return cls(
            grant_id=row["grant_id"],
            key_id=row["key_id"],
            issuing_account=row["issuing_account"],
            name=row["name"],
            grantee=row["grantee"],
            retiring=row["retiring"],
            operations=tuple(json.loads(row["operations"])),
            constraints=constraints,
            created_at=row["created_at"],
        )

    def to_policy_grant(self) -> Grant:
        """The evaluator's view of this grant."""
        constraints = self.constraints or {}
        return Grant(
            grantee=self.grantee,
            operations=frozenset(self.operations),
            grant_id=self.grant_id,
            encryption_context_equals=constraints.get("EncryptionContextEquals"),
            encryption_context_subset=constraints.get("EncryptionContextSubset"),
        )

    def same_request(self, grantee: str, retiring: str | None, operations: Sequence[str],
                     constraints: Mapping[str, Mapping[str, str]] | None) -> bool:
        """Whether a CreateGrant with this grant's Name asks for the very same grant (AWS then
        returns the existing GrantId instead of creating a duplicate)."""
        return (self.grantee, self.retiring, sorted(self.operations), self.constraints or None) == (
            grantee, retiring, sorted(operations), constraints or None)

    def may_retire(self, caller: Caller) -> bool:
        """Whether ``caller`` may retire this grant (AWS's three cases, see the module docstring)."""
        names = _names_of(caller)
        if self.retiring is not None and self.retiring in names:
            return True
        if self.grantee in names and "RetireGrant" in self.operations:
            return True
        return caller.is_root and caller.account_id == self.issuing_account


def _names_of(caller: Caller) -> set[str]:
    """Every principal name a grant may use for ``caller`` (its ARN, its role's ARN)."""
    names = {caller.arn}
    session = re.fullmatch(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+", caller.arn)
    if session is not None:
        names.add(f"arn:{session.group(1)}:iam::{session.group(2)}:role/{session.group(3)}")
    return names


def new_grant_id() -> str:
    """A fresh grant id: 64 lowercase hex characters, as AWS's grant ids look."""
    return secrets.token_hex(32)


def new_grant_token(grant_id: str) -> str:
    """A grant token naming ``grant_id`` (opaque to clients)."""
    raw = bytes.fromhex(grant_id) + secrets.token_bytes(_TOKEN_BYTES - 32)
    return _TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def grant_id_of_token(token: str) -> str:
    """The grant id a token names.

    :raises InvalidGrantTokenException: the token was not made by :func:`new_grant_token`.
    """
    body = token.removeprefix(_TOKEN_PREFIX)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if not token.startswith(_TOKEN_PREFIX) or len(raw) != _TOKEN_BYTES:
        raise InvalidGrantTokenException("The grant token is not valid.")
    return raw[:32].hex()


def check_grant_tokens(tokens: Sequence[str] | None) -> None:
    """Validate the ``GrantTokens`` of a request (at most 10, each well formed)."""
    if not tokens:
        return
    if len(tokens) > 10:
        raise ValidationException(
            "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: "
            "Member must have length less than or equal to 10"
        )
    for token in tokens:
        grant_id_of_token(token)


def check_grant_id(grant_id: str) -> None:
    """:raises InvalidGrantIdException: not a grant id in AWS's format."""
    if not GRANT_ID_PATTERN.fullmatch(grant_id):
        raise InvalidGrantIdException(f"Invalid grant id: {grant_id}")


def normalize_principal(value: str, member: str) -> str:
    """A grantee or retiring principal as grants store it (a 12-digit account becomes its root ARN).

    :raises ValidationException: outside the model's pattern.
    :raises InvalidArnException: not an IAM principal ARN, account id or service principal.
    """
    if not _MODEL_PRINCIPAL.fullmatch(value):
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[\\w+=,.@:/-]+$"
        )
    if _ACCOUNT.fullmatch(value):
        return root_arn(value)
    if _PRINCIPAL_ARN.fullmatch(value) or _SERVICE_PRINCIPAL.fullmatch(value):
        return value
    raise InvalidArnException(f"Invalid principal: {value}")


def check_operations(operations: Sequence[str], constraints: Mapping[str, Any] | None) -> None:
    """What can be checked without the key: at least one operation; with constraints, only
    operations that take an encryption context.

    :raises ValidationException: empty, or a constraint combined with an operation that takes
        no encryption context.
    """
    if not operations:
        raise ValidationException("A grant must include at least one operation.")
    if constraints and _NO_CONTEXT_OPERATIONS & set(operations):
        raise ValidationException(
            "Grant constraints are not allowed with operations that do not use an encryption context (DescribeKey)."
        )


def check_operations_for_key(operations: Sequence[str], key_spec: str, key_usage: str) -> None:
    """:raises ValidationException: an operation the key's spec and usage do not support."""
    allowed, kind = _GRANT_OPERATIONS[key_spec if key_spec == "SYMMETRIC_DEFAULT" else key_usage]
    unsupported = sorted(set(operations) - allowed)
    if unsupported:
        raise ValidationException(f"Grant operation {unsupported[0]} is not supported for a {kind} KMS key.")


def constraints_of(raw: Mapping[str, Any] | None) -> dict[str, dict[str, str]] | None:
    """The stored form of a request's ``Constraints`` (None when it has none).

    :raises ValidationException: a ``SourceArn`` constraint (not supported by Cipherpost).
    """
    if not raw:
        return None
    if "SourceArn" in raw:
        raise ValidationException("The SourceArn grant constraint is not supported by Cipherpost.")
    out = {name: dict(raw[name]) for name in ("EncryptionContextEquals", "EncryptionContextSubset") if name in raw}
    return out or None


def grant_entry(grant: GrantRecord, key_arn: str) -> dict[str, object]:
    """A ``GrantListEntry`` for ListGrants / ListRetirableGrants."""
    entry: dict[str, object] = {
        "KeyId": key_arn,
        "GrantId": grant.grant_id,
        "CreationDate": to_datetime(grant.created_at),
        "GranteePrincipal": grant.grantee,
        "IssuingAccount": root_arn(grant.issuing_account),
        "Operations": list(grant.operations),
    }
    if grant.name is not None:
        entry["Name"] = grant.name
    if grant.retiring is not None:
        entry["RetiringPrincipal"] = grant.retiring
    if grant.constraints:
        entry["Constraints"] = dict(grant.constraints)
    return entry
