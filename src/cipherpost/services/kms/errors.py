"""KMS errors: one small class per code in botocore's ``kms`` model (the shape name is the code).

The docstring is the default message, taken from the model's description of the shape.
``AccessDeniedException`` lives in :mod:`cipherpost.services.authz` (every KMS denial goes
through the authorizer); it is re-exported here so callers of the internal API (SNS, SQS)
can catch every KMS failure from one module.
"""

from __future__ import annotations

from cipherpost.errors import AwsError
from cipherpost.protocol.errors import ValidationException
from cipherpost.services.authz import AccessDeniedException

__all__ = [
    "INCORRECT_KEY",
    "AccessDeniedException",
    "AlreadyExistsException",
    "ConflictException",
    "DisabledException",
    "DryRunOperationException",
    "ExpiredImportTokenException",
    "IncorrectKeyException",
    "IncorrectKeyMaterialException",
    "InvalidAliasNameException",
    "InvalidArnException",
    "InvalidCiphertextException",
    "InvalidGrantIdException",
    "InvalidGrantTokenException",
    "InvalidImportTokenException",
    "InvalidKeyUsageException",
    "InvalidMarkerException",
    "KMSInvalidMacException",
    "KMSInvalidSignatureException",
    "KMSInvalidStateException",
    "KmsError",
    "LimitExceededException",
    "MalformedPolicyDocumentException",
    "NotAuthorizedException",
    "NotFoundException",
    "TagException",
    "UnsupportedOperationException",
    "ValidationException",
]

#: AWS's message for IncorrectKeyException (LocalStack's recordings against AWS).
INCORRECT_KEY = "The key ID in the request does not identify a CMK that can perform this operation."

#: Every error the KMS provider raises on purpose (for ``except KmsError`` in SNS/SQS).
KmsError = AwsError


class NotFoundException(AwsError):
    """The request was rejected because the specified entity or resource could not be found."""

    code = "NotFoundException"


class DisabledException(AwsError):
    """The request was rejected because the specified KMS key is not enabled."""

    code = "DisabledException"


class KMSInvalidStateException(AwsError):
    """The request was rejected because the state of the specified resource is not valid for
    this request."""

    code = "KMSInvalidStateException"


class _Silent(AwsError):
    """An error AWS answers without a message (LocalStack's recordings against AWS: no
    ``message`` member at all). The docstring still documents it; the wire carries none."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("" if message is None else message)


class InvalidCiphertextException(_Silent):
    """The request was rejected because the specified ciphertext, or additional authenticated
    data incorporated into the ciphertext, such as the encryption context, is corrupted,
    missing, or otherwise invalid."""

    code = "InvalidCiphertextException"


class IncorrectKeyException(AwsError):
    """The request was rejected because the specified KMS key cannot decrypt the data. The
    KeyId in a Decrypt request and the SourceKeyId in a ReEncrypt request must identify the
    same KMS key that was used to encrypt the ciphertext."""

    code = "IncorrectKeyException"


class AlreadyExistsException(AwsError):
    """The request was rejected because it attempted to create a resource that already exists."""

    code = "AlreadyExistsException"


class InvalidAliasNameException(AwsError):
    """The request was rejected because the specified alias name is not valid."""

    code = "InvalidAliasNameException"


class NotAuthorizedException(AwsError):
    """The alias/aws/ prefix is reserved for AWS managed keys."""

    # Not a shape in botocore's model, but the code AWS answers CreateAlias, UpdateAlias and
    # DeleteAlias with for a name under the reserved ``alias/aws/`` prefix.
    code = "NotAuthorizedException"


class MalformedPolicyDocumentException(AwsError):
    """The request was rejected because the specified policy is not syntactically or
    semantically correct."""

    code = "MalformedPolicyDocumentException"


class LimitExceededException(AwsError):
    """The request was rejected because a length constraint or quota was exceeded."""

    code = "LimitExceededException"


class InvalidKeyUsageException(AwsError):
    """The request was rejected because the KeyUsage value of the KMS key or the requested
    algorithm is incompatible with the API operation."""

    code = "InvalidKeyUsageException"


class InvalidGrantTokenException(AwsError):
    """The request was rejected because the specified grant token is not valid."""

    code = "InvalidGrantTokenException"


class InvalidGrantIdException(AwsError):
    """The request was rejected because the specified GrantId is not valid."""

    code = "InvalidGrantIdException"


class InvalidArnException(AwsError):
    """The request was rejected because a specified ARN, or an ARN in a key policy, is not valid."""

    code = "InvalidArnException"


class InvalidMarkerException(AwsError):
    """The request was rejected because the marker that specifies where pagination should
    next begin is not valid."""

    code = "InvalidMarkerException"


class UnsupportedOperationException(AwsError):
    """The request was rejected because a specified parameter is not supported or a specified
    resource is not valid for this operation."""

    code = "UnsupportedOperationException"


class TagException(AwsError):
    """The request was rejected because one or more tags are not valid."""

    code = "TagException"


class DryRunOperationException(AwsError):
    """The request would have succeeded, but the DryRun option is set."""

    code = "DryRunOperationException"
    # botocore's model says 412, but AWS answers 400 (LocalStack's recordings against AWS,
    # test_generate_data_key_pair_dry_run).
    status = 400


class ConflictException(AwsError):
    """The request was rejected because an automatic or on-demand rotation of this KMS key
    is already in progress."""

    code = "ConflictException"


class KMSInvalidSignatureException(_Silent):
    """The request was rejected because the signature verification failed."""

    code = "KMSInvalidSignatureException"


class KMSInvalidMacException(_Silent):
    """The request was rejected because the HMAC verification failed."""

    code = "KMSInvalidMacException"


class InvalidImportTokenException(AwsError):
    """The request was rejected because the provided import token is invalid or is associated
    with a different KMS key."""

    code = "InvalidImportTokenException"


class ExpiredImportTokenException(AwsError):
    """The request was rejected because the specified import token is expired. Use
    GetParametersForImport to get a new import token and public key, use the new public key to
    encrypt the key material, and then try the request again."""

    code = "ExpiredImportTokenException"


class IncorrectKeyMaterialException(AwsError):
    """The request was rejected because the key material in the request is, expired, invalid, or
    is not the same key material that was previously imported into this KMS key."""

    code = "IncorrectKeyMaterialException"
