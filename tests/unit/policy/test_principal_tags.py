"""aws:PrincipalTag/<key>: which tags a principal carries, and how policies read them (vectors)."""

from __future__ import annotations

from typing import Any

import pytest

from cipherpost.policy import Request, evaluate
from cipherpost.policy.principal_tags import principal_tag_keys, session_principal_tags

from .support import load_cases, policy_from, principal_from


def _pairs(raw: list[list[str]]) -> list[tuple[str, str]]:
    return [(key, value) for key, value in raw]


@pytest.mark.parametrize("case", load_cases("principal_tags"))
def test_principal_tag_vectors(case: dict[str, Any]) -> None:
    tags = session_principal_tags(_pairs(case["role_tags"]), _pairs(case.get("session_tags", [])))
    request = Request(principal_from(case["principal"]), "sqs:SendMessage", case.get("resource", "*"),
                      principal_tag_keys(tags))
    resource_policy = case.get("resource_policy")
    decision = evaluate(
        request,
        identity_policies=[policy_from(p, {}, "identity") for p in case.get("identity", [])],
        resource_policy=None if resource_policy is None else policy_from(resource_policy, {}, "resource"),
        resource_account="111122223333",
    )
    assert decision.kind == case["expect"], decision.message()


def test_session_tag_replaces_role_tag_and_keeps_its_own_spelling() -> None:
    merged = session_principal_tags([("Team", "blue"), ("cost", "1")], [("TEAM", "red")])
    assert merged == (("TEAM", "red"), ("cost", "1"))


def test_no_tags_no_keys() -> None:
    assert principal_tag_keys(()) == {}
    assert principal_tag_keys([("team", "blue")]) == {"aws:PrincipalTag/team": "blue"}
