"""GetFederationToken end to end: federated user sessions get the intersection of the calling
user's permissions and the session policies passed, and the user's tags under session tags."""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_support import ServerProcess, fails

ACCOUNT = "000000000000"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(*actions: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource}


def _user_sts(server: ServerProcess, name: str, *actions: str, tags: dict[str, str] | None = None) -> Any:
    iam = server.client("iam")
    iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(_allow(*actions)))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("sts", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])


def _as(server: ServerProcess, service: str, creds: dict[str, Any]) -> Any:
    return server.client(service, access_key_id=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                         session_token=creds["SessionToken"])


def test_federated_user_gets_the_intersection(server: ServerProcess) -> None:
    sts = _user_sts(server, "Broker", "sts:GetFederationToken", "iam:ListRoles", "iam:ListUsers")
    answer = sts.get_federation_token(Name="Fed-1", DurationSeconds=900,
                                      Policy=_doc(_allow("iam:ListRoles", "iam:ListGroups")))
    arn = f"arn:aws:sts::{ACCOUNT}:federated-user/Fed-1"
    assert answer["FederatedUser"] == {"FederatedUserId": f"{ACCOUNT}:Fed-1", "Arn": arn}
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert 1 <= answer["PackedPolicySize"] <= 100
    creds = answer["Credentials"]
    identity = _as(server, "sts", creds).get_caller_identity()
    assert (identity["Arn"], identity["UserId"]) == (arn, f"{ACCOUNT}:Fed-1")
    iam = _as(server, "iam", creds)
    iam.list_roles()  # the user's policy and the session policy both allow it
    assert "session policy" in fails(iam.list_users, "AccessDenied")  # the user may, the session may not
    assert "identity-based policy" in fails(iam.list_groups, "AccessDenied")  # the session may, the user not
    assert "session credentials" in fails(_as(server, "sts", creds).get_federation_token, "AccessDenied",
                                          Name="again")


def test_no_session_policy_means_no_permissions(server: ServerProcess) -> None:
    sts = _user_sts(server, "Broker2", "sts:GetFederationToken", "iam:*", "sqs:*")
    answer = sts.get_federation_token(Name="Bare")
    assert answer["PackedPolicySize"] == 0  # as AWS answers it (recorded) when nothing was passed
    fails(_as(server, "iam", answer["Credentials"]).list_roles, "AccessDenied")
    # ... except what a resource policy grants the federated user itself.
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="federated-inbox")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _doc({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:sts::{ACCOUNT}:federated-user/Bare"},
        "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:federated-inbox"})})
    _as(server, "sqs", answer["Credentials"]).send_message(QueueUrl=url, MessageBody="hi")


def test_get_federation_token_needs_permission(server: ServerProcess) -> None:
    sts = _user_sts(server, "NoBroker", "iam:ListRoles")
    assert "sts:GetFederationToken" in fails(sts.get_federation_token, "AccessDenied", Name="Nope")


def test_session_tags_override_the_users_tags(server: ServerProcess) -> None:
    server.client("iam").create_user(UserName="fed-blue")
    server.client("iam").create_user(UserName="fed-red")
    by_team = _doc(_allow("iam:GetUser", resource=f"arn:aws:iam::{ACCOUNT}:user/${{aws:PrincipalTag/team}}"))
    sts = _user_sts(server, "TagBroker", "sts:GetFederationToken", "sts:TagSession", "iam:GetUser",
                    tags={"team": "fed-blue"})
    plain = _as(server, "iam", sts.get_federation_token(Name="Plain", Policy=by_team)["Credentials"])
    plain.get_user(UserName="fed-blue")
    fails(plain.get_user, "AccessDenied", UserName="fed-red")
    tagged = _as(server, "iam", sts.get_federation_token(Name="Tagged", Policy=by_team,
                                                         Tags=[{"Key": "Team", "Value": "fed-red"}])["Credentials"])
    tagged.get_user(UserName="fed-red")
    fails(tagged.get_user, "AccessDenied", UserName="fed-blue")
    no_tagging = _user_sts(server, "NoTagBroker", "sts:GetFederationToken")
    assert "sts:TagSession" in fails(no_tagging.get_federation_token, "AccessDenied", Name="Tg",
                                     Tags=[{"Key": "team", "Value": "x"}])


@pytest.mark.parametrize(("name", "message"), [
    ("f" * 33, "1 validation error detected: Value '" + "f" * 33 + "' at 'name' failed to satisfy constraint: "
               "Member must have length less than or equal to 32"),
])
def test_bad_name(server: ServerProcess, name: str, message: str) -> None:
    assert fails(server.client("sts").get_federation_token, "ValidationError", Name=name) == message
