"""IAM and STS end to end: principals, their policies enforced at once, temporary credentials."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import REGION, ServerProcess, code, execute_sql, launch

ACCOUNT = "000000000000"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})



def make_user(server: ServerProcess, name: str, *policies: str) -> tuple[str, str]:
    """Create a user with inline policies and an access key; returns (key id, secret)."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    for index, document in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{index}", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def as_user(server: ServerProcess, service: str, key: tuple[str, str], token: str | None = None) -> Any:
    return server.client(service, access_key_id=key[0], secret=key[1], session_token=token)


def test_user_lifecycle(server: ServerProcess) -> None:
    iam = server.client("iam")
    user = iam.create_user(UserName="Alice", Path="/staff/", Tags=[{"Key": "team", "Value": "emr"}])["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/staff/Alice"
    assert user["Tags"] == [{"Key": "team", "Value": "emr"}]  # CreateUser and GetUser echo the tags
    assert iam.get_user(UserName="Alice")["User"]["Tags"] == [{"Key": "team", "Value": "emr"}]
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName="alice")
    assert code(exc) == "EntityAlreadyExists"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert iam.get_user(UserName="Alice")["User"]["Path"] == "/staff/"
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/staff/")["Users"]] == ["Alice"]
    assert iam.list_user_tags(UserName="Alice")["Tags"] == [{"Key": "team", "Value": "emr"}]
    iam.update_user(UserName="Alice", NewUserName="Alicia")
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName="Alice")
    assert code(exc) == "NoSuchEntity"
    iam.put_user_policy(UserName="Alicia", PolicyName="p", PolicyDocument=ALLOW_ALL)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="Alicia")
    assert code(exc) == "DeleteConflict"
    iam.delete_user_policy(UserName="Alicia", PolicyName="p")
    iam.delete_user(UserName="Alicia")


def test_blog_publisher_policy_allows_only_what_it_says(server: ServerProcess) -> None:
    """The blog's EMRUser identity policy: sns:Publish on one topic, nothing else."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": ["sns:Publish"],
        "Resource": f" arn:aws:sns:us-east-1:{ACCOUNT}:Patient-Records"}})
    key = make_user(server, "EMRUser", policy)
    assert as_user(server, "sts", key).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/EMRUser"
    with pytest.raises(ClientError) as exc:
        as_user(server, "iam", key).list_users()
    assert code(exc) == "AccessDenied"
    message = exc.value.response["Error"]["Message"]
    assert f"arn:aws:iam::{ACCOUNT}:user/EMRUser" in message and "iam:ListUsers" in message
    assert "no identity-based policy allows" in message
    with pytest.raises(ClientError) as exc:
        as_user(server, "iam", key).create_user(UserName="Mallory")
    assert code(exc) == "AccessDenied"


def test_explicit_deny_beats_allow(server: ServerProcess) -> None:
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]})
    key = make_user(server, "Denied", ALLOW_ALL, deny)
    iam = as_user(server, "iam", key)
    iam.list_roles()
    with pytest.raises(ClientError) as exc:
        iam.list_users()
    assert code(exc) == "AccessDenied"
    assert "explicit deny" in exc.value.response["Error"]["Message"]


def test_policy_changes_take_effect_at_once(server: ServerProcess) -> None:
    key = make_user(server, "Changing")
    iam_root, iam = server.client("iam"), as_user(server, "iam", key)
    with pytest.raises(ClientError):
        iam.list_roles()
    iam_root.put_user_policy(UserName="Changing", PolicyName="p", PolicyDocument=ALLOW_ALL)
    iam.list_roles()
    iam_root.delete_user_policy(UserName="Changing", PolicyName="p")
    with pytest.raises(ClientError):
        iam.list_roles()


def test_groups_and_managed_policies(server: ServerProcess) -> None:
    iam = server.client("iam")
    key = make_user(server, "Grouped")
    iam.create_group(GroupName="Readers")
    iam.add_user_to_group(GroupName="Readers", UserName="Grouped")
    arn = iam.create_policy(PolicyName="ReadIam", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}))[
        "Policy"]["Arn"]
    iam.attach_group_policy(GroupName="Readers", PolicyArn=arn)
    as_user(server, "iam", key).list_groups()
    v2 = iam.create_policy_version(PolicyArn=arn, SetAsDefault=True, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}))
    assert v2["PolicyVersion"]["VersionId"] == "v2"
    with pytest.raises(ClientError):
        as_user(server, "iam", key).list_groups()
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    as_user(server, "iam", key).list_groups()
    document = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert document["Statement"][0]["Action"] == "iam:List*"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert code(exc) == "DeleteConflict"
    iam.attach_user_policy(UserName="Grouped", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="Grouped")["AttachedPolicies"]] == [
        "IAMFullAccess"]


def test_inactive_access_key_is_refused_at_once(server: ServerProcess) -> None:
    key = make_user(server, "Keyholder", ALLOW_ALL)
    sts = as_user(server, "sts", key)
    sts.get_caller_identity()
    server.client("iam").update_access_key(UserName="Keyholder", AccessKeyId=key[0], Status="Inactive")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert code(exc) == "InvalidClientTokenId"
    server.client("iam").update_access_key(UserName="Keyholder", AccessKeyId=key[0], Status="Active")
    sts.get_caller_identity()
    server.client("iam").delete_access_key(UserName="Keyholder", AccessKeyId=key[0])
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert code(exc) == "InvalidClientTokenId"


def trust(principal: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


def test_assume_role(server: ServerProcess) -> None:
    iam = server.client("iam")
    key = make_user(server, "Assumer")
    role = iam.create_role(RoleName="Reader", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/Assumer"))
    assert role["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    # As AWS answers: CreateRole shows no MaxSessionDuration and no Tags when none were given;
    # GetRole shows the duration and an empty RoleLastUsed.
    assert "MaxSessionDuration" not in role["Role"] and "Tags" not in role["Role"]
    got = iam.get_role(RoleName="Reader")["Role"]
    assert (got["MaxSessionDuration"], got["RoleLastUsed"], "Tags" in got) == (3600, {}, False)
    with pytest.raises(ClientError) as exc:  # the account root may not assume roles (AWS)
        server.client("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="s0")
    assert code(exc) == "AccessDenied"
    iam.put_role_policy(RoleName="Reader", PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}))
    result = as_user(server, "sts", key).assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="s1")
    creds = result["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/s1"
    session = (creds["AccessKeyId"], creds["SecretAccessKey"])
    identity = as_user(server, "sts", session, creds["SessionToken"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Reader/s1"
    assert identity["UserId"] == f"{role['Role']['RoleId']}:s1"
    as_user(server, "iam", session, creds["SessionToken"]).list_roles()
    with pytest.raises(ClientError) as exc:
        as_user(server, "iam", session, creds["SessionToken"]).list_users()
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        as_user(server, "sts", session, "wrong-token").get_caller_identity()
    assert code(exc) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as exc:
        as_user(server, "sts", session).get_caller_identity()
    assert code(exc) == "InvalidClientTokenId"


def test_session_policy_limits_role(server: ServerProcess) -> None:
    iam = server.client("iam")
    key = make_user(server, "Limited")
    arn = iam.create_role(RoleName="Wide", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/Limited"))[
        "Role"]["Arn"]
    iam.put_role_policy(RoleName="Wide", PolicyName="all", PolicyDocument=ALLOW_ALL)
    narrow = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]})
    creds = as_user(server, "sts", key).assume_role(RoleArn=arn, RoleSessionName="narrow", Policy=narrow)[
        "Credentials"]
    session = as_user(server, "iam", (creds["AccessKeyId"], creds["SecretAccessKey"]), creds["SessionToken"])
    session.list_roles()
    with pytest.raises(ClientError):
        session.list_users()


def test_trust_policy_is_enforced(server: ServerProcess) -> None:
    iam = server.client("iam")
    key = make_user(server, "Outsider", ALLOW_ALL)
    arn = iam.create_role(RoleName="Private", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/Other"))[
        "Role"]["Arn"]
    with pytest.raises(ClientError) as exc:
        as_user(server, "sts", key).assume_role(RoleArn=arn, RoleSessionName="xx")
    assert code(exc) == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        server.client("sts").assume_role(RoleArn=arn, RoleSessionName="xx")
    assert code(exc) == "AccessDenied"


def test_get_session_token(server: ServerProcess) -> None:
    key = make_user(server, "Tokened", ALLOW_ALL)
    creds = as_user(server, "sts", key).get_session_token(DurationSeconds=900)["Credentials"]
    identity = as_user(server, "sts", (creds["AccessKeyId"], creds["SecretAccessKey"]),
                       creds["SessionToken"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/Tokened"


def test_session_expires(fresh_server: Callable[..., ServerProcess]) -> None:
    """After its expiry a session's credentials are refused with ExpiredToken (clock moved via the store)."""
    proc = fresh_server()
    key = make_user(proc, "Expiring")
    proc.client("iam").create_role(RoleName="R",
                                   AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/Expiring"))
    creds = as_user(proc, "sts", key).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/R", RoleSessionName="ss",
                                                  DurationSeconds=900)["Credentials"]
    assert proc.stop() == 0
    execute_sql(proc.data_dir, f"UPDATE access_keys SET expires_at = 1 WHERE access_key_id = '{creds['AccessKeyId']}'")
    again = fresh_server(data_dir=proc.data_dir)
    with pytest.raises(ClientError) as exc:
        as_user(again, "sts", (creds["AccessKeyId"], creds["SecretAccessKey"]),
                creds["SessionToken"]).get_caller_identity()
    assert code(exc) == "ExpiredToken"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda iam: iam.put_user_policy(UserName="Bad", PolicyName="p", PolicyDocument="{not json"),
         "MalformedPolicyDocument"),
        (lambda iam: iam.put_user_policy(UserName="Bad", PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*",
                                                     "Condition": {"StringEqualz": {"a": "b"}}}]})),
         "MalformedPolicyDocument"),
        (lambda iam: iam.put_user_policy(UserName="Bad", PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [f"iam:A{i:04}" for i in range(300)],
                                                     "Resource": "*"}]})),
         "LimitExceeded"),
        (lambda iam: iam.create_user(UserName="has space"), "ValidationError"),
        (lambda iam: iam.create_user(UserName="x" * 65), "ValidationError"),
        (lambda iam: iam.create_role(RoleName="r", AssumeRolePolicyDocument=ALLOW_ALL), "MalformedPolicyDocument"),
        (lambda iam: iam.get_role(RoleName="Nobody"), "NoSuchEntity"),
    ],
    ids=["not-json", "unknown-operator", "oversized", "bad-name", "long-name", "trust-without-principal",
         "missing-role"],
)
def test_bad_input(server: ServerProcess, call: Callable[[Any], Any], expected: str) -> None:
    iam = server.client("iam", parameter_validation=False)
    with contextlib.suppress(ClientError):
        iam.create_user(UserName="Bad")
    with pytest.raises(ClientError) as exc:
        call(iam)
    assert code(exc) == expected
    assert iam.list_user_policies(UserName="Bad")["PolicyNames"] == []


def test_aws_cli(server: ServerProcess) -> None:
    env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "credentials"),
           "AWS_PROFILE": "cipherpost", "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull}
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)

    def aws(*args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", "awscli", *args, "--endpoint-url", server.url, "--output", "json"],
                             env=env, capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout) if out.stdout.strip() else None

    assert aws("iam", "create-user", "--user-name", "cli-user")["User"]["UserName"] == "cli-user"
    assert "cli-user" in [u["UserName"] for u in aws("iam", "list-users")["Users"]]
    assert aws("sts", "get-caller-identity")["Account"] == ACCOUNT


def test_request_tag_conditions(server: ServerProcess) -> None:
    """aws:RequestTag/* and aws:TagKeys come from the tags the request sets."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "emr"},
                      "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}}]})
    iam = as_user(server, "iam", make_user(server, "Tagger", policy))
    iam.create_user(UserName="TaggedOk", Tags=[{"Key": "team", "Value": "emr"}])
    wrong = [{"Key": "team", "Value": "billing"}]
    extra = [{"Key": "team", "Value": "emr"}, {"Key": "x", "Value": "y"}]
    for tags in (wrong, [], extra):
        with pytest.raises(ClientError) as exc:
            iam.create_user(UserName="TaggedBad", Tags=tags)
        assert code(exc) == "AccessDenied"


def test_permissions_boundary_limits_a_user(server: ServerProcess) -> None:
    iam = server.client("iam")
    key = make_user(server, "Bounded", ALLOW_ALL)
    boundary = iam.create_policy(PolicyName="OnlyListRoles", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}))[
        "Policy"]["Arn"]
    bounded = as_user(server, "iam", key)
    bounded.list_users()
    iam.put_user_permissions_boundary(UserName="Bounded", PermissionsBoundary=boundary)
    assert iam.get_user(UserName="Bounded")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    bounded.list_roles()
    with pytest.raises(ClientError) as exc:
        bounded.list_users()
    assert code(exc) == "AccessDenied"
    iam.delete_user_permissions_boundary(UserName="Bounded")
    bounded.list_users()


def test_dev_mode_lets_the_root_assume_a_role(tmp_path: Path) -> None:
    """Other projects' suites sign as an account root: --dev lets it assume a role the trust
    policy allows (AWS refuses roots; without --dev so does Cipherpost, see test_assume_role)."""
    dev = launch(tmp_path / "data", "--dev")
    try:
        role = dev.client("iam").create_role(RoleName="Suite", AssumeRolePolicyDocument=trust(ACCOUNT),
                                             Tags=[{"Key": "k", "Value": "v"}])["Role"]
        assert role["Tags"] == [{"Key": "k", "Value": "v"}]
        assumed = dev.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="suite")
        assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Suite/suite"
    finally:
        dev.stop()
