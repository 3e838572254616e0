"""Grant tokens, ids, principals, constraints and who may retire (services/kms/grants.py)."""

from __future__ import annotations

import pytest

from cipherpost.context import Caller
from cipherpost.policy import Principal, Request
from cipherpost.services.kms.errors import (
    InvalidArnException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    ValidationException,
)
from cipherpost.services.kms.grants import (
    GrantRecord,
    check_grant_id,
    check_grant_tokens,
    check_operations,
    check_operations_for_key,
    grant_id_of_token,
    new_grant_id,
    new_grant_token,
    normalize_principal,
)

ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/EMRUser"


def _grant(**changes: object) -> GrantRecord:
    fields: dict[str, object] = {
        "grant_id": new_grant_id(), "key_id": "k", "issuing_account": ACCOUNT, "name": None, "grantee": USER,
        "retiring": None, "operations": ("Decrypt",), "constraints": None, "created_at": 0,
    }
    fields.update(changes)
    return GrantRecord(**fields)  # type: ignore[arg-type]


def test_token_round_trip() -> None:
    grant_id = new_grant_id()
    token = new_grant_token(grant_id)
    assert grant_id_of_token(token) == grant_id
    assert new_grant_token(grant_id) != token  # every token is fresh
    check_grant_tokens([token, new_grant_token(grant_id)])


@pytest.mark.parametrize("token", ["", "garbage", "CPGT1", "CPGT1!!!!", "CPGT1" + "A" * 10])
def test_bad_tokens(token: str) -> None:
    with pytest.raises(InvalidGrantTokenException):
        grant_id_of_token(token)


def test_too_many_tokens() -> None:
    with pytest.raises(ValidationException):
        check_grant_tokens([new_grant_token(new_grant_id())] * 11)


def test_grant_ids() -> None:
    check_grant_id(new_grant_id())
    with pytest.raises(InvalidGrantIdException):
        check_grant_id("abc")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (USER, USER),
        (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"),
        (f"arn:aws:iam::{ACCOUNT}:role/R", f"arn:aws:iam::{ACCOUNT}:role/R"),
        ("sns.amazonaws.com", "sns.amazonaws.com"),
        # AWS accepts any ARN naming an account (test_list_retirable_grants, recorded against AWS).
        (f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/k", f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/k"),
    ],
)
def test_principals(value: str, expected: str) -> None:
    assert normalize_principal(value, "granteePrincipal") == expected


def test_bad_principals() -> None:
    with pytest.raises(ValidationException):
        normalize_principal("has space", "granteePrincipal")
    with pytest.raises(InvalidArnException):
        normalize_principal("arn:aws:s3:::bucket", "granteePrincipal")
    with pytest.raises(InvalidArnException):
        normalize_principal("arn:aws:iam::12345:user/short-account", "granteePrincipal")


def test_operations() -> None:
    check_operations(["Decrypt", "RetireGrant"], {"EncryptionContextEquals": {"a": "b"}})
    with pytest.raises(ValidationException):
        check_operations([], None)
    with pytest.raises(ValidationException):
        check_operations(["Sign"], {"EncryptionContextSubset": {"a": "b"}})
    with pytest.raises(ValidationException):
        check_operations(["DescribeKey"], {"EncryptionContextSubset": {"a": "b"}})


@pytest.mark.parametrize(
    ("operation", "key_spec", "key_usage", "allowed"),
    [
        pytest.param("Decrypt", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", True, id="symmetric-decrypt"),
        pytest.param("GenerateDataKey", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", True, id="symmetric-data-key"),
        pytest.param("Sign", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", False, id="symmetric-sign"),
        pytest.param("Decrypt", "RSA_2048", "ENCRYPT_DECRYPT", True, id="rsa-decrypt"),
        pytest.param("GenerateDataKey", "RSA_2048", "ENCRYPT_DECRYPT", False, id="rsa-data-key"),
        pytest.param("Sign", "RSA_2048", "SIGN_VERIFY", True, id="rsa-sign"),
        pytest.param("GetPublicKey", "ECC_NIST_P256", "SIGN_VERIFY", True, id="ecc-public-key"),
        pytest.param("Encrypt", "ECC_NIST_P256", "SIGN_VERIFY", False, id="ecc-encrypt"),
        pytest.param("DeriveSharedSecret", "ECC_NIST_P256", "KEY_AGREEMENT", True, id="ecdh"),
        pytest.param("Sign", "ECC_NIST_P256", "KEY_AGREEMENT", False, id="ecdh-sign"),
        pytest.param("GenerateMac", "HMAC_256", "GENERATE_VERIFY_MAC", True, id="hmac-mac"),
        pytest.param("Decrypt", "HMAC_256", "GENERATE_VERIFY_MAC", False, id="hmac-decrypt"),
        pytest.param("RetireGrant", "HMAC_256", "GENERATE_VERIFY_MAC", True, id="hmac-retire"),
    ],
)
def test_grant_operations_per_key(operation: str, key_spec: str, key_usage: str, allowed: bool) -> None:
    if allowed:
        check_operations_for_key([operation], key_spec, key_usage)
    else:
        with pytest.raises(ValidationException):
            check_operations_for_key([operation], key_spec, key_usage)


def test_constraints_feed_the_evaluator() -> None:
    grant = _grant(constraints={"EncryptionContextSubset": {"app": "emr"}}).to_policy_grant()
    who = Principal.from_arn(USER)
    assert grant.permits(Request(who, "kms:Decrypt", "k", {}, {"app": "emr", "x": "y"}))
    assert not grant.permits(Request(who, "kms:Decrypt", "k", {}, {"app": "other"}))
    assert not grant.permits(Request(who, "kms:Encrypt", "k", {}, {"app": "emr"}))


def test_who_may_retire() -> None:
    user = Caller(ACCOUNT, USER, "AIDA", "IAMUser")
    root = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root")
    other_root = Caller("444455556666", "arn:aws:iam::444455556666:root", "444455556666", "Root")
    assert _grant(retiring=USER, grantee="x.amazonaws.com").may_retire(user)
    assert _grant(operations=("Decrypt", "RetireGrant")).may_retire(user)
    assert not _grant().may_retire(user)
    assert _grant().may_retire(root)
    assert not _grant().may_retire(other_root)
    session = Caller(ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/R/s", "AROA:s", "AssumedRole")
    assert _grant(retiring=f"arn:aws:iam::{ACCOUNT}:role/R").may_retire(session)


def test_same_request_ignores_operation_order() -> None:
    grant = _grant(operations=("Decrypt", "Encrypt"), name="n")
    assert grant.same_request(USER, None, ["Encrypt", "Decrypt"], None)
    assert not grant.same_request(USER, None, ["Encrypt"], None)
