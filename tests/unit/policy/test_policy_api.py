"""Direct tests of the public API: parsing results, principals, limits, and message forms."""

from __future__ import annotations

import json

import pytest

import cipherpost.policy as policy_api
from cipherpost.policy import (
    IAM_GROUP_INLINE_MAX_CHARS,
    IAM_MANAGED_POLICY_MAX_CHARS,
    IAM_ROLE_INLINE_MAX_CHARS,
    IAM_USER_INLINE_MAX_CHARS,
    KMS_KEY_POLICY_MAX_BYTES,
    PolicySyntaxError,
    Principal,
    Request,
    evaluate,
    iam_policy_length,
    parse_policy,
    root_arn,
    validate_policy,
)

from .support import load_fixtures

FIXTURES = load_fixtures("evaluation")


def test_public_api_is_exported() -> None:
    for name in policy_api.__all__:
        assert hasattr(policy_api, name), name


def test_parse_is_cached_on_text() -> None:
    text = json.dumps(FIXTURES["blog_key"])
    assert parse_policy(text) is parse_policy(text)


def test_named_shares_statements_and_keeps_original_unnamed() -> None:
    policy = parse_policy(json.dumps(FIXTURES["allow_all"]))
    named = policy.named("arn:aws:iam::123456789012:policy/AllowAll")
    assert named.statements is policy.statements
    assert (policy.name, named.name) == (None, "arn:aws:iam::123456789012:policy/AllowAll")


def test_single_statement_object_and_fields() -> None:
    policy = parse_policy(json.dumps(FIXTURES["blog_key"]))
    assert policy.version == "2012-10-17"
    assert policy.id == "EMR-System-KeyPolicy"
    assert policy.statements[0].sid == "Allow access for Root User"
    single = parse_policy(json.dumps(FIXTURES["blog_publish"]))
    assert len(single.statements) == 1
    assert single.statements[0].allow


def test_missing_version_means_2008_semantics() -> None:
    policy = parse_policy('{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}')
    assert policy.version is None


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        pytest.param("blog_key", "key", id="blog_key_policy_is_a_valid_key_policy"),
        pytest.param("queue_policy_java_v1_subscribe", "resource", id="java_v1_queue_policy_is_valid"),
        pytest.param("aws_managed_sqs_key", "key", id="aws_managed_key_policy_is_valid"),
        pytest.param("blog_publish", "identity", id="blog_identity_policy_is_valid"),
        pytest.param("endpoint_only_records", "endpoint", id="endpoint_policy_is_valid"),
    ],
)
def test_documented_policies_validate(fixture: str, kind: policy_api.PolicyKind) -> None:
    validate_policy(json.dumps(FIXTURES[fixture]), kind=kind)


def test_trust_policy_validates() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"},
    }
    assert validate_policy(json.dumps(trust), kind="trust").statements[0].resources is None


def test_policy_syntax_error_is_plain_exception() -> None:
    with pytest.raises(PolicySyntaxError) as caught:
        parse_policy("[]")
    assert type(caught.value).__mro__[1] is Exception


@pytest.mark.parametrize(
    ("arn", "account", "role_arn", "kind", "root"),
    [
        ("arn:aws:iam::123456789012:user/division/EMRUser", "123456789012", None, "User", False),
        ("arn:aws:iam::123456789012:root", "123456789012", None, "Account", True),
        (
            "arn:aws:sts::123456789012:assumed-role/Publisher/s1",
            "123456789012",
            "arn:aws:iam::123456789012:role/Publisher",
            "AssumedRole",
            False,
        ),
        ("arn:aws:sts::123456789012:federated-user/carol", "123456789012", None, "FederatedUser", False),
    ],
    ids=["user_with_path", "root", "assumed_role_session", "federated_user"],
)
def test_principal_from_arn(arn: str, account: str, role_arn: str | None, kind: str, root: bool) -> None:
    who = Principal.from_arn(arn)
    assert (who.account, who.role_arn, who.kind, who.is_root) == (account, role_arn, kind, root)


def test_service_and_anonymous_principals() -> None:
    service = Principal.for_service("SNS.amazonaws.com")
    assert (service.service, service.kind, service.is_anonymous) == ("sns.amazonaws.com", "Service", False)
    assert Principal().is_anonymous
    assert Principal().describe() == "User: anonymous"
    assert root_arn("123456789012") == "arn:aws:iam::123456789012:root"


def test_request_facts_are_lower_cased_and_derived() -> None:
    request = Request(
        Principal.from_arn("arn:aws:iam::123456789012:user/EMRUser", user_id="AIDAEXAMPLE"),
        "sns:Publish",
        "*",
        {"aws:SourceIp": "10.0.0.1", "aws:TagKeys": ["a", "b"]},
        {"Dept": "IT"},
    )
    facts = request.facts
    assert facts["aws:sourceip"] == ("10.0.0.1",)
    assert facts["aws:tagkeys"] == ("a", "b")
    assert facts["aws:username"] == ("EMRUser",)
    assert facts["aws:userid"] == ("AIDAEXAMPLE",)
    assert facts["aws:principalaccount"] == ("123456789012",)
    assert facts["kms:encryptioncontext:dept"] == ("IT",)
    assert facts["kms:encryptioncontextkeys"] == ("Dept",)


def test_root_allowed_message() -> None:
    request = Request(Principal.from_arn("arn:aws:iam::123456789012:root"), "sns:Publish", "*")
    decision = evaluate(request)
    assert (
        decision.message()
        == "User: arn:aws:iam::123456789012:root is authorized to perform: sns:Publish as the account root user"
    )


def test_decision_carries_policy_label() -> None:
    deny = parse_policy(json.dumps(FIXTURES["deny_publish"])).named("arn:aws:iam::123456789012:policy/NoPublish")
    request = Request(Principal.from_arn("arn:aws:iam::123456789012:user/EMRUser"), "sns:Publish", "*")
    decision = evaluate(request, identity_policies=[deny])
    assert (decision.policy_name, decision.sid, decision.statement_index) == (
        "arn:aws:iam::123456789012:policy/NoPublish",
        "NoPublish",
        0,
    )


def test_documented_limits() -> None:
    assert (IAM_MANAGED_POLICY_MAX_CHARS, IAM_USER_INLINE_MAX_CHARS) == (6144, 2048)
    assert (IAM_ROLE_INLINE_MAX_CHARS, IAM_GROUP_INLINE_MAX_CHARS, KMS_KEY_POLICY_MAX_BYTES) == (10240, 5120, 32768)
    assert iam_policy_length('{ "a" :\n "b c" }') == 10
