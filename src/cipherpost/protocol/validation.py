"""Request validation failures, and which error code each service answers them with.

Parsers collect every problem of a request into :class:`Problems`, then raise once, so
the message lists them all, in the wording of AWS's own validation layer:
``1 validation error detected: Value null at 'topicArn' failed to satisfy constraint:
Member must not be null``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cipherpost.errors import AwsError
from cipherpost.protocol import errors
from cipherpost.protocol.shapes import Member, Plan


@dataclass(frozen=True, slots=True)
class ValidationRules:
    """The error classes one service answers request-validation failures with."""

    #: A required member is absent.
    missing: type[AwsError]
    #: A value breaks a constraint (enum, pattern, storable text), or the request is
    #: malformed (form, content type).
    invalid: type[AwsError]
    #: A value cannot be read as its member's type (number, boolean, base64, timestamp).
    bad_type: type[AwsError]
    #: Query requests: the service's own message for an absent required member (``{path}``:
    #: its name); None: the validation layer's "Value null at ..." list.
    query_missing_message: str | None = None
    #: Whether that message also words an absent member nested in another (else only a
    #: top-level one; nested ones get the "Value null at ..." list).
    query_missing_nested: bool = True


_JSON_SERVICE: Final = ValidationRules(
    missing=errors.ValidationException,
    invalid=errors.ValidationException,
    # JSON services (AWS's Coral framework) fail type mismatches while deserializing.
    bad_type=errors.SerializationException,
)

#: Behaviour as data. STS and IAM answer ``ValidationError``; SNS ``InvalidParameter``;
#: SQS ``MissingParameter`` for an absent required parameter, else
#: ``InvalidParameterValue`` (over JSON too, with the same code in x-amzn-query-error);
#: KMS and CloudTrail the framework's ``ValidationException`` — CloudTrail's model has
#: ``InvalidParameterException`` but AWS keeps it for semantic checks its handlers make.
SERVICE_RULES: Final = {
    "sts": ValidationRules(errors.ValidationError, errors.ValidationError, errors.ValidationError),
    "iam": ValidationRules(errors.ValidationError, errors.ValidationError, errors.ValidationError),
    # SNS words an absent top-level parameter itself (recorded: Unsubscribe without
    # SubscriptionArn, "Invalid parameter: SubscriptionArn Reason: no value for required parameter").
    "sns": ValidationRules(
        errors.InvalidParameter, errors.InvalidParameter, errors.InvalidParameter,
        query_missing_message="Invalid parameter: {path} Reason: no value for required parameter",
        query_missing_nested=False,
    ),
    # SQS's Query API words an absent parameter itself (recorded over Query: "The request
    # must contain the parameter MessageBody.").
    "sqs": ValidationRules(
        errors.MissingParameter, errors.InvalidParameterValue, errors.InvalidParameterValue,
        query_missing_message="The request must contain the parameter {path}.",
    ),
    "kms": _JSON_SERVICE,
    "cloudtrail": _JSON_SERVICE,
}

_MAX_SHOWN: Final = 64
#: What an error message must not quote raw: characters XML 1.0 cannot carry (C0 controls
#: but tab, LF and CR; U+FFFE, U+FFFF) and lone surrogates, which are not text at all.
_UNSHOWABLE: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def rules_for(service: str) -> ValidationRules:
    """The validation rules of ``service`` (JSON-service defaults when unlisted)."""
    return SERVICE_RULES.get(service, _JSON_SERVICE)


def invalid_request(service: str, message: str) -> AwsError:
    """A malformed request (form encoding, content type) in ``service``'s own code."""
    return rules_for(service).invalid(message)


def shown(value: object) -> str:
    """A value as quoted in an error message: shortened, with unshowable characters
    written as ``\\u0000`` escapes."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return printable(text)


def is_xml_text(text: str) -> bool:
    """Whether an XML response can carry ``text`` as it is (a Query service answers in XML)."""
    return _UNSHOWABLE.search(text) is None


def printable(text: str) -> str:
    """``text`` with the characters of ``_UNSHOWABLE`` written as ``\\uXXXX`` escapes."""
    return _UNSHOWABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class Problems:
    """Every validation problem found in one request, raised together."""

    __slots__ = ("_kinds", "_missing", "_texts")

    def __init__(self) -> None:
        self._kinds: set[str] = set()
        self._texts: list[str] = []
        self._missing: list[str] = []

    def __bool__(self) -> bool:
        return bool(self._texts)

    def missing(self, path: str) -> None:
        """A required member is absent (or JSON ``null``)."""
        self._missing.append(path)
        self._add("missing", f"Value null at '{path}' failed to satisfy constraint: "
                             "Member must not be null")

    def bad_enum(self, path: str, value: str, allowed: frozenset[str]) -> None:
        """A string is outside its member's enum."""
        choices = ", ".join(sorted(allowed))
        self._add("invalid", f"Value '{shown(value)}' at '{path}' failed to satisfy constraint: "
                             f"Member must satisfy enum value set: [{choices}]")

    def bad_pattern(self, path: str, value: str, pattern: str) -> None:
        """A string does not match its member's ``pattern``."""
        self._add("invalid", f"Value '{shown(value)}' at '{path}' failed to satisfy constraint: "
                             f"Member must satisfy regular expression pattern: {pattern}")

    def unstorable(self, path: str, value: str) -> None:
        """A string the store cannot keep as text: it holds U+0000 or a lone surrogate."""
        rule = ("Member must not contain the NUL character (U+0000)" if "\x00" in value
                else "Member must be valid Unicode text (no unpaired surrogates)")
        self._add("invalid", f"Value '{shown(value)}' at '{path}' failed to satisfy constraint: {rule}")

    def bad_type(self, path: str, value: object, expected: str) -> None:
        """A value that cannot be read as its member's type."""
        self._add("bad_type", f"Value '{shown(value)}' at '{path}' failed to satisfy "
                              f"constraint: Member must be {expected}")

    def _add(self, kind: str, text: str) -> None:
        self._kinds.add(kind)
        self._texts.append(printable(text))  # a path may quote a map key

    def error(self, service: str, *, query: bool = False) -> AwsError:
        """The one error for all problems, in ``service``'s code (most severe kind);
        ``query``: the request came over the Query protocol."""
        rules = rules_for(service)
        if "bad_type" in self._kinds:
            cls = rules.bad_type
        elif "invalid" in self._kinds:
            cls = rules.invalid
        else:
            cls = rules.missing
            if query and rules.query_missing_message is not None and (
                    rules.query_missing_nested or "." not in self._missing[0]):
                return cls(rules.query_missing_message.format(path=printable(self._missing[0])))
        count = len(self._texts)
        noun = "error" if count == 1 else "errors"
        return cls(f"{count} validation {noun} detected: " + "; ".join(self._texts))


def unstorable_text(service: str, plan: Plan | None, params: Mapping[str, Any] | None,
                    storable: Callable[[str], bool], *, query: bool = False) -> AwsError:
    """The validation error for a request with text the store refused to keep, naming each
    member whose text fails ``storable``, by the path the parser of the request's protocol
    (``query`` or JSON) gives it."""
    problems = Problems()
    paths = _QueryPaths() if query else _JsonPaths()
    for path, value in _unstorable(plan, params or {}, "", storable, paths):
        problems.unstorable(path, value)
    if not problems:
        return rules_for(service).invalid(
            "The request holds text that cannot be stored: the NUL character (U+0000) or an "
            "unpaired surrogate.")
    return problems.error(service)


class _JsonPaths:
    """Member paths as the JSON parser writes them: ``tags.1.member.tagValue``."""

    def member(self, path: str, member: Member) -> str:
        return f"{path}.{member.path}" if path else member.path

    def item(self, path: str, plan: Plan, index: int) -> str:
        return f"{path}.{index}.member"

    def entry(self, path: str, plan: Plan, index: int, key: str, part: str) -> str:
        return f"{path}.{key}"


class _QueryPaths(_JsonPaths):
    """Member paths as the Query parser writes them: ``Tags.member.1.Value``."""

    def member(self, path: str, member: Member) -> str:
        return f"{path}.{member.qname}" if path else member.qname

    def item(self, path: str, plan: Plan, index: int) -> str:
        if plan.flattened:
            return f"{path}.{index}"
        return f"{path}.{(plan.item.xml_name if plan.item else None) or 'member'}.{index}"

    def entry(self, path: str, plan: Plan, index: int, key: str, part: str) -> str:
        name = ((plan.key if part == "key" else plan.value) or plan).xml_name or part
        return f"{path}.{index}.{name}" if plan.flattened else f"{path}.entry.{index}.{name}"


def _unstorable(plan: Plan | None, value: Any, path: str, storable: Callable[[str], bool],
                paths: _JsonPaths) -> Iterator[tuple[str, str]]:
    """(path, text) of every string in ``value`` that fails ``storable``, walked along ``plan``."""
    if isinstance(value, str):
        if not storable(value):
            yield path, value
    elif plan is None:
        return  # not a member of the model: the parser never produces one
    elif isinstance(value, Mapping) and plan.kind == "structure":
        for name, item in value.items():
            member = plan.by_name.get(name)
            if member is not None:
                yield from _unstorable(member.plan, item, paths.member(path, member), storable, paths)
    elif isinstance(value, Mapping) and plan.kind == "map":
        for index, (key, item) in enumerate(value.items(), 1):
            if isinstance(key, str) and not storable(key):
                yield paths.entry(path, plan, index, key, "key"), key
            yield from _unstorable(plan.value, item, paths.entry(path, plan, index, key, "value"), storable, paths)
    elif isinstance(value, list) and plan.kind == "list":
        for index, item in enumerate(value, 1):
            yield from _unstorable(plan.item, item, paths.item(path, plan, index), storable, paths)
