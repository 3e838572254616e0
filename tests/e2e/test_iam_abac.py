"""Attribute-based access control end to end: aws:PrincipalTag/<key> from IAM user and role
tags and from STS session tags, in identity, key and queue policies, changing at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_support import ServerProcess, fails

ACCOUNT = "000000000000"
USERS = f"arn:aws:iam::{ACCOUNT}:user/"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _key(server: ServerProcess, name: str, *policies: str, tags: dict[str, str] | None = None) -> tuple[str, str]:
    iam = server.client("iam")
    iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    for index, document in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{index}", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _as(server: ServerProcess, service: str, creds: Any) -> Any:
    if isinstance(creds, tuple):
        return server.client(service, access_key_id=creds[0], secret=creds[1])
    return server.client(service, access_key_id=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                         session_token=creds["SessionToken"])


def _trust(*actions: str, condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": list(actions)}
    if condition:
        statement["Condition"] = condition
    return _doc(statement)


#: Identity policy: assume and tag any role.
ASSUMER = _doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"})
#: Role policy: read the IAM user named by the caller's team tag, and assume further roles.
BY_TEAM = _doc({"Effect": "Allow", "Action": "iam:GetUser", "Resource": USERS + "${aws:PrincipalTag/team}"},
               {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"})


@pytest.fixture(scope="module")
def teams(server: ServerProcess) -> ServerProcess:
    """Users named after teams, for policies whose resource is user/${aws:PrincipalTag/team}."""
    for team in ("blue", "red", "green", "x"):
        server.client("iam").create_user(UserName=team)
    return server


def _role(server: ServerProcess, name: str, trust: str, tags: dict[str, str] | None = None) -> str:
    iam = server.client("iam")
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust,
                              Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])["Role"]["Arn"])
    iam.put_role_policy(RoleName=name, PolicyName="by-team", PolicyDocument=BY_TEAM)
    return arn


def _reads(server: ServerProcess, creds: Any, team: str) -> bool:
    iam = _as(server, "iam", creds)
    try:
        iam.get_user(UserName=team)
    except iam.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied", exc.response
        return False
    return True


def test_kms_key_policy_principal_tag_follows_tag_user_at_once(server: ServerProcess) -> None:
    policy = _doc(
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Cleared", "Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalTag/clearance": "high"}}})
    key_id = server.client("kms").create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    cleared = _as(server, "kms", _key(server, "KmsCleared", tags={"clearance": "high"}))
    plain = _as(server, "kms", _key(server, "KmsPlain"))
    cleared.encrypt(KeyId=key_id, Plaintext=b"x")
    assert "kms:Encrypt" in fails(plain.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    iam = server.client("iam")
    iam.untag_user(UserName="KmsCleared", TagKeys=["clearance"])
    fails(cleared.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    iam.tag_user(UserName="KmsPlain", Tags=[{"Key": "clearance", "Value": "high"}])
    plain.encrypt(KeyId=key_id, Plaintext=b"x")
    iam.tag_user(UserName="KmsPlain", Tags=[{"Key": "clearance", "Value": "low"}])
    fails(plain.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")


def test_queue_policy_denies_users_without_the_tag(server: ServerProcess) -> None:
    url = server.client("sqs").create_queue(QueueName="abac-queue")["QueueUrl"]
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:abac-queue"
    server.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": _doc(
        {"Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn,
         "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "emr"},
                       "ArnLike": {"aws:PrincipalArn": USERS + "*"}}})})
    send = _doc({"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": arn})
    member = _as(server, "sqs", _key(server, "SqsMember", send, tags={"team": "emr"}))
    outsider = _as(server, "sqs", _key(server, "SqsOutsider", send))
    member.send_message(QueueUrl=url, MessageBody="hi")
    assert "explicit deny" in fails(outsider.send_message, "AccessDenied", QueueUrl=url, MessageBody="hi")
    server.client("iam").tag_user(UserName="SqsOutsider", Tags=[{"Key": "team", "Value": "emr"}])
    outsider.send_message(QueueUrl=url, MessageBody="hi")
    server.client("iam").untag_user(UserName="SqsMember", TagKeys=["team"])
    fails(member.send_message, "AccessDenied", QueueUrl=url, MessageBody="hi")


def test_role_tags_and_session_tags(teams: ServerProcess) -> None:
    server = teams
    arn = _role(server, "TeamRole", _trust("sts:AssumeRole", "sts:TagSession"), {"team": "blue"})
    sts = _as(server, "sts", _key(server, "TeamAssumer", ASSUMER))
    plain = sts.assume_role(RoleArn=arn, RoleSessionName="plain")
    assert "PackedPolicySize" not in plain  # AWS answers it only when a policy or tags were passed
    assert _reads(server, plain["Credentials"], "blue") and not _reads(server, plain["Credentials"], "red")
    tagged = sts.assume_role(RoleArn=arn, RoleSessionName="tagged", Tags=[{"Key": "TEAM", "Value": "red"}])
    assert tagged["PackedPolicySize"] >= 1
    # The session tag overrides the role tag of the same key, whatever its case.
    assert _reads(server, tagged["Credentials"], "red") and not _reads(server, tagged["Credentials"], "blue")
    server.client("iam").tag_role(RoleName="TeamRole", Tags=[{"Key": "team", "Value": "green"}])
    assert _reads(server, plain["Credentials"], "green")  # role tags change live sessions at once
    assert _reads(server, tagged["Credentials"], "red")  # ... but not what a session tag overrides
    server.client("iam").untag_role(RoleName="TeamRole", TagKeys=["team"])
    assert not _reads(server, plain["Credentials"], "green")


def test_tag_session_must_be_trusted(teams: ServerProcess) -> None:
    server = teams
    arn = _role(server, "NoTagging", _trust("sts:AssumeRole"))
    sts = _as(server, "sts", _key(server, "NoTagger", ASSUMER))
    sts.assume_role(RoleArn=arn, RoleSessionName="untagged")
    message = fails(sts.assume_role, "AccessDenied", RoleArn=arn, RoleSessionName="tagged",
                    Tags=[{"Key": "team", "Value": "red"}])
    assert "sts:TagSession" in message
    # The trust policy sees the requested tags (aws:RequestTag/*, aws:TagKeys).
    only_blue = _role(server, "OnlyBlue", _doc(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:TagSession",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}}))
    creds = sts.assume_role(RoleArn=only_blue, RoleSessionName="blue",
                            Tags=[{"Key": "team", "Value": "blue"}])["Credentials"]
    assert _reads(server, creds, "blue")
    fails(sts.assume_role, "AccessDenied", RoleArn=only_blue, RoleSessionName="red",
          Tags=[{"Key": "team", "Value": "red"}])
    fails(sts.assume_role, "AccessDenied", RoleArn=only_blue, RoleSessionName="more",
          Tags=[{"Key": "team", "Value": "blue"}, {"Key": "x", "Value": "y"}])


def test_trust_policy_reads_the_callers_principal_tags(teams: ServerProcess) -> None:
    server = teams
    arn = _role(server, "OpsOnly", _doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole",
                                         "Condition": {"StringEquals": {"aws:PrincipalTag/dept": "ops"}}}))
    ops = _as(server, "sts", _key(server, "OpsMember", ASSUMER, tags={"dept": "ops"}))
    dev = _as(server, "sts", _key(server, "DevMember", ASSUMER, tags={"dept": "dev"}))
    ops.assume_role(RoleArn=arn, RoleSessionName="ops")
    fails(dev.assume_role, "AccessDenied", RoleArn=arn, RoleSessionName="dev")


def test_trust_policy_sees_transitive_tag_keys(teams: ServerProcess) -> None:
    server = teams
    arn = _role(server, "OnlyTeamTransitive", _doc(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:TagSession",
         "Condition": {"ForAllValues:StringEquals": {"sts:TransitiveTagKeys": ["team"]}}}))
    sts = _as(server, "sts", _key(server, "TransitiveTagger", ASSUMER))
    tags = [{"Key": "team", "Value": "blue"}, {"Key": "project", "Value": "x"}]
    sts.assume_role(RoleArn=arn, RoleSessionName="ok", Tags=tags, TransitiveTagKeys=["team"])
    sts.assume_role(RoleArn=arn, RoleSessionName="none", Tags=tags)
    fails(sts.assume_role, "AccessDenied", RoleArn=arn, RoleSessionName="no", Tags=tags,
          TransitiveTagKeys=["project"])


def test_identity_side_must_allow_tag_session(teams: ServerProcess) -> None:
    """A trust policy naming only the account delegates to the caller's identity policies."""
    server = teams
    arn = _role(server, "Delegating", _trust("sts:AssumeRole", "sts:TagSession"))
    only_assume = _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    sts = _as(server, "sts", _key(server, "AssumeOnly", only_assume))
    sts.assume_role(RoleArn=arn, RoleSessionName="untagged")
    assert "sts:TagSession" in fails(sts.assume_role, "AccessDenied", RoleArn=arn, RoleSessionName="tagged",
                                     Tags=[{"Key": "team", "Value": "red"}])


def test_transitive_tags_through_role_chaining(teams: ServerProcess) -> None:
    server = teams
    first = _role(server, "ChainOne", _trust("sts:AssumeRole", "sts:TagSession"))
    second = _role(server, "ChainTwo", _trust("sts:AssumeRole", "sts:TagSession"), {"team": "green"})
    sts = _as(server, "sts", _key(server, "Chainer", ASSUMER))
    one = sts.assume_role(RoleArn=first, RoleSessionName="one", TransitiveTagKeys=["TEAM"],
                          Tags=[{"Key": "team", "Value": "blue"}, {"Key": "project", "Value": "x"}])["Credentials"]
    two = _as(server, "sts", one).assume_role(RoleArn=second, RoleSessionName="two")["Credentials"]
    # The transitive tag came along and overrides the second role's own tag; 'project' did not.
    assert _reads(server, two, "blue") and not _reads(server, two, "green")
    three = _as(server, "sts", two).assume_role(RoleArn=first, RoleSessionName="three")["Credentials"]
    assert _reads(server, three, "blue")  # and stays transitive further down the chain
    conflict = ("One of the specified transitive tag keys can't be set because it conflicts with a transitive "
                "tag key from the calling session.")
    for key in ("team", "Team"):
        assert fails(_as(server, "sts", one).assume_role, "InvalidParameterValue", RoleArn=second,
                     RoleSessionName="override", Tags=[{"Key": key, "Value": "red"}]) == conflict
    # Other session tags may be added beside the inherited ones.
    four = _as(server, "sts", one).assume_role(RoleArn=second, RoleSessionName="four",
                                               Tags=[{"Key": "project", "Value": "y"}])["Credentials"]
    assert _reads(server, four, "blue")


def test_inherited_transitive_tags_need_tag_session(teams: ServerProcess) -> None:
    server = teams
    first = _role(server, "TaggingOne", _trust("sts:AssumeRole", "sts:TagSession"))
    untagging = _role(server, "UntaggingTwo", _trust("sts:AssumeRole"))
    sts = _as(server, "sts", _key(server, "Chainer2", ASSUMER))
    one = sts.assume_role(RoleArn=first, RoleSessionName="one", TransitiveTagKeys=["team"],
                          Tags=[{"Key": "team", "Value": "blue"}])["Credentials"]
    fails(_as(server, "sts", one).assume_role, "AccessDenied", RoleArn=untagging, RoleSessionName="two")
    plain = sts.assume_role(RoleArn=first, RoleSessionName="plain", Tags=[{"Key": "team", "Value": "blue"}])
    _as(server, "sts", plain["Credentials"]).assume_role(RoleArn=untagging, RoleSessionName="two")


def test_get_session_token_sessions_carry_the_users_tags(teams: ServerProcess) -> None:
    server = teams
    key = _key(server, "TokenTeam", _doc({"Effect": "Allow", "Action": "iam:GetUser",
                                           "Resource": USERS + "${aws:PrincipalTag/team}"}), tags={"team": "red"})
    creds = _as(server, "sts", key).get_session_token(DurationSeconds=900)["Credentials"]
    assert _reads(server, creds, "red") and not _reads(server, creds, "blue")


@pytest.mark.parametrize(("tags", "transitive", "expected", "message"), [
    pytest.param([{"Key": "SessionTag1", "Value": "v"}], ["InvalidKey"], "InvalidParameterValue",
                 "The specified transitive tag key must be included in the requested tags.", id="transitive-not-tag"),
    pytest.param([{"Key": "SessionTag1", "Value": "a"}, {"Key": "sessiontag1", "Value": "b"}], [],
                 "InvalidParameterValue",
                 "Duplicate tag keys found. Please note that Tag keys are case insensitive.", id="duplicate-keys"),
    pytest.param([{"Key": f"k{i}", "Value": "v"} for i in range(51)], [], "ValidationError",
                 "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have "
                 "length less than or equal to 50", id="51-tags"),
    pytest.param([{"Key": "k" * 129, "Value": "v"}], [], "ValidationError",
                 f"1 validation error detected: Value '{'k' * 129}' at 'tags.1.member.key' failed to satisfy "
                 "constraint: Member must have length less than or equal to 128", id="long-key"),
    pytest.param([{"Key": "k", "Value": "v" * 257}], [], "ValidationError",
                 f"1 validation error detected: Value '{'v' * 257}' at 'tags.1.member.value' failed to satisfy "
                 "constraint: Member must have length less than or equal to 256", id="long-value"),
    pytest.param([{"Key": f"{i:03}" + "k" * 125, "Value": "v" * 256} for i in range(10)], [], "PackedPolicyTooLarge",
                 "Packed size of session tags consumes 188% of allotted space.", id="packed-too-large"),
])
def test_session_tag_validation(validator: Any, tags: list[dict[str, str]], transitive: list[str],
                                expected: str, message: str) -> None:
    assert fails(validator.assume_role, expected, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Validating",
                 RoleSessionName="vv", Tags=tags, TransitiveTagKeys=transitive) == message


def test_session_tag_characters(validator: Any) -> None:
    """Keys and values are limited to letters, digits, spaces and _.:/=+-@ (AWS's model)."""
    arn = f"arn:aws:iam::{ACCOUNT}:role/Validating"
    for tag in ({"Key": "bad!key", "Value": "v"}, {"Key": "k", "Value": "bad!"}):
        assert "regular expression pattern" in fails(validator.assume_role, "ValidationError", RoleArn=arn,
                                                     RoleSessionName="vv", Tags=[tag])
    validator.assume_role(RoleArn=arn, RoleSessionName="vv", Tags=[{"Key": "é k_.:/=+-@", "Value": "ü 1"}])


@pytest.fixture(scope="module")
def validator(server: ServerProcess) -> Any:
    """An STS client of a user who may assume and tag the role Validating."""
    _role(server, "Validating", _trust("sts:AssumeRole", "sts:TagSession"))
    return _as(server, "sts", _key(server, "Validator", ASSUMER))
