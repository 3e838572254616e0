"""Authorizer.decide's shortcut for an owner's root must equal what evaluate() decides."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from cipherpost.config import Listener
from cipherpost.context import Caller, RequestContext
from cipherpost.policy import Principal, Request, evaluate, parse_policy
from cipherpost.services.authz import Authorizer

ROOT = Caller(account_id="111122223333", arn="arn:aws:iam::111122223333:root", principal_id="111122223333",
              kind="Root")
QUEUE = "arn:aws:sqs:us-east-1:111122223333:q"


def context(endpoint: str | None = None) -> RequestContext:
    return RequestContext(request_id="r", received_at=datetime.now(UTC), region="us-east-1", service="sqs",
                          operation="SendMessage", caller=ROOT, listener=Listener("http", "127.0.0.1", 1, endpoint),
                          source_ip="127.0.0.1")


def test_shortcut_equals_full_evaluation() -> None:
    shortcut = asyncio.run(Authorizer().decide(context(), "sqs:SendMessage", QUEUE))
    full = evaluate(Request(Principal.from_arn(ROOT.arn), "sqs:SendMessage", QUEUE))
    assert shortcut == full


@pytest.mark.parametrize("case", ["resource-deny", "endpoint-policy", "other-account", "key-policy"])
def test_shortcut_does_not_apply_where_a_policy_could_deny(case: str) -> None:
    deny = parse_policy('{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}]}')
    authz = Authorizer(endpoint_policies={"vpce-11112222": deny} if case == "endpoint-policy" else None)
    ctx = context("vpce-11112222" if case == "endpoint-policy" else None)
    options: dict[str, object] = {}
    if case == "resource-deny":
        options["resource_policy"] = deny
    if case == "other-account":
        options["resource_account"] = "444455556666"
    if case == "key-policy":
        options["key_policy"] = True
    decision = asyncio.run(authz.decide(ctx, "sqs:SendMessage", QUEUE, **options))  # type: ignore[arg-type]
    assert not decision.allowed
