"""IAM and STS errors, named as botocore's models name their shapes (the protocol layer
sends IAM's Query codes: NoSuchEntity, EntityAlreadyExists, ...)."""

from __future__ import annotations

from cipherpost.errors import AwsError


class NoSuchEntityException(AwsError):
    """The request was rejected because it referenced a resource entity that does not exist."""

    code = "NoSuchEntityException"
    status = 404


class EntityAlreadyExistsException(AwsError):
    """The request was rejected because it attempted to create a resource that already exists."""

    code = "EntityAlreadyExistsException"
    status = 409


class DeleteConflictException(AwsError):
    """The request was rejected because it attempted to delete a resource that has subordinate entities."""

    code = "DeleteConflictException"
    status = 409


class MalformedPolicyDocumentException(AwsError):
    """The policy document was malformed."""

    code = "MalformedPolicyDocumentException"
    status = 400


class LimitExceededException(AwsError):
    """The request was rejected because it attempted to create resources beyond the current limits."""

    code = "LimitExceededException"
    status = 409


class InvalidInputException(AwsError):
    """The request was rejected because an invalid or out-of-range value was supplied for an input parameter."""

    code = "InvalidInputException"
    status = 400


class ValidationError(AwsError):
    """A parameter failed to satisfy a constraint."""

    code = "ValidationError"
    status = 400


class StsMalformedPolicyDocument(AwsError):
    """The request was rejected because the policy document was malformed."""

    code = "MalformedPolicyDocument"
    status = 400


class PackedPolicyTooLarge(AwsError):
    """The request was rejected because the total packed size of the session policies exceeds the limit."""

    code = "PackedPolicyTooLarge"
    status = 400


class StsInvalidParameterValue(AwsError):
    """An invalid or out-of-range value was supplied for an input parameter."""

    code = "InvalidParameterValue"
    status = 400
