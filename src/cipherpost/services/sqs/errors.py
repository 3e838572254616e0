"""SQS's errors: one small class per AWS error code; the docstring is the default message.

``code`` is the error shape name in botocore's SQS model; the protocol layer answers Query
clients (and JSON clients, in ``x-amzn-query-error``) with the Query-side code, e.g.
``QueueDoesNotExist`` -> ``AWS.SimpleQueueService.NonExistentQueue``. Codes that are not
model shapes (``MissingParameter``, ``InvalidParameterValue``) are the ones SQS's Query
API reference lists under "Common Errors".
"""

from __future__ import annotations

from cipherpost.errors import AwsError
from cipherpost.protocol.errors import InvalidParameterValue, MissingParameter

__all__ = [
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBatchEntryId",
    "InvalidMessageContents",
    "InvalidParameterValue",
    "KmsAccessDenied",
    "KmsDisabled",
    "KmsInvalidKeyUsage",
    "KmsInvalidState",
    "KmsNotFound",
    "KmsOptInRequired",
    "KmsThrottled",
    "MessageNotInflight",
    "MissingParameter",
    "OverLimit",
    "PurgeQueueInProgress",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "QueueNameExists",
    "ReceiptHandleIsInvalid",
    "ResourceNotFoundException",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
]


class QueueDoesNotExist(AwsError):
    """The specified queue doesn't exist."""

    code = "QueueDoesNotExist"


class QueueDeletedRecently(AwsError):
    """You must wait 60 seconds after deleting a queue before you can create another queue
    with the same name."""

    code = "QueueDeletedRecently"


class QueueNameExists(AwsError):
    """A queue with this name already exists. Amazon SQS returns this error only if the
    request includes attributes whose values differ from those of the existing queue."""

    code = "QueueNameExists"


class InvalidAttributeName(AwsError):
    """The specified attribute doesn't exist."""

    code = "InvalidAttributeName"


class InvalidAttributeValue(AwsError):
    """A queue attribute value is invalid."""

    code = "InvalidAttributeValue"


class InvalidMessageContents(AwsError):
    """The message contains characters outside the allowed set."""

    code = "InvalidMessageContents"


class ReceiptHandleIsInvalid(AwsError):
    """The specified receipt handle isn't valid."""

    code = "ReceiptHandleIsInvalid"


class MessageNotInflight(AwsError):
    """The specified message isn't in flight."""

    code = "MessageNotInflight"


class TooManyEntriesInBatchRequest(AwsError):
    """The batch request contains more entries than permissible (10)."""

    code = "TooManyEntriesInBatchRequest"


class EmptyBatchRequest(AwsError):
    """The batch request doesn't contain any entries."""

    code = "EmptyBatchRequest"


class BatchEntryIdsNotDistinct(AwsError):
    """Two or more batch entries in the request have the same Id."""

    code = "BatchEntryIdsNotDistinct"


class InvalidBatchEntryId(AwsError):
    """The Id of a batch entry in a batch request doesn't abide by the specification."""

    code = "InvalidBatchEntryId"


class BatchRequestTooLong(AwsError):
    """The length of all the messages put together is more than the limit."""

    code = "BatchRequestTooLong"


class PurgeQueueInProgress(AwsError):
    """Indicates that the specified queue previously received a PurgeQueue request within
    the last 60 seconds (the time it can take to delete the messages in the queue)."""

    code = "PurgeQueueInProgress"
    status = 403  # over both protocols: the JSON protocol keeps the Query API's HTTP status


class OverLimit(AwsError):
    """The specified action violates a limit."""

    code = "OverLimit"
    status = 403


class UnsupportedOperation(AwsError):
    """Error code 400. Unsupported operation."""

    code = "UnsupportedOperation"


class ResourceNotFoundException(AwsError):
    """One or more specified resources don't exist."""

    code = "ResourceNotFoundException"
    status = 404  # AWS answers the move task operations' unknown resources with 404


# --- SSE-KMS: what SQS answers when KMS refuses (shape names of botocore's SQS model; they
# carry no ``error.code`` trait, so Query clients see the same codes). ---


class KmsDisabled(AwsError):
    """The request was denied because the specified KMS key isn't enabled."""

    code = "KmsDisabled"


class KmsInvalidState(AwsError):
    """The request was rejected because the state of the specified KMS key isn't valid for
    this request (it is pending deletion)."""

    code = "KmsInvalidState"


class KmsNotFound(AwsError):
    """The request was rejected because the specified KMS key could not be found."""

    code = "KmsNotFound"


class KmsAccessDenied(AwsError):
    """The caller doesn't have the required KMS access."""

    code = "KmsAccessDenied"


class KmsOptInRequired(AwsError):
    """The request was rejected because the specified key policy isn't syntactically or
    semantically correct."""

    code = "KmsOptInRequired"


class KmsThrottled(AwsError):
    """Amazon Web Services KMS throttled the request."""

    code = "KmsThrottled"


class KmsInvalidKeyUsage(AwsError):
    """The request was rejected because the KMS key cannot be used for this operation
    (its KeyUsage or KeySpec does not allow symmetric encryption)."""

    code = "KmsInvalidKeyUsage"
