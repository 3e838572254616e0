"""SNS's errors: small classes whose docstring is the default message.

SNS answers every malformed parameter with ``InvalidParameter`` (HTTP 400); the message
names the parameter, as AWS does: ``Invalid parameter: FilterPolicy: ...``.
"""

from __future__ import annotations

from cipherpost.errors import AwsError
from cipherpost.protocol.errors import InvalidParameter

__all__ = ["InvalidAttribute", "InvalidFilterPolicy", "InvalidParameter", "filter_policy_error"]  # and below


class InvalidAttribute(InvalidParameter):
    """Invalid parameter: a subscription attribute's value is invalid.

    ``detail`` names the attribute (``RawMessageDelivery: Invalid value [x]. ...``).
    SetSubscriptionAttributes answers ``Invalid parameter: <detail>``; Subscribe, where the
    value came in ``Attributes``, answers :meth:`in_attributes`, as AWS words each.
    """

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__("Invalid parameter: " + detail)

    def in_attributes(self) -> InvalidParameter:
        """Subscribe's wording: ``Invalid parameter: Attributes Reason: <detail>``."""
        return InvalidParameter("Invalid parameter: Attributes Reason: " + self.detail)


class InvalidFilterPolicy(InvalidAttribute):
    """Invalid parameter: FilterPolicy: the filter policy is invalid."""


def filter_policy_error(detail: str) -> InvalidFilterPolicy:
    """An :class:`InvalidFilterPolicy` whose message is AWS's prefix followed by ``detail``."""
    return InvalidFilterPolicy("FilterPolicy: " + detail)


# --- Service errors: the shape names of botocore's SNS model (the serializer writes their
# Query codes: ``NotFoundException`` -> ``NotFound``, ``KMSDisabledException`` -> ``KMSDisabled``).


class NotFound(AwsError):
    """Indicates that the requested resource does not exist."""

    code = "NotFoundException"
    status = 404


class ResourceNotFound(AwsError):
    """Can't perform the action on the specified resource. Make sure that the resource exists."""

    code = "ResourceNotFoundException"
    status = 404


class InvalidParameterValue(AwsError):
    """Indicates that a request parameter does not comply with the associated constraints."""

    code = "InvalidParameterValueException"
    status = 400


class TagLimitExceeded(AwsError):
    """Can't add more than 50 tags to a topic."""

    code = "TagLimitExceededException"
    status = 400


class KmsAccessDenied(AwsError):
    """The ciphertext references a key that doesn't exist or that you don't have access to."""

    code = "KMSAccessDeniedException"
    status = 400


class KmsDisabled(AwsError):
    """The request was rejected because the specified Amazon Web Services KMS key isn't enabled."""

    code = "KMSDisabledException"
    status = 400


class KmsInvalidState(AwsError):
    """The request was rejected because the state of the specified resource isn't valid for this request."""

    code = "KMSInvalidStateException"
    status = 400


class KmsNotFound(AwsError):
    """The request was rejected because the specified entity or resource can't be found."""

    code = "KMSNotFoundException"
    status = 400


class KmsThrottling(AwsError):
    """The request was denied due to request throttling."""

    code = "KMSThrottlingException"
    status = 400


class EmptyBatchRequest(AwsError):
    """The batch request doesn't contain any entries."""

    code = "EmptyBatchRequestException"


class TooManyEntriesInBatchRequest(AwsError):
    """The batch request contains more entries than permissible (more than 10)."""

    code = "TooManyEntriesInBatchRequestException"


class BatchEntryIdsNotDistinct(AwsError):
    """Two or more batch entries in the request have the same Id."""

    code = "BatchEntryIdsNotDistinctException"


class InvalidBatchEntryId(AwsError):
    """The Id of a batch entry in a batch request doesn't abide by the specification."""

    code = "InvalidBatchEntryIdException"


class BatchRequestTooLong(AwsError):
    """The length of all the messages put together is more than the limit."""

    code = "BatchRequestTooLongException"
