"""IAM GetAccountSummary end to end: the account's counts follow its entities; it is authorized like any action."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, code, new_user_client

ACCOUNT = "000000000000"
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]})
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})


def allow(action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": resource}]})


def summary(iam: Any) -> dict[str, int]:
    return dict(iam.get_account_summary()["SummaryMap"])


def test_counts_follow_the_accounts_entities(server: ServerProcess) -> None:
    iam = server.client("iam")
    before = summary(iam)
    assert before["AccountAccessKeysPresent"] == 1  # the root's credentials from the credentials file
    assert before["GlobalEndpointTokenVersion"] == 1
    assert before["AccessKeysPerUserQuota"] == 2 and before["VersionsPerPolicyQuota"] == 5
    assert before["UsersQuota"] == 5000 and before["PolicySizeQuota"] == 6144
    assert before["MFADevices"] == before["AccountMFAEnabled"] == before["InstanceProfiles"] == 0

    iam.create_user(UserName="Counted1")
    iam.create_user(UserName="Counted2")
    iam.create_group(GroupName="CountedGroup")
    iam.create_role(RoleName="CountedRole", AssumeRolePolicyDocument=TRUST)
    arn = iam.create_policy(PolicyName="CountedPolicy", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="Counted1", PolicyArn=arn)
    iam.attach_group_policy(GroupName="CountedGroup", PolicyArn=arn)
    iam.attach_role_policy(RoleName="CountedRole", PolicyArn=arn)
    iam.attach_user_policy(UserName="Counted2", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.put_user_policy(UserName="Counted2", PolicyName="inline", PolicyDocument=POLICY)  # inline: no count

    after = summary(iam)
    changed = {key: after[key] - before[key] for key in after if after[key] != before[key]}
    # AWS managed policies are not the account's Policies, but their attachments are in use.
    assert changed == {"Users": 2, "Groups": 1, "Roles": 1, "Policies": 1, "PolicyVersionsInUse": 4}

    iam.detach_user_policy(UserName="Counted1", PolicyArn=arn)
    iam.delete_user(UserName="Counted1")
    final = summary(iam)
    assert final["Users"] == after["Users"] - 1
    assert final["PolicyVersionsInUse"] == after["PolicyVersionsInUse"] - 1
    assert final["Policies"] == after["Policies"]


def test_a_user_needs_permission(server: ServerProcess) -> None:
    denied = new_user_client(server, "iam", "NoSummary", POLICY)
    with pytest.raises(ClientError) as exc:
        denied.get_account_summary()
    assert code(exc) == "AccessDenied"
    message = exc.value.response["Error"]["Message"]
    assert f"arn:aws:iam::{ACCOUNT}:user/NoSummary" in message and "iam:GetAccountSummary" in message

    # The action is on resource "*": an allow for some other resource does not cover it.
    elsewhere = new_user_client(server, "iam", "WrongResource",
                                allow("iam:GetAccountSummary", f"arn:aws:iam::{ACCOUNT}:user/*"))
    with pytest.raises(ClientError) as exc:
        elsewhere.get_account_summary()
    assert code(exc) == "AccessDenied"

    allowed = new_user_client(server, "iam", "Summarizer", allow("iam:GetAccountSummary", "*"))
    seen = summary(allowed)
    assert seen == summary(server.client("iam"))  # the caller's account, as the root sees it
    assert seen["Users"] >= 3
