"""AWS errors as small typed classes.

Handlers and lower layers raise these anywhere; they are serialized exactly once, at the
protocol edge, in the caller's wire format. ``code`` is the AWS error code as botocore's
service model names it (the shape name for JSON services; the query-side code, when a
model shape carries an ``error.code`` trait, is looked up by the serializer).
The class docstring is the default message.
"""

from __future__ import annotations

from typing import ClassVar


class AwsError(Exception):
    """An error occurred."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True
    #: Where AWS's JSON-protocol services answer with another code/status for the same
    #: failure (auth errors: ``InvalidClientTokenId`` over query is
    #: ``UnrecognizedClientException`` over JSON), the JSON side; ``None`` means "same".
    json_code: ClassVar[str | None] = None
    json_status: ClassVar[int | None] = None

    def __init__(self, message: str | None = None) -> None:
        doc = " ".join((type(self).__doc__ or self.code).split())
        self.message = doc if message is None else message
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def aws_error(code: str, message: str, *, status: int = 400, sender_fault: bool = True) -> AwsError:
    """An error whose code is only known at run time (e.g. a code taken from a model)."""
    cls: type[AwsError] = type(code, (AwsError,), {"code": code, "status": status, "sender_fault": sender_fault})
    return cls(message)


class InternalFailure(AwsError):
    """The request processing has failed because of an unknown error, exception or failure."""

    code = "InternalFailure"
    status = 500
    sender_fault = False


class ServiceUnavailable(AwsError):
    """The request has failed due to a temporary failure of the server."""

    code = "ServiceUnavailable"
    status = 503
    sender_fault = False


class AccessDenied(AwsError):
    """You do not have sufficient access to perform this action."""

    code = "AccessDenied"
    status = 403


# --- Authentication (SigV4). Query services and JSON services name these differently. ---


class MissingAuthenticationToken(AwsError):
    """Request is missing Authentication Token"""

    code = "MissingAuthenticationToken"
    status = 403
    json_code = "MissingAuthenticationTokenException"
    json_status = 400


class IncompleteSignature(AwsError):
    """The request signature does not conform to AWS standards."""

    code = "IncompleteSignature"
    status = 403
    json_code = "IncompleteSignatureException"
    json_status = 400


class InvalidClientTokenId(AwsError):
    """The security token included in the request is invalid."""

    code = "InvalidClientTokenId"
    status = 403
    json_code = "UnrecognizedClientException"
    json_status = 400


class SignatureDoesNotMatch(AwsError):
    """The request signature we calculated does not match the signature you provided.
    Check your AWS Secret Access Key and signing method. Consult the service documentation
    for details."""

    code = "SignatureDoesNotMatch"
    status = 403
    json_code = "InvalidSignatureException"
    json_status = 400


class RequestExpired(AwsError):
    """Request has expired."""

    code = "RequestExpired"
    status = 400
    json_code = "InvalidSignatureException"
    json_status = 400


class ExpiredToken(AwsError):
    """The security token included in the request is expired"""

    code = "ExpiredToken"
    status = 403
    json_code = "ExpiredTokenException"
    json_status = 400
