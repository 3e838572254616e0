"""KMS grants end to end: CreateGrant, using a grant, constraints, List*, RetireGrant, RevokeGrant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_support import ServerProcess, fails

ACCOUNT = "000000000000"




def make_user(server: ServerProcess, name: str) -> tuple[str, Any]:
    """An IAM user without policies; returns its ARN and a KMS client acting as it."""
    iam = server.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, server.client("kms", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])


@pytest.fixture(scope="module")
def kms(server: ServerProcess) -> Any:
    return server.client("kms")


@pytest.fixture(scope="module")
def worker(server: ServerProcess) -> tuple[str, Any]:
    return make_user(server, "GrantWorker")


@pytest.fixture(scope="module")
def retirer(server: ServerProcess) -> tuple[str, Any]:
    return make_user(server, "GrantRetirer")


def test_a_grant_allows_its_operations_only(kms: Any, worker: tuple[str, Any]) -> None:
    worker_arn, as_worker = worker
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"granted")["CiphertextBlob"]
    fails(as_worker.decrypt, "AccessDeniedException", CiphertextBlob=blob)
    grant = kms.create_grant(KeyId=key["Arn"], GranteePrincipal=worker_arn, Operations=["Decrypt"], Name="reader")
    assert len(grant["GrantId"]) == 64
    assert grant["GrantToken"]
    opened = as_worker.decrypt(CiphertextBlob=blob, GrantTokens=[grant["GrantToken"]])
    assert opened["Plaintext"] == b"granted"
    fails(as_worker.encrypt, "AccessDeniedException", KeyId=key["KeyId"], Plaintext=b"x")
    # The same named request returns the same grant; a different one makes a new grant.
    again = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=worker_arn, Operations=["Decrypt"], Name="reader")
    assert again["GrantId"] == grant["GrantId"]
    other = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=worker_arn, Operations=["Encrypt"], Name="reader")
    assert other["GrantId"] != grant["GrantId"]
    assert as_worker.encrypt(KeyId=key["Arn"], Plaintext=b"x")["KeyId"] == key["Arn"]
    listed = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert {g["GrantId"] for g in listed} == {grant["GrantId"], other["GrantId"]}
    entry = next(g for g in listed if g["GrantId"] == grant["GrantId"])
    assert entry["KeyId"] == key["Arn"]
    assert entry["GranteePrincipal"] == worker_arn
    assert entry["IssuingAccount"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert entry["Operations"] == ["Decrypt"]
    assert entry["Name"] == "reader"
    assert "CreationDate" in entry
    only = kms.list_grants(KeyId=key["KeyId"], GrantId=grant["GrantId"])["Grants"]
    assert [g["GrantId"] for g in only] == [grant["GrantId"]]
    first = kms.list_grants(KeyId=key["KeyId"], Limit=1)
    assert first["Truncated"] and len(first["Grants"]) == 1
    assert len(kms.list_grants(KeyId=key["KeyId"], Marker=first["NextMarker"])["Grants"]) == 1
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=grant["GrantId"])
    fails(as_worker.decrypt, "AccessDeniedException", CiphertextBlob=blob)
    fails(kms.revoke_grant, "NotFoundException", KeyId=key["KeyId"], GrantId=grant["GrantId"])


def test_grant_constraints(kms: Any, worker: tuple[str, Any]) -> None:
    worker_arn, as_worker = worker
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=key_id, GranteePrincipal=worker_arn, Operations=["Encrypt", "Decrypt"],
                     Constraints={"EncryptionContextSubset": {"department": "emr"}})
    sealed = as_worker.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"department": "emr", "id": "7"})
    fails(as_worker.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x",
          EncryptionContext={"department": "billing"})
    fails(as_worker.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    assert as_worker.decrypt(CiphertextBlob=sealed["CiphertextBlob"],
                             EncryptionContext={"department": "emr", "id": "7"})["Plaintext"] == b"x"
    exact = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=exact, GranteePrincipal=worker_arn, Operations=["GenerateDataKey"],
                     Constraints={"EncryptionContextEquals": {"queue": "q1"}})
    as_worker.generate_data_key(KeyId=exact, KeySpec="AES_256", EncryptionContext={"queue": "q1"})
    fails(as_worker.generate_data_key, "AccessDeniedException", KeyId=exact, KeySpec="AES_256",
          EncryptionContext={"queue": "q1", "more": "x"})


def test_retire_grant(kms: Any, worker: tuple[str, Any], retirer: tuple[str, Any]) -> None:
    worker_arn, as_worker = worker
    retirer_arn, as_retirer = retirer
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    by_token = kms.create_grant(KeyId=key_id, GranteePrincipal=worker_arn, RetiringPrincipal=retirer_arn,
                                Operations=["Decrypt"])
    by_id = kms.create_grant(KeyId=key_id, GranteePrincipal=worker_arn, Operations=["Decrypt", "RetireGrant"])
    by_root = kms.create_grant(KeyId=key_id, GranteePrincipal=worker_arn, Operations=["Decrypt"])
    retirable = kms.list_retirable_grants(RetiringPrincipal=retirer_arn)["Grants"]
    assert [g["GrantId"] for g in retirable] == [by_token["GrantId"]]
    # kms:ListRetirableGrants is an IAM-policy permission; this user has none.
    fails(as_retirer.list_retirable_grants, "AccessDeniedException", RetiringPrincipal=retirer_arn)
    # Only the retiring principal, a grantee with RetireGrant, or the account may retire.
    fails(as_worker.retire_grant, "AccessDeniedException", GrantToken=by_token["GrantToken"])
    as_retirer.retire_grant(GrantToken=by_token["GrantToken"])
    fails(as_retirer.retire_grant, "NotFoundException", GrantToken=by_token["GrantToken"])
    fails(as_retirer.retire_grant, "AccessDeniedException", KeyId=key_id, GrantId=by_id["GrantId"])
    as_worker.retire_grant(KeyId=key_id, GrantId=by_id["GrantId"])
    kms.retire_grant(GrantToken=by_root["GrantToken"])
    assert kms.list_grants(KeyId=key_id)["Grants"] == []
    assert kms.list_retirable_grants(RetiringPrincipal=retirer_arn)["Grants"] == []


def test_grants_may_name_any_arn_of_an_account(kms: Any, worker: tuple[str, Any]) -> None:
    """AWS takes another account's ARN, even a key ARN, as retiring principal, and lists such grants
    to the account that created them (LocalStack's test_list_retirable_grants, recorded against AWS)."""
    worker_arn, _ = worker
    foreign = "arn:aws:kms:eu-central-1:123456789876:key/198a5a78-52c3-489f-ac70-000000000001"
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=foreign, RetiringPrincipal=foreign,
                             Operations=["Decrypt"])
    other = kms.create_grant(KeyId=key_id, GranteePrincipal=worker_arn, RetiringPrincipal=foreign[:-1] + "2",
                             Operations=["Decrypt"])
    listed = kms.list_retirable_grants(RetiringPrincipal=foreign)["Grants"]
    assert [entry["GrantId"] for entry in listed] == [grant["GrantId"]]
    assert other["GrantId"] not in [entry["GrantId"] for entry in kms.list_grants(KeyId=key_id, GrantId=grant[
        "GrantId"])["Grants"]]


def test_grant_bad_input(server: ServerProcess, kms: Any, worker: tuple[str, Any]) -> None:
    raw = server.client("kms", parameter_validation=False)
    worker_arn, _ = worker
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    fails(kms.create_grant, "ValidationException", KeyId=key_id, GranteePrincipal=worker_arn, Operations=["Sign"])
    fails(kms.create_grant, "ValidationException", KeyId=key_id, GranteePrincipal=worker_arn, Operations=["Nope"])
    fails(raw.create_grant, "ValidationException", KeyId=key_id, GranteePrincipal=worker_arn, Operations=[])
    fails(kms.create_grant, "ValidationException", KeyId=key_id, GranteePrincipal=worker_arn,
          Operations=["DescribeKey"], Constraints={"EncryptionContextEquals": {"a": "b"}})
    fails(kms.create_grant, "InvalidArnException", KeyId=key_id, GranteePrincipal="arn:aws:s3:::bucket",
          Operations=["Decrypt"])
    fails(raw.create_grant, "ValidationException", KeyId=key_id, Operations=["Decrypt"])
    fails(kms.create_grant, "NotFoundException", KeyId="alias/aws/sns", GranteePrincipal=worker_arn,
          Operations=["Decrypt"])
    fails(kms.create_grant, "DryRunOperationException", KeyId=key_id, GranteePrincipal=worker_arn,
          Operations=["Decrypt"], DryRun=True)
    fails(kms.retire_grant, "InvalidGrantTokenException", GrantToken="not-a-token")
    fails(kms.retire_grant, "InvalidGrantIdException", KeyId=key_id, GrantId="short")
    fails(kms.retire_grant, "ValidationException", GrantId="0" * 64)
    fails(kms.revoke_grant, "InvalidGrantIdException", KeyId=key_id, GrantId="short")
    fails(kms.revoke_grant, "NotFoundException", KeyId=key_id, GrantId="0" * 64)
    fails(kms.list_grants, "InvalidGrantIdException", KeyId=key_id, GrantId="short")
    fails(kms.list_grants, "InvalidMarkerException", KeyId=key_id, Marker="bogus")
    fails(kms.decrypt, "InvalidGrantTokenException", CiphertextBlob=b"x" * 120, GrantTokens=["junk"])


def test_revoke_is_controlled_by_the_key_policy(server: ServerProcess, kms: Any, worker: tuple[str, Any]) -> None:
    worker_arn, as_worker = worker
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=worker_arn, Operations=["Decrypt"])
    fails(as_worker.revoke_grant, "AccessDeniedException", KeyId=key_id, GrantId=grant["GrantId"])
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": worker_arn}, "Action": "kms:RevokeGrant", "Resource": "*"}]})
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
    as_worker.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    del server
