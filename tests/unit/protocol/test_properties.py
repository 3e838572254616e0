"""Property tests: parsers never fail with anything but AwsError, and botocore-serialized
random valid values round-trip in both directions."""

from __future__ import annotations

import contextlib
import functools
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cipherpost.errors import AwsError
from cipherpost.protocol import HttpRequest, parse, registry, route, serialize_result
from cipherpost.protocol.patterns import model_pattern
from cipherpost.protocol.query_parser import unquote_form
from cipherpost.protocol.routing import Route

from .wire import botocore_parse, botocore_request

ROUTES = [
    ("sqs", "json", "SendMessageBatch"), ("sqs", "query", "SendMessageBatch"), ("sqs", "query", "CreateQueue"),
    ("sns", "query", "Publish"), ("kms", "json", "Encrypt"), ("kms", "json", "CreateKey"),
    ("iam", "query", "CreateUser"), ("cloudtrail", "json", "LookupEvents"), ("sts", "query", "AssumeRole"),
]

# XML 1.0 cannot carry C0 controls other than tab/LF/CR; lone surrogates are not text.
TEXT = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters=[
    *map(chr, range(0x00, 0x09)), "\x0b", "\x0c", *map(chr, range(0x0e, 0x20)), "\ufffe", "\uffff"]),
    max_size=12)
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
TIMESTAMPS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC))


def _route(service: str, protocol: str, operation: str) -> Route:
    return Route(service, protocol, registry.service_model(service, protocol).operation_model(operation))


@functools.cache  # one strategy object per shape: hypothesis then builds each regex's once
def values(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid for a botocore shape (patterns honoured, lengths not)."""
    kind = shape.type_name
    if kind == "structure":
        required = {name: values(sub, depth + 1) for name, sub in shape.members.items()
                    if name in shape.required_members}
        optional = {name: values(sub, depth + 1) for name, sub in shape.members.items()
                    if name not in shape.required_members and depth < 4}
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "list":
        return st.lists(values(shape.member, depth + 1), min_size=1, max_size=3)
    if kind == "map":
        return st.dictionaries(values(shape.key, depth + 1), values(shape.value, depth + 1), min_size=1, max_size=3)
    if kind == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        pattern = model_pattern(shape.metadata["pattern"]) if "pattern" in shape.metadata else None
        if pattern is not None:  # the parser checks patterns: draw values that match
            return st.from_regex(pattern.regex, fullmatch=True).filter(lambda text: not _XML_ILLEGAL.search(text))
        return TEXT
    simple: dict[str, st.SearchStrategy[Any]] = {
        "integer": st.integers(-(2**31), 2**31 - 1), "long": st.integers(-(2**63), 2**63 - 1),
        "boolean": st.booleans(), "blob": st.binary(max_size=16), "timestamp": TIMESTAMPS,
        "float": st.floats(allow_nan=False, allow_infinity=False),
        "double": st.floats(allow_nan=False, allow_infinity=False),
    }
    return simple[kind]


def _compact(value: Any) -> Any:
    """Empty collections dropped: Query cannot tell an empty map or structure from none."""
    if isinstance(value, dict):
        kept = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [kept for kept in map(_compact, value) if kept not in ({}, [])]
    return value


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data(), which=st.sampled_from(ROUTES))
def test_botocore_serialized_random_input_round_trips(data: st.DataObject, which: tuple[str, str, str]) -> None:
    service, protocol, operation = which
    shape = registry.service_model(service, protocol).operation_model(operation).input_shape
    params = data.draw(values(shape))

    request = botocore_request(service, operation, params, protocol, validate=False)  # no min/max here
    found = route(request, service)

    assert _compact(parse(found, request)) == _compact(params)


OUTPUTS = [("sqs", "json", "ReceiveMessage"), ("sqs", "query", "ReceiveMessage"),
           ("sqs", "query", "SendMessageBatch"), ("kms", "json", "DescribeKey"), ("iam", "query", "ListUsers"),
           ("sns", "query", "GetTopicAttributes"), ("cloudtrail", "json", "LookupEvents"),
           ("sts", "query", "AssumeRole")]


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=st.data(), which=st.sampled_from(OUTPUTS))
def test_random_output_round_trips_through_botocore(data: st.DataObject, which: tuple[str, str, str]) -> None:
    service, protocol, operation = which
    shape = registry.service_model(service, protocol).operation_model(operation).output_shape
    result = data.draw(values(shape))

    response = serialize_result(_route(service, protocol, operation), result, "r")
    parsed = botocore_parse(service, operation, response, protocol)
    parsed.pop("ResponseMetadata")

    assert _compact(parsed) == _compact(result)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12)


def _member_names(service: str, protocol: str, operation: str) -> list[str]:
    shape = registry.service_model(service, protocol).operation_model(operation).input_shape
    return list(shape.members) if shape is not None else ["X"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), which=st.sampled_from([r for r in ROUTES if r[1] == "json"]),
       raw=st.one_of(st.binary(max_size=64), st.just(b"")))
def test_json_parse_raises_only_aws_errors(data: st.DataObject, which: tuple[str, str, str], raw: bytes) -> None:
    service, protocol, operation = which
    names = _member_names(service, protocol, operation)
    document = data.draw(st.dictionaries(st.sampled_from(names) | st.text(max_size=4), JSON_VALUES, max_size=5))
    target = registry.raw_model(service)["metadata"]["targetPrefix"] + "." + operation
    headers = {"x-amz-target": target, "content-type": "application/x-amz-json-1.1"}
    for body in (raw, json.dumps(document).encode()):
        request = HttpRequest("POST", "/", "", headers, body)
        with contextlib.suppress(AwsError):  # anything else fails the test
            parse(route(request, service), request)


FORM_NAME = st.lists(st.sampled_from(["Entries", "member", "entry", "1", "2", "Name", "Value", "key", "value",
                                      "Attribute", "Tag", "Key", "Id", "MessageAttribute", "DataType",
                                      "StringValue", "BinaryValue", "x", ""]), min_size=1, max_size=5).map(".".join)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), which=st.sampled_from([r for r in ROUTES if r[1] == "query"]),
       raw=st.binary(max_size=64))
def test_query_parse_raises_only_aws_errors(data: st.DataObject, which: tuple[str, str, str], raw: bytes) -> None:
    service, protocol, operation = which
    names = st.sampled_from(_member_names(service, protocol, operation)) | FORM_NAME
    pairs = data.draw(st.lists(st.tuples(names | (names.map(lambda n: n + ".1")), st.text(max_size=6)),
                               max_size=8))
    headers = {"content-type": "application/x-www-form-urlencoded"}
    for body in (b"Action=" + operation.encode() + b"&" + raw,
                 urlencode([("Action", operation), *pairs]).encode()):
        request = HttpRequest("POST", "/", "", headers, body)
        with contextlib.suppress(AwsError):  # anything else fails the test
            parse(route(request, service), request)


@settings(max_examples=150, deadline=None)
@given(method=st.sampled_from(["GET", "POST", "PUT"]), path=st.text(max_size=20), query=st.text(max_size=30),
       headers=st.dictionaries(st.sampled_from(["x-amz-target", "content-type", "host"]), st.text(max_size=30)),
       body=st.binary(max_size=40), signed=st.none() | st.sampled_from(["sqs", "sns", "kms", "s3", ""]))
def test_route_raises_only_aws_errors(method: str, path: str, query: str, headers: dict[str, str], body: bytes,
                                      signed: str | None) -> None:
    request = HttpRequest(method, path, query, headers, body)
    with contextlib.suppress(AwsError):  # anything else fails the test
        parse(route(request, signed), request)


# Percent-escapes valid and broken, pluses, backslashes (the fast path's own escape
# character), hex digits, and text beyond ASCII.
FORM_VALUE = st.lists(st.one_of(
    st.sampled_from(["%", "+", "\\", "\\x", "%2", "%zz", "%5C", "%5c%78%34%31", "%C3%A9", "%c3", "%A9", "%25", "x"]),
    st.from_regex(r"%[0-9A-Fa-f]{2}", fullmatch=True), st.text(max_size=4)), max_size=12).map("".join)


@given(FORM_VALUE)
def test_unquote_form_is_urllibs_unquote_plus(value: str) -> None:
    """The C fast path decodes exactly as urllib does, and fails exactly where it does."""
    try:
        expected: str | type[UnicodeDecodeError] = unquote_plus(value, errors="strict")
    except UnicodeDecodeError:
        expected = UnicodeDecodeError
    try:
        got: str | type[UnicodeDecodeError] = unquote_form(value)
    except UnicodeDecodeError:
        got = UnicodeDecodeError
    assert got == expected
