"""Property tests: the matcher against independently built references, and parser robustness."""

from __future__ import annotations

import contextlib
import functools
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cipherpost.policy import PolicySyntaxError, Principal, Request, evaluate, parse_policy
from cipherpost.policy.matching import compile_tokens

ALPHABET = "ab:*?"
patterns = st.text(alphabet=ALPHABET, max_size=12)
values = st.text(alphabet="ab:", max_size=12)


def glob_reference(pattern: str, value: str) -> bool:
    """Glob matching by dynamic programming over characters: no regular expressions."""

    @functools.cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(value)
        head = pattern[i]
        if head == "*":
            return match(i + 1, j) or (j < len(value) and match(i, j + 1))
        return j < len(value) and head in ("?", value[j]) and match(i + 1, j + 1)

    return match(0, 0)


def arn_reference(pattern: str, value: str) -> bool:
    """ArnLike as documented: the six colon-delimited components are matched separately."""
    wanted, actual = pattern.split(":", 5), value.split(":", 5)
    return len(actual) == 6 and all(glob_reference(p, v) for p, v in zip(wanted, actual, strict=True))


@given(patterns, values)
def test_wildcard_matcher_agrees_with_reference(pattern: str, value: str) -> None:
    test = compile_tokens((pattern,), wildcards=True, ignore_case=False, arn=False)
    assert test(value) is glob_reference(pattern, value)


@given(
    st.lists(st.text(alphabet="ab*?", max_size=3), min_size=5, max_size=5),
    st.text(alphabet="ab:*?", max_size=6),
    values,
)
def test_arn_matcher_is_component_wise(head: list[str], last: str, value: str) -> None:
    pattern = ":".join([*head, last])
    test = compile_tokens((pattern,), wildcards=True, ignore_case=False, arn=True)
    assert test(value) is arn_reference(pattern, value)


@given(patterns, values)
def test_equals_never_treats_wildcards_specially(pattern: str, value: str) -> None:
    test = compile_tokens((pattern,), wildcards=False, ignore_case=False, arn=False)
    assert test(value) is (pattern == value)


GRAMMAR_KEYS = [
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "AWS",
    "Service",
    "Federated",
    "StringEquals",
    "ForAllValues:StringLike",
    "NumericLessThan",
    "DateGreaterThan",
    "IpAddress",
    "Bool",
    "BinaryEquals",
    "Null",
    "ArnLike",
    "aws:SourceArn",
]
GRAMMAR_VALUES = [
    "2012-10-17",
    "2008-10-17",
    "Allow",
    "Deny",
    "*",
    "sns:Publish",
    "123456789012",
    "arn:aws:iam::123456789012:root",
    "arn:aws:sns:us-east-1:123456789012:t",
    "10.0.0.0/8",
    "true",
    "${aws:username}",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.sampled_from(GRAMMAR_VALUES)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(GRAMMAR_KEYS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=400)
@given(json_values)
def test_parse_raises_only_policy_syntax_error(document: Any) -> None:
    try:
        policy = parse_policy(json.dumps(document))
    except PolicySyntaxError:
        return
    # Whatever parses must also evaluate without raising.
    request = Request(
        Principal.from_arn("arn:aws:iam::123456789012:user/alice"),
        "sns:Publish",
        "arn:aws:sns:us-east-1:123456789012:t",
    )
    evaluate(request, identity_policies=[policy], resource_policy=policy)


@given(st.text(max_size=40))
def test_parse_arbitrary_text_raises_only_policy_syntax_error(text: str) -> None:
    with contextlib.suppress(PolicySyntaxError):
        parse_policy(text)


actions = st.from_regex(r"[a-z]{2,5}:[A-Za-z]{1,10}", fullmatch=True)
resources = st.from_regex(r"arn:aws:[a-z]{2,4}:us-east-1:123456789012:[A-Za-z-]{1,8}", fullmatch=True)
ALLOW_ALL = parse_policy('{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}')
DENY_ALL = parse_policy('{"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}')
DENY_ALL_PRINCIPALS = parse_policy(
    '{"Statement": {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"}}'
)


@given(actions, resources)
def test_explicit_deny_always_wins(action: str, resource: str) -> None:
    request = Request(Principal.from_arn("arn:aws:iam::123456789012:user/alice"), action, resource)
    assert evaluate(request, identity_policies=[ALLOW_ALL]).allowed
    assert evaluate(request, identity_policies=[ALLOW_ALL, DENY_ALL]).kind == "explicit_deny"
    decision = evaluate(request, identity_policies=[ALLOW_ALL], resource_policy=DENY_ALL_PRINCIPALS)
    assert decision.kind == "explicit_deny"
    assert decision.layer == "resource"


@given(actions)
def test_action_match_ignores_case(action: str) -> None:
    policy = parse_policy(json.dumps({"Statement": {"Effect": "Allow", "Action": action, "Resource": "*"}}))
    request = Request(Principal.from_arn("arn:aws:iam::123456789012:user/alice"), action.swapcase(), "*")
    assert evaluate(request, identity_policies=[policy]).allowed
