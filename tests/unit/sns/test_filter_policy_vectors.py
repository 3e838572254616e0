"""Table-driven filter-policy tests: every case of filter_vectors.json, named by its id."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cipherpost.services.sns.filter_policy import InvalidFilterPolicy, parse_filter_policy

from .support import attributes, case_id, load_vectors

VECTORS = load_vectors("filter_vectors.json")


@pytest.mark.parametrize("case", VECTORS["matching"], ids=case_id)
def test_matching(case: dict[str, Any]) -> None:
    policy = parse_filter_policy(json.dumps(case["policy"]), scope=case["scope"])
    if case["scope"] == "MessageAttributes":
        matched = policy.matches_attributes(attributes(case["attributes"]))
    else:
        body = case["body_text"] if "body_text" in case else json.dumps(case["body"])
        matched = policy.matches_body(body)
    assert matched is case["expect"]


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=case_id)
def test_invalid(case: dict[str, Any]) -> None:
    text = case["policy_text"] if "policy_text" in case else json.dumps(case["policy"])
    with pytest.raises(InvalidFilterPolicy) as caught:
        parse_filter_policy(text, scope=case["scope"])
    assert caught.value.message == case["message"]
    assert caught.value.code == "InvalidParameter"
    assert caught.value.status == 400
