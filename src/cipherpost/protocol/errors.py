"""Errors the protocol layer raises: routing failures and request validation failures.

Small typed classes over :class:`cipherpost.errors.AwsError`; the docstring is the default
message. Which validation class a service answers with is data, in ``validation.py``.
"""

from __future__ import annotations

from typing import Final

from cipherpost.errors import AwsError

# --- Routing: which service and operation? ---


class RoutingError(AwsError):
    """A request routing failed on, once the service it is for is known."""

    def __init__(self, message: str | None = None, *, service: str | None = None) -> None:
        super().__init__(message)
        self.service = service
        """The service the request is for (its wire format answers), if known."""


#: How a service words an unknown ``Action`` ("for this web service" unless listed).
_ACTION_SCOPE: Final = {"sqs": "endpoint"}


class InvalidAction(RoutingError):
    """The action or operation requested is invalid. Verify that the action is typed
    correctly."""

    code = "InvalidAction"
    status = 400
    json_code = "UnknownOperationException"

    @classmethod
    def named(cls, action: str, service: str | None = None) -> InvalidAction:
        """The error for an ``Action`` the service does not have (AWS's own wording)."""
        scope = _ACTION_SCOPE.get(service or "", "web service")
        return cls(f"The action {action} is not valid for this {scope}.", service=service)


class BareUnknownOperation(RoutingError):
    """SQS: a request to a queue URL without an ``Action`` (e.g. a plain GET of the URL).

    AWS answers 404 with the bare XML document ``<UnknownOperationException/>``, not an
    ``<ErrorResponse>``; the Query serializer writes this class so.
    """

    code = "UnknownOperationException"
    status = 404


class MissingAction(AwsError):
    """The request must contain the parameter Action."""

    code = "MissingAction"
    status = 400
    json_code = "UnknownOperationException"


class UnknownService(AwsError):
    """Could not determine which service this request is for: sign it with SigV4, send
    an X-Amz-Target header, or pass the service's Version parameter."""

    code = "InvalidAction"
    status = 400
    json_code = "UnknownOperationException"


class UnknownOperationException(AwsError):
    """The operation requested is not supported by this service."""

    code = "UnknownOperationException"
    status = 400


class SerializationException(AwsError):
    """The request body could not be deserialized."""

    code = "SerializationException"
    status = 400


# --- Validation codes, one class per code AWS uses (see validation.SERVICE_RULES) ---


class ValidationError(AwsError):
    """The request failed validation (STS, IAM)."""

    code = "ValidationError"
    status = 400


class InvalidParameter(AwsError):
    """Invalid parameter (SNS)."""

    code = "InvalidParameter"
    status = 400


class MissingParameter(AwsError):
    """A required parameter for the specified action is not supplied (SQS)."""

    code = "MissingParameter"
    status = 400
    #: SQS's JSON protocol names it so in ``__type`` (the Query code goes in x-amzn-query-error).
    json_code = "MissingRequiredParameterException"


class InvalidParameterValue(AwsError):
    """An invalid or out-of-range value was supplied for the input parameter (SQS)."""

    code = "InvalidParameterValue"
    status = 400
    json_code = "InvalidParameterValueException"


class ValidationException(AwsError):
    """The input fails to satisfy the constraints specified by the service (KMS,
    CloudTrail, and other JSON services)."""

    code = "ValidationException"
    status = 400
