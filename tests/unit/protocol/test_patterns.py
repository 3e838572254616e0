"""Model ``pattern``s: translated from Java's dialect, enforced by both parsers in the
service's own validation code; and text no store can keep, named member by member."""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET

import pytest

from cipherpost.errors import AwsError, aws_error
from cipherpost.protocol import HttpRequest, parse, registry, route, serialize_error, unstorable_text
from cipherpost.protocol.patterns import model_pattern, translate
from cipherpost.protocol.routing import Route
from cipherpost.protocol.validation import shown
from cipherpost.store import is_storable

FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
TAG_VALUE = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"


def _model_patterns() -> list[tuple[str, str, str]]:
    found = []
    for service, spec in registry.SERVICES.items():
        model = registry.service_model(service, spec.protocols[0])
        for name in model.shape_names:
            text = model.shape_for(name).metadata.get("pattern")
            if text:
                found.append((service, name, text))
    return found


MODEL_PATTERNS = _model_patterns()


def test_models_have_patterns() -> None:
    assert {service for service, _, _ in MODEL_PATTERNS} >= {"iam", "kms", "sts"}


@pytest.mark.parametrize(("service", "shape", "text"), MODEL_PATTERNS,
                         ids=[f"{service}-{shape}" for service, shape, _ in MODEL_PATTERNS])
def test_every_pattern_of_every_model_we_serve_translates(service: str, shape: str, text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "possible nested set": Java and Python would differ
        assert model_pattern(text) is not None, translate(text)


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    (TAG_VALUE, "plain words 1.5 a=b @x", True),
    (TAG_VALUE, "中文 العربية ١٢٣ ünïcødé", True),  # \p{L} and \p{N} are Unicode-wide
    (TAG_VALUE, "", True),
    (TAG_VALUE, "a\x00b", False),
    (TAG_VALUE, "emoji 😀", False),  # So: not a letter, number or separator
    (TAG_VALUE, "hash#", False),
    (r"[\w+=,.@-]+", "user_1+x@y.z", True),
    (r"[\w+=,.@-]+", "é", False),  # Java's \w is ASCII-only
    (r"[\w+=,.@-]+", "", False),
    (r"[\w+=,.@-]+", "bob\n", False),  # the whole value must match
    (r"^[a-zA-Z0-9:/_-]+$", "alias/ok\n", False),  # "$" does not let a trailing newline through
    (r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)", "/", True),
    (r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)", "/a/b/", True),
    (r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)", "/a\x00/", False),
    (r"[\u0009\u000A\u000D\u0020-\u00FF]+", '{"Sid": "ÿ\t"}', True),
    (r"[\u0009\u000A\u000D\u0020-\u00FF]+", '{"Sid": "\x00"}', False),
    (r"[\u0009\u000A\u000D\u0020-\u00FF]+", '{"Sid": "Ā"}', False),
    # A UTF-16 surrogate pair in a Java pattern is one astral character.
    (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "emoji 😀 \U0010ffff", True),
    (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "nul \x00", False),
    (r"\P{L}+", "123", True),
    (r"\P{L}+", "abc", False),
])
def test_pattern_semantics_follow_java(pattern: str, value: str, matches: bool) -> None:
    compiled = model_pattern(pattern)

    assert compiled is not None
    assert compiled.matches(value) is matches


def test_untranslatable_pattern_is_not_enforced() -> None:
    assert model_pattern(r"[a\P{L}]") is None  # negated property inside a class
    assert model_pattern(r"\p{Nope}") is None


def _parse(signed: str, headers: dict[str, str], body: bytes) -> dict[str, object]:
    request = HttpRequest("POST", "/", "", headers, body)
    return parse(route(request, signed), request)


def _json(target: str) -> dict[str, str]:
    return {"x-amz-target": target, "content-type": "application/x-amz-json-1.1"}


@pytest.mark.parametrize(("signed", "headers", "body", "code", "path"), [
    ("iam", FORM, b"Action=CreateUser&UserName=a%00b", "ValidationError", "'UserName'"),
    ("iam", FORM, b"Action=CreateUser&UserName=u&Path=/a%00/", "ValidationError", "'Path'"),
    ("iam", FORM, b"Action=CreateUser&UserName=u&Tags.member.1.Key=k&Tags.member.1.Value=v%00",
     "ValidationError", "'Tags.member.1.Value'"),
    ("iam", FORM, b"Action=CreateRole&RoleName=r&AssumeRolePolicyDocument=%7B%7D&Description=d%00",
     "ValidationError", "'Description'"),
    ("sts", FORM, b"Action=AssumeRole&RoleArn=arn:aws:iam::000000000000:role/r&RoleSessionName=s%00s",
     "ValidationError", "'RoleSessionName'"),
    ("kms", _json("TrentService.CreateAlias"), b'{"AliasName": "alias/a\\u0000", "TargetKeyId": "k"}',
     "ValidationException", "'aliasName'"),
    ("kms", _json("TrentService.CreateKey"), b'{"Policy": "{\\"a\\": \\"\\u0000\\"}"}',
     "ValidationException", "'policy'"),
])
def test_pattern_violation_gets_the_service_validation_code(signed: str, headers: dict[str, str], body: bytes,
                                                            code: str, path: str) -> None:
    with pytest.raises(AwsError) as caught:
        _parse(signed, headers, body)

    assert caught.value.code == code and caught.value.status == 400
    assert f"at {path} failed to satisfy constraint: Member must satisfy regular expression pattern: " \
        in caught.value.message
    assert "\x00" not in caught.value.message and "\\u0000" in caught.value.message


def test_valid_unicode_passes_patterns() -> None:
    params = _parse("iam", FORM, "Action=CreateUser&UserName=u&Tags.member.1.Key=k&Tags.member.1.Value=中文 ü"
                    .encode())

    assert params["Tags"] == [{"Key": "k", "Value": "中文 ü"}]


def test_members_without_pattern_are_not_checked() -> None:
    params = _parse("kms", _json("TrentService.CreateKey"), b'{"Description": "a\\u0000b"}')

    assert params == {"Description": "a\x00b"}  # the store, not the parser, refuses this one


def test_shown_values_escape_what_xml_cannot_carry() -> None:
    assert shown("a\x00b\x1f\ud800\ufffe\tc\n") == "a\\u0000b\\u001f\\ud800\\ufffe\tc\n"
    assert shown("x" * 100 + "\x00") == "x" * 61 + "..."
    assert shown("emoji 😀 中文") == "emoji 😀 中文"


@pytest.mark.parametrize("message", ["raw nul \x00 here", "lone \ud800 surrogate", "bell \x07"])
def test_query_error_message_is_always_well_formed_xml(message: str) -> None:
    response = serialize_error(aws_error("ValidationError", message), "r", service="iam", protocol="query")

    root = ET.fromstring(response.body)  # raises on text XML 1.0 cannot hold
    assert root.find(".//{*}Message") is not None


def _route(service: str, protocol: str, operation: str) -> Route:
    return Route(service, protocol, registry.service_model(service, protocol).operation_model(operation))


def test_unstorable_text_names_members_json() -> None:
    params = {"Description": "ok", "Tags": [{"TagKey": "k", "TagValue": "ok"}, {"TagKey": "k2", "TagValue": "v\x00"}]}

    error = unstorable_text(_route("kms", "json", "CreateKey"), params, is_storable)

    assert error.code == "ValidationException"
    assert error.message == ("1 validation error detected: Value 'v\\u0000' at 'tags.2.member.tagValue' failed to "
                             "satisfy constraint: Member must not contain the NUL character (U+0000)")


def test_unstorable_text_names_map_keys_and_values() -> None:
    params = {"QueueUrl": "u", "Tags": {"k\x00": "fine", "k": "lone \udc00"}}

    error = unstorable_text(_route("sqs", "json", "TagQueue"), params, is_storable)

    assert error.code == "InvalidParameterValue"
    assert error.message.startswith("2 validation errors detected: ")
    assert "Value 'k\\u0000' at 'tags.k\\u0000' failed" in error.message
    assert "at 'tags.k' failed to satisfy constraint: Member must be valid Unicode text" in error.message


def test_unstorable_text_names_members_query() -> None:
    params = {"PolicyName": "p", "PolicyDocument": "{}", "Description": "d\x00"}

    error = unstorable_text(_route("iam", "query", "CreatePolicy"), params, is_storable)

    assert error.code == "ValidationError"
    assert "at 'Description' failed" in error.message


def test_unstorable_text_without_a_culprit_in_the_request() -> None:
    error = unstorable_text(_route("sns", "query", "CreateTopic"), {"Name": "t"}, is_storable)

    assert error.code == "InvalidParameter"
    assert "U+0000" in error.message
