"""Default and AWS-managed key policies, evaluated with the real policy engine."""

from __future__ import annotations

import json

import pytest

from cipherpost.policy import Principal, Request, evaluate, parse_policy
from cipherpost.services.kms.errors import LimitExceededException, MalformedPolicyDocumentException
from cipherpost.services.kms.policies import check_key_policy, default_key_policy, managed_key_policy

ACCOUNT = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:root")
USER = Principal.from_arn(f"arn:aws:iam::{ACCOUNT}:user/EMRUser")


def _decide(policy: str, who: Principal, action: str, context: dict[str, str] | None = None) -> bool:
    request = Request(who, action, KEY, context or {})
    return evaluate(request, resource_policy=parse_policy(policy), resource_account=ACCOUNT,
                    key_policy_authority=True).allowed


def test_default_policy_lets_the_root_do_everything() -> None:
    policy = default_key_policy(ACCOUNT)
    document = json.loads(policy)
    assert document["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert document["Statement"][0]["Action"] == "kms:*"
    check_key_policy(policy)
    assert _decide(policy, ROOT, "kms:Encrypt")
    assert _decide(policy, ROOT, "kms:PutKeyPolicy")


def test_default_policy_delegates_to_iam_but_grants_users_nothing_alone() -> None:
    assert not _decide(default_key_policy(ACCOUNT), USER, "kms:Encrypt")


@pytest.mark.parametrize("service", ["sns", "sqs"])
def test_managed_policy_allows_account_principals_via_the_service_only(service: str) -> None:
    policy = managed_key_policy(service, ACCOUNT, "us-east-1")
    check_key_policy(policy)
    via = {"kms:CallerAccount": ACCOUNT, "kms:ViaService": f"{service}.us-east-1.amazonaws.com"}
    assert _decide(policy, USER, "kms:GenerateDataKey", via)
    assert _decide(policy, ROOT, "kms:Decrypt", via)
    assert not _decide(policy, ROOT, "kms:Encrypt", {"kms:CallerAccount": ACCOUNT})
    other = "sqs" if service == "sns" else "sns"
    assert not _decide(policy, USER, "kms:Decrypt", {**via, "kms:ViaService": f"{other}.us-east-1.amazonaws.com"})


@pytest.mark.parametrize("service", ["sns", "sqs"])
def test_managed_policy_gives_the_service_principal_itself_nothing(service: str) -> None:
    """Why SNS cannot deliver to a queue encrypted with alias/aws/sqs: a service principal
    has no kms:CallerAccount, and no statement names it."""
    policy = managed_key_policy("sqs", ACCOUNT, "us-east-1")
    sns = Principal.for_service("sns.amazonaws.com")
    assert not _decide(policy, sns, "kms:GenerateDataKey", {"kms:ViaService": "sqs.us-east-1.amazonaws.com"})
    del service


def test_managed_policy_lets_the_account_read_metadata_but_not_administer() -> None:
    policy = managed_key_policy("sns", ACCOUNT, "us-east-1")
    assert _decide(policy, ROOT, "kms:DescribeKey")
    assert _decide(policy, ROOT, "kms:GetKeyPolicy")
    assert _decide(policy, ROOT, "kms:ListGrants")
    for action in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:CreateAlias"):
        assert not _decide(policy, ROOT, action), action


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("not json", id="not-json"),
        pytest.param('{"Version": "2012-10-17"}', id="no-statement"),
        pytest.param('{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}', id="no-principal"),
        pytest.param('{"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}',
                     id="bad-effect"),
    ],
)
def test_malformed_policies(document: str) -> None:
    with pytest.raises(MalformedPolicyDocumentException):
        check_key_policy(document)


def test_oversized_policy() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Sid": "x" * 40000}
    with pytest.raises(LimitExceededException):
        check_key_policy(json.dumps({"Statement": [statement]}))
