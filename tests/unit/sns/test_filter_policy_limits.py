"""Filter-policy limits and API edges that do not fit a vector file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cipherpost.services.sns.errors import InvalidParameter
from cipherpost.services.sns.filter_policy import (
    MAX_COMBINATIONS,
    MAX_NESTING_DEPTH,
    MAX_POLICY_BYTES,
    InvalidFilterPolicy,
    parse_body,
    parse_filter_policy,
)

PREFIX = "Invalid parameter: FilterPolicy: "


def test_five_keys_is_the_limit() -> None:
    parse_filter_policy(json.dumps({k: ["x"] for k in "abcde"}), scope="MessageAttributes")


def test_five_keys_in_each_or_branch_is_allowed() -> None:
    policy: dict[str, Any] = {
        "a": ["x"],
        "b": ["x"],
        "c": ["x"],
        "$or": [{"d": ["x"], "e": ["x"]}, {"f": ["x"], "g": ["x"]}],
    }
    parse_filter_policy(json.dumps(policy), scope="MessageAttributes")


def test_150_combinations_is_the_limit() -> None:
    policy: dict[str, Any] = {"a": list(range(10)), "b": list(range(15))}
    parse_filter_policy(json.dumps(policy), scope="MessageAttributes")
    policy = {"a": list(range(10)), "$or": [{"b": list(range(7))}, {"c": list(range(8))}]}
    parse_filter_policy(json.dumps(policy), scope="MessageAttributes")


def values(n: int) -> list[str]:
    return [f"v{i}" for i in range(n)]


def test_nested_lists_count_their_nesting_level() -> None:
    # AWS's example: 4 values three levels down, 3 values two levels down: 3x4 x 2x3 = 72.
    documented = {"a": {"b": {"c": values(4)}}, "d": {"e": values(3)}}
    parse_filter_policy(json.dumps(documented), scope="MessageBody")
    # One more top-level list of 3 makes it 72 x 3 = 216 (a flat product would be 36).
    with pytest.raises(InvalidFilterPolicy) as caught:
        parse_filter_policy(json.dumps({**documented, "f": values(3)}), scope="MessageBody")
    assert caught.value.message == PREFIX + "Filter policy is too complex"
    # 150 exactly is allowed: a 25-value list two levels down next to a 3-value one (2x25 x 3).
    parse_filter_policy(json.dumps({"a": {"b": values(25)}, "c": values(3)}), scope="MessageBody")
    with pytest.raises(InvalidFilterPolicy, match="too complex"):
        parse_filter_policy(json.dumps({"a": {"b": values(26)}, "c": values(3)}), scope="MessageBody")


def test_nested_or_branches_count_their_level() -> None:
    # (3 + 2) top-level alternatives x (2x2 x (2x1 + 2x3)) under "d" = 5 x 32 = 160.
    policy: dict[str, Any] = {
        "$or": [{"a": values(3)}, {"b": values(2)}],
        "d": {"e": values(2), "$or": [{"f": values(1)}, {"g": values(3)}]},
    }
    with pytest.raises(InvalidFilterPolicy, match="too complex"):
        parse_filter_policy(json.dumps(policy), scope="MessageBody")
    policy["d"]["$or"][1]["g"] = values(2)  # 5 x 4 x (2 + 4) = 120
    parse_filter_policy(json.dumps(policy), scope="MessageBody")


def test_151_values_in_one_list_is_too_complex() -> None:
    with pytest.raises(InvalidFilterPolicy, match="too complex"):
        parse_filter_policy(json.dumps({"a": list(range(MAX_COMBINATIONS + 1))}), scope="MessageAttributes")


def test_size_limit_counts_utf8_bytes() -> None:
    # 3-byte characters: under the limit in characters, over it in bytes.
    text = json.dumps({"a": ["\u20ac" * (MAX_POLICY_BYTES // 3)]}, ensure_ascii=False)
    assert len(text) < MAX_POLICY_BYTES < len(text.encode())
    with pytest.raises(InvalidFilterPolicy) as caught:
        parse_filter_policy(text, scope="MessageAttributes")
    assert caught.value.message == PREFIX + f"Filter policy must not be larger than {MAX_POLICY_BYTES} bytes"


def test_size_limit_allows_256_kb() -> None:
    text = json.dumps({"a": ["x" * (MAX_POLICY_BYTES - 20)]})
    assert len(text) <= MAX_POLICY_BYTES
    parse_filter_policy(text, scope="MessageAttributes")


def test_nesting_depth_limit() -> None:
    def nested(depth: int) -> dict[str, object]:
        policy: dict[str, object] = {"leaf": ["x"]}
        for _ in range(depth - 1):
            policy = {"n": policy}
        return policy

    parse_filter_policy(json.dumps(nested(MAX_NESTING_DEPTH)), scope="MessageBody")
    with pytest.raises(InvalidFilterPolicy) as caught:
        parse_filter_policy(json.dumps(nested(MAX_NESTING_DEPTH + 1)), scope="MessageBody")
    assert caught.value.message == PREFIX + f"Filter policy can not be nested deeper than {MAX_NESTING_DEPTH} levels"


def test_json_deeper_than_the_parser_allows_is_invalid() -> None:
    with pytest.raises(InvalidFilterPolicy, match="failed to parse JSON"):
        parse_filter_policy("[" * 100_000 + "]" * 100_000, scope="MessageBody")


def test_lone_surrogate_is_not_utf8() -> None:
    with pytest.raises(InvalidFilterPolicy, match="failed to parse JSON"):
        parse_filter_policy('{"a": ["\ud800"]}', scope="MessageAttributes")


def test_unknown_scope_is_invalid_parameter_not_invalid_policy() -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_filter_policy("{}", scope="MessageHeaders")
    assert not isinstance(caught.value, InvalidFilterPolicy)
    assert caught.value.message.startswith("Invalid parameter: FilterPolicyScope: Invalid value [MessageHeaders]")


def test_matches_dispatches_on_scope() -> None:
    attributes = {"k": {"DataType": "String", "StringValue": "attr"}}
    body = '{"k": "body"}'
    on_attributes = parse_filter_policy('{"k": ["attr"]}', scope="MessageAttributes")
    on_body = parse_filter_policy('{"k": ["body"]}', scope="MessageBody")
    assert on_attributes.matches(message_attributes=attributes, body=body)
    assert on_body.matches(message_attributes=attributes, body=body)
    assert not on_body.matches(message_attributes=attributes, body='{"k": "attr"}')


def test_policy_is_reusable_and_immutable() -> None:
    policy = parse_filter_policy('{"k": [{"prefix": "a"}]}', scope="MessageAttributes")
    message = {"k": {"DataType": "String", "StringValue": "abc"}}
    assert all(policy.matches_attributes(message) for _ in range(3))
    with pytest.raises(AttributeError):
        policy.scope = "MessageBody"  # type: ignore[misc]


def test_parsed_body_is_reusable_across_policies() -> None:
    parsed = parse_body('{"store": "example_corp", "price_usd": 210.75}')
    assert parsed is not None
    store = parse_filter_policy('{"store": ["example_corp"]}', scope="MessageBody")
    cheap = parse_filter_policy('{"price_usd": [{"numeric": ["<", 100]}]}', scope="MessageBody")
    assert store.matches_body(parsed)
    assert not cheap.matches_body(parsed)
    assert parse_body("[1]") is None
    assert parse_body("not json") is None
    assert not store.matches_body(None)
