"""Request validation failures, and which error code each service answers them with.

Parsers collect every problem of a request into :class:`Problems`, then raise once, so
the message lists them all, in the wording of AWS's own validation layer:
``1 validation error detected: Value null at 'topicArn' failed to satisfy constraint:
Member must not be null``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cipherpost.errors import AwsError
from cipherpost.protocol import errors


@dataclass(frozen=True, slots=True)
class ValidationRules:
    """The error classes one service answers request-validation failures with."""

    #: A required member is absent.
    missing: type[AwsError]
    #: A value breaks a constraint (enum), or the request is malformed (form, content type).
    invalid: type[AwsError]
    #: A value cannot be read as its member's type (number, boolean, base64, timestamp).
    bad_type: type[AwsError]


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
    "sns": ValidationRules(errors.InvalidParameter, errors.InvalidParameter, errors.InvalidParameter),
    "sqs": ValidationRules(
        errors.MissingParameter, errors.InvalidParameterValue, errors.InvalidParameterValue
    ),
    "kms": _JSON_SERVICE,
    "cloudtrail": _JSON_SERVICE,
}

_MAX_SHOWN: Final = 64


def rules_for(service: str) -> ValidationRules:
    """The validation rules of ``service`` (JSON-service defaults when unlisted)."""
    return SERVICE_RULES.get(service, _JSON_SERVICE)


def invalid_request(service: str, message: str) -> AwsError:
    """A malformed request (form encoding, content type) in ``service``'s own code."""
    return rules_for(service).invalid(message)


def shown(value: object) -> str:
    """A value as quoted in an error message: quoted, shortened."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class Problems:
    """Every validation problem found in one request, raised together."""

    __slots__ = ("_kinds", "_texts")

    def __init__(self) -> None:
        self._kinds: set[str] = set()
        self._texts: list[str] = []

    def __bool__(self) -> bool:
        return bool(self._texts)

    def missing(self, path: str) -> None:
        """A required member is absent (or JSON ``null``)."""
        self._add("missing", f"Value null at '{path}' failed to satisfy constraint: "
                             "Member must not be null")

    def bad_enum(self, path: str, value: str, allowed: frozenset[str]) -> None:
        """A string is outside its member's enum."""
        choices = ", ".join(sorted(allowed))
        self._add("invalid", f"Value '{shown(value)}' at '{path}' failed to satisfy constraint: "
                             f"Member must satisfy enum value set: [{choices}]")

    def bad_type(self, path: str, value: object, expected: str) -> None:
        """A value that cannot be read as its member's type."""
        self._add("bad_type", f"Value '{shown(value)}' at '{path}' failed to satisfy "
                              f"constraint: Member must be {expected}")

    def _add(self, kind: str, text: str) -> None:
        self._kinds.add(kind)
        self._texts.append(text)

    def error(self, service: str) -> AwsError:
        """The one error for all problems, in ``service``'s code (most severe kind)."""
        rules = rules_for(service)
        if "bad_type" in self._kinds:
            cls = rules.bad_type
        elif "invalid" in self._kinds:
            cls = rules.invalid
        else:
            cls = rules.missing
        count = len(self._texts)
        noun = "error" if count == 1 else "errors"
        return cls(f"{count} validation {noun} detected: " + "; ".join(self._texts))
