"""Property-based filter-policy tests (hypothesis)."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cipherpost.services.sns.filter_policy import InvalidFilterPolicy, parse_filter_policy

SCOPES = st.sampled_from(["MessageAttributes", "MessageBody"])
KEYS = st.text(min_size=1, max_size=8).filter(lambda k: k != "$or")
STRINGS = st.text(max_size=20)
# Numbers AWS can compare: within +-1e9, five decimals.
NUMBERS = st.decimals(min_value=-(10**9), max_value=10**9, places=5, allow_nan=False, allow_infinity=False)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
SMALL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4) | st.sampled_from(["<", ">=", "=", "10.0.0.0/8"]),
    lambda children: st.lists(children, max_size=4),
    max_leaves=5,
)
OPERATOR_NAMES = st.sampled_from(
    ["prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case"]
)
OPERATOR_ENTRIES = st.dictionaries(
    OPERATOR_NAMES | st.text(max_size=3),
    SMALL_JSON | st.dictionaries(OPERATOR_NAMES, SMALL_JSON, max_size=2),
    min_size=1,
    max_size=2,
)
POLICY_LIKE = st.dictionaries(
    st.sampled_from(["a", "b", "c", "$or"]) | st.text(max_size=3),
    SMALL_JSON
    | st.lists(SMALL_JSON | OPERATOR_ENTRIES, max_size=3)
    | st.lists(st.dictionaries(KEYS, st.lists(SMALL_JSON, max_size=2), max_size=3), max_size=3),
    max_size=6,
)


def string_attribute(value: str) -> dict[str, dict[str, object]]:
    return {"k": {"DataType": "String", "StringValue": value}}


def number_attribute(value: Decimal) -> dict[str, dict[str, object]]:
    return {"k": {"DataType": "Number", "StringValue": str(value)}}


@given(STRINGS)
def test_exact_string_matches_itself(value: str) -> None:
    policy = parse_filter_policy(json.dumps({"k": [value]}), scope="MessageAttributes")
    assert policy.matches_attributes(string_attribute(value))
    body = parse_filter_policy(json.dumps({"k": [value]}), scope="MessageBody")
    assert body.matches_body(json.dumps({"k": value}))


@given(NUMBERS)
def test_exact_number_matches_itself_in_any_notation(value: Decimal) -> None:
    policy = parse_filter_policy(json.dumps({"k": [float(value)]}), scope="MessageAttributes")
    for text in (str(value), f"{value:E}", f"{value:f}"):
        assert policy.matches_attributes({"k": {"DataType": "Number", "StringValue": text}}), text


@given(STRINGS | NUMBERS)
def test_anything_but_never_matches_the_excluded_value(value: str | Decimal) -> None:
    operand: Any = value if isinstance(value, str) else float(value)
    message = string_attribute(value) if isinstance(value, str) else number_attribute(value)
    for form in (operand, [operand]):
        policy = parse_filter_policy(json.dumps({"k": [{"anything-but": form}]}), scope="MessageAttributes")
        assert not policy.matches_attributes(message)


@given(STRINGS, STRINGS)
def test_anything_but_prefix_is_the_negation_of_prefix(prefix: str, value: str) -> None:
    positive = parse_filter_policy(json.dumps({"k": [{"prefix": prefix}]}), scope="MessageAttributes")
    negative = parse_filter_policy(json.dumps({"k": [{"anything-but": {"prefix": prefix}}]}), scope="MessageAttributes")
    message = string_attribute(value)
    assert positive.matches_attributes(message) is not negative.matches_attributes(message)
    assert positive.matches_attributes(string_attribute(prefix + value))


@given(NUMBERS, NUMBERS, NUMBERS)
def test_numeric_range_agrees_with_comparison(low: Decimal, high: Decimal, value: Decimal) -> None:
    if low >= high:
        return
    policy = parse_filter_policy(
        json.dumps({"k": [{"numeric": [">=", float(low), "<", float(high)]}]}), scope="MessageAttributes"
    )
    rounded = [Decimal(repr(float(x))).quantize(Decimal("0.00001")) for x in (low, high)]
    expected = rounded[0] <= value.quantize(Decimal("0.00001")) < rounded[1]
    assert policy.matches_attributes(number_attribute(value)) is expected


@given(st.lists(STRINGS, min_size=1, max_size=3), st.lists(STRINGS, min_size=1, max_size=3), STRINGS, STRINGS)
def test_or_is_the_union_of_its_branches(left: list[str], right: list[str], a: str, b: str) -> None:
    branches = [{"a": left}, {"b": right}]
    combined = parse_filter_policy(json.dumps({"$or": branches}), scope="MessageAttributes")
    separate = [parse_filter_policy(json.dumps(branch), scope="MessageAttributes") for branch in branches]
    message = {**{"a": string_attribute(a)["k"]}, **{"b": string_attribute(b)["k"]}}
    assert combined.matches_attributes(message) is any(p.matches_attributes(message) for p in separate)


@settings(max_examples=200)
@given(POLICY_LIKE, SCOPES)
def test_parse_raises_only_invalid_filter_policy_on_policy_like_json(document: Any, scope: str) -> None:
    with contextlib.suppress(InvalidFilterPolicy):
        parse_filter_policy(json.dumps(document), scope=scope)


@given(JSON, SCOPES)
def test_parse_raises_only_invalid_filter_policy_on_any_json(document: Any, scope: str) -> None:
    with contextlib.suppress(InvalidFilterPolicy):
        parse_filter_policy(json.dumps(document), scope=scope)


@given(st.text(max_size=50), SCOPES)
def test_parse_raises_only_invalid_filter_policy_on_any_text(text: str, scope: str) -> None:
    with contextlib.suppress(InvalidFilterPolicy):
        parse_filter_policy(text, scope=scope)


EVERY_OPERATOR = {
    "a": ["x", 5, True, None, {"prefix": "p"}, {"suffix": "s"}, {"equals-ignore-case": "E"}],
    "b": [{"anything-but": ["x", 1]}, {"anything-but": {"prefix": "p"}}, {"numeric": [">", 0, "<=", 10]}],
    "c": [{"exists": True}, {"cidr": "10.0.0.0/8"}, {"cidr": "::/0"}],
    "$or": [{"d": [{"exists": False}]}, {"e": ["y"]}],
}
ATTRIBUTE_TYPES = st.sampled_from(["String", "Number", "Binary", "String.Array", "Number.x", "Other"])
ATTRIBUTE = st.fixed_dictionaries(
    {"DataType": ATTRIBUTE_TYPES},
    optional={"StringValue": st.text(max_size=10) | JSON.map(json.dumps), "BinaryValue": st.binary(max_size=4)},
)


@given(st.dictionaries(st.sampled_from("abcde"), ATTRIBUTE, max_size=5))
def test_matching_any_attributes_never_raises(message: dict[str, dict[str, object]]) -> None:
    policy = parse_filter_policy(json.dumps(EVERY_OPERATOR), scope="MessageAttributes")
    assert isinstance(policy.matches_attributes(message), bool)


@given(JSON | st.dictionaries(st.sampled_from("abcde"), JSON, max_size=5))
def test_matching_any_body_never_raises(document: Any) -> None:
    # Two policies: a nested list counts twice toward the 150 combinations (AWS's rule).
    for shape in (EVERY_OPERATOR, {"n": {"a": EVERY_OPERATOR["a"], "b": ["x"]}, "c": EVERY_OPERATOR["c"]}):
        policy = parse_filter_policy(json.dumps(shape), scope="MessageBody")
        assert isinstance(policy.matches_body(json.dumps(document)), bool)
