"""Table-driven tests: every case in vectors/*.json, each named by what it proves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cipherpost.policy import (
    PolicySyntaxError,
    Request,
    evaluate,
    parse_policy,
    validate_policy,
)

from .support import grant_from, load_cases, load_fixtures, policy_from, principal_from

FIXTURES = load_fixtures("evaluation")
USER = "arn:aws:iam::111122223333:user/alice"


def _optional(case: dict[str, Any], key: str) -> Any:
    value = case.get(key)
    return None if value is None else policy_from(value, FIXTURES, key)


@pytest.mark.parametrize("case", load_cases("evaluation"))
def test_evaluation(case: dict[str, Any]) -> None:
    request = Request(
        principal_from(case["principal"]),
        case["action"],
        case["resource"],
        case.get("context", {}),
        case.get("encryption_context"),
    )
    decision = evaluate(
        request,
        identity_policies=[policy_from(p, FIXTURES, "identity") for p in case.get("identity", [])],
        session_policies=[policy_from(p, FIXTURES, "session") for p in case.get("session", [])],
        resource_policy=_optional(case, "resource_policy"),
        permissions_boundary=_optional(case, "boundary"),
        endpoint_policy=_optional(case, "endpoint"),
        resource_account=case.get("resource_account"),
        grants=[grant_from(g) for g in case.get("grants", [])],
        key_policy_authority=case.get("kms", False),
        trust_policy=case.get("trust", False),
    )
    assert decision.kind == case["expect"], decision.message()
    assert decision.allowed is (case["expect"] == "allowed")
    if "layer" in case:
        assert decision.layer == case["layer"], decision
    if "sid" in case:
        assert decision.sid == case["sid"], decision
    if "message" in case:
        assert decision.message() == case["message"]
    if "message_contains" in case:
        assert case["message_contains"] in decision.message()


@pytest.mark.parametrize("case", load_cases("conditions"))
def test_condition(case: dict[str, Any]) -> None:
    document: dict[str, Any] = {
        "Statement": {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*", "Condition": case["condition"]}
    }
    version = case.get("version", "2012-10-17")
    if version is not None:
        document["Version"] = version
    policy = validate_policy(json.dumps(document), kind="identity")
    request = Request(principal_from(case.get("principal", USER)), "sns:Publish", "*", case["context"])
    decision = evaluate(request, identity_policies=[policy])
    assert decision.allowed is case["expect"]


@pytest.mark.parametrize("case", load_cases("invalid"))
def test_invalid_document(case: dict[str, Any]) -> None:
    text = case["raw"] if "raw" in case else json.dumps(case["document"])
    with pytest.raises(PolicySyntaxError) as caught:
        if "kind" in case:
            validate_policy(text, kind=case["kind"])
        else:
            parse_policy(text)
    assert case["error"] in caught.value.message
    assert str(caught.value) == caught.value.message
