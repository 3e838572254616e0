"""Authorizer.decide's ``resource_tags``: the ``aws:ResourceTag/<key>`` condition keys."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest

from cipherpost.config import Listener
from cipherpost.context import Caller, RequestContext
from cipherpost.policy import ContextValue, parse_policy
from cipherpost.services.authz import Authorizer, CallerPolicies, resource_tag_keys

ACCOUNT = "111122223333"
ROOT = Caller(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:root", principal_id=ACCOUNT, kind="Root")
USER = Caller(account_id=ACCOUNT, arn=f"arn:aws:iam::{ACCOUNT}:user/alice", principal_id="AIDAALICE",
              kind="IAMUser", user_name="alice")
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"


def statement(condition: Mapping[str, Mapping[str, str]], effect: str = "Allow") -> dict[str, object]:
    return {"Effect": effect, "Action": "sqs:SendMessage", "Resource": "*", "Condition": condition}


class Policies:
    """An identity-policy source that gives every non-root caller the same statements."""

    def __init__(self, *statements: dict[str, object]) -> None:
        self.policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))

    async def policies_for(self, caller: Caller) -> CallerPolicies:
        return CallerPolicies() if caller.is_root else CallerPolicies(identity=(self.policy,))


def context(caller: Caller = USER) -> RequestContext:
    return RequestContext(request_id="r", received_at=datetime.now(UTC), region="us-east-1", service="sqs",
                          operation="SendMessage", caller=caller, listener=Listener("http", "127.0.0.1", 1),
                          source_ip="127.0.0.1")


def allowed(authz: Authorizer, tags: Mapping[str, str] | None, *, caller: Caller = USER,
            extra: Mapping[str, ContextValue] | None = None, **options: object) -> bool:
    decision = asyncio.run(authz.decide(context(caller), "sqs:SendMessage", QUEUE, resource_tags=tags,
                                        context=extra, **options))  # type: ignore[arg-type]
    return decision.allowed


def test_tags_become_resource_tag_keys() -> None:
    assert resource_tag_keys({}) == {}
    assert resource_tag_keys({"team": "billing", "Env": "prod"}) == {
        "aws:ResourceTag/Env": "prod", "aws:ResourceTag/team": "billing"}


def test_tag_keys_differing_only_in_case_keep_both_values() -> None:
    keys = resource_tag_keys({"team": "billing", "Team": "audit"})
    assert keys == {"aws:ResourceTag/Team": ["audit", "billing"]}


@pytest.mark.parametrize(("tags", "expected"), [
    ({"team": "billing"}, True),
    ({"team": "billing", "env": "prod"}, True),
    ({"Team": "billing"}, True),  # condition key names (tag keys included) are case-insensitive
    ({"team": "Billing"}, False),  # values are case-sensitive under StringEquals
    ({"team": "audit"}, False),
    ({"owner": "billing"}, False),
    ({}, False),
    (None, False),
])
def test_string_equals_on_a_resource_tag(tags: Mapping[str, str] | None, expected: bool) -> None:
    authz = Authorizer(Policies(statement({"StringEquals": {"aws:ResourceTag/team": "billing"}})))
    assert allowed(authz, tags) is expected


def test_policy_may_spell_the_key_in_any_case() -> None:
    authz = Authorizer(Policies(statement({"StringEquals": {"AWS:RESOURCETAG/TEAM": "billing"}})))
    assert allowed(authz, {"team": "billing"})
    assert not allowed(authz, {"team": "audit"})


def test_ignore_case_operator_and_negation() -> None:
    authz = Authorizer(Policies(statement({"StringEqualsIgnoreCase": {"aws:ResourceTag/team": "billing"}})))
    assert allowed(authz, {"team": "BILLING"})
    deny = Authorizer(Policies(
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        statement({"StringNotEquals": {"aws:ResourceTag/env": "prod"}}, effect="Deny"),
    ))
    assert allowed(deny, {"env": "prod"})
    assert not allowed(deny, {"env": "dev"})
    assert not allowed(deny, None)  # absent key: StringNotEquals holds, the deny applies


def test_null_condition_sees_whether_the_tag_exists() -> None:
    authz = Authorizer(Policies(statement({"Null": {"aws:ResourceTag/team": "false"}})))
    assert allowed(authz, {"team": ""})
    assert not allowed(authz, {"other": "x"})


def test_explicit_context_wins_over_a_resource_tag() -> None:
    authz = Authorizer(Policies(statement({"StringEquals": {"aws:ResourceTag/team": "billing"}})))
    assert not allowed(authz, {"team": "billing"}, extra={"aws:resourcetag/team": "audit"})
    assert allowed(authz, {"team": "audit"}, extra={"aws:ResourceTag/team": "billing"})


def test_resource_tags_in_a_resource_policy_apply_to_the_root() -> None:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE,
        "Condition": {"StringEquals": {"aws:ResourceTag/locked": "true"}}}]}))
    authz = Authorizer()
    assert allowed(authz, {"locked": "false"}, caller=ROOT, resource_policy=policy)
    assert not allowed(authz, {"locked": "true"}, caller=ROOT, resource_policy=policy)


def test_owner_root_without_policies_ignores_tags() -> None:
    authz = Authorizer(Policies(statement({"StringEquals": {"aws:ResourceTag/team": "billing"}})))
    assert allowed(authz, {"team": "audit"}, caller=ROOT)
    assert allowed(authz, None, caller=ROOT)


def test_policies_know_whether_they_name_resource_tags() -> None:
    def policy(condition: Mapping[str, Mapping[str, str]] | None) -> bool:
        body = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}
        if condition is not None:
            body["Condition"] = condition
        return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [body]})).reads_resource_tags

    assert not policy(None)
    assert not policy({"StringEquals": {"aws:RequestTag/team": "billing"}})
    assert policy({"StringEquals": {"aws:ResourceTag/team": "billing"}})
    assert policy({"StringEquals": {"AWS:RESOURCETAG/team": "billing"}})
    # a JSON escape does not hide the key (the decoded document is what counts)
    escaped = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", ' \
              '"Condition": {"StringEquals": {"aws:Resource\\u0054ag/team": "billing"}}}]}'
    assert parse_policy(escaped).reads_resource_tags


def test_a_tag_reader_is_called_only_when_a_policy_in_play_names_resource_tags() -> None:
    calls: list[int] = []

    async def read_tags() -> Mapping[str, str]:
        calls.append(1)
        return {"team": "billing"}

    plain = Authorizer(Policies(statement({"StringEquals": {"aws:RequestedRegion": "us-east-1"}})))
    assert allowed(plain, read_tags)  # type: ignore[arg-type]
    assert calls == []
    tagged = Authorizer(Policies(statement({"StringEquals": {"aws:ResourceTag/team": "billing"}})))
    assert allowed(tagged, read_tags)  # type: ignore[arg-type]
    assert calls == [1]
    deny = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*",
        "Condition": {"StringEquals": {"aws:ResourceTag/team": "billing"}}}]}))
    assert not allowed(plain, read_tags, resource_policy=deny)  # type: ignore[arg-type]
    assert calls == [1, 1]
