"""Behaviour as data: which operations are data events or read-only, and what is secret.

Every rule the recorder applies to an API call lives in one of these tables, each with the
CloudTrail behaviour it follows. ``record.py`` and ``redact.py`` only look them up.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

#: The value CloudTrail writes in place of a field it will not log.
HIDDEN: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"

#: CloudTrail records these as *data events* (eventCategory "Data", managementEvent false):
#: logged only when an event selector asks for them, never by default. SNS Publish and the
#: SQS message operations are data events in CloudTrail's documentation of both services.
DATA_EVENTS: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("sns", "Publish"),
        ("sns", "PublishBatch"),
        ("sqs", "SendMessage"),
        ("sqs", "SendMessageBatch"),
        ("sqs", "ReceiveMessage"),
        ("sqs", "DeleteMessage"),
        ("sqs", "DeleteMessageBatch"),
        ("sqs", "ChangeMessageVisibility"),
        ("sqs", "ChangeMessageVisibilityBatch"),
    }
)

#: Operations whose name starts with one of these only read state (CloudTrail readOnly true).
READ_ONLY_PREFIXES: Final = ("Get", "List", "Describe", "Lookup")

#: Read-only operations the prefix rule misses. CloudTrail marks KMS cryptographic
#: operations readOnly (they change no key state), as it does STS credential requests and
#: SQS ReceiveMessage.
READ_ONLY_EXTRA: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("kms", "Encrypt"),
        ("kms", "Decrypt"),
        ("kms", "ReEncrypt"),
        ("kms", "GenerateDataKey"),
        ("kms", "GenerateDataKeyWithoutPlaintext"),
        ("kms", "GenerateDataKeyPair"),
        ("kms", "GenerateDataKeyPairWithoutPlaintext"),
        ("kms", "GenerateRandom"),
        ("kms", "GenerateMac"),
        ("kms", "VerifyMac"),
        ("kms", "Sign"),
        ("kms", "Verify"),
        ("kms", "DeriveSharedSecret"),
        ("sts", "AssumeRole"),
        ("sts", "GetSessionToken"),
        ("sts", "DecodeAuthorizationMessage"),
        ("sqs", "ReceiveMessage"),
        ("sns", "CheckIfPhoneNumberIsOptedOut"),
    }
)

#: Operations whose response CloudTrail records as null: the KMS cryptographic operations
#: (their outputs are ciphertexts, plaintexts and key material; only the key id would be left).
NULL_RESPONSE: Final[frozenset[tuple[str, str]]] = frozenset(
    (service, name) for service, name in READ_ONLY_EXTRA if service == "kms"
)


class Secret(Enum):
    """What the recorder does with a secret-bearing member."""

    DROP = "drop"
    """Leave the member out, as CloudTrail leaves KMS plaintexts and ciphertext blobs out."""
    HIDE = "hide"
    """Keep the member name, with :data:`HIDDEN` as its value (CloudTrail's placeholder)."""


#: Secret members of every service, matched by member name (or map key) at any depth, so
#: batch entries (``Entries[].MessageBody``) and nested results (``Credentials.SessionToken``)
#: are covered too. Any ``bytes`` value is never logged raw whatever this table says.
_COMMON: Final[dict[str, Secret]] = {
    "SecretAccessKey": Secret.HIDE,
    "SessionToken": Secret.HIDE,
    "Password": Secret.HIDE,
}

SECRET_MEMBERS: Final[dict[str, dict[str, Secret]]] = {
    "kms": {
        **_COMMON,
        "Plaintext": Secret.DROP,
        "CiphertextBlob": Secret.DROP,
        "CiphertextForRecipient": Secret.DROP,
        "PrivateKeyPlaintext": Secret.DROP,
        "PrivateKeyCiphertextBlob": Secret.DROP,
        "PublicKey": Secret.DROP,
        "Message": Secret.DROP,
        "Signature": Secret.DROP,
        "Mac": Secret.DROP,
        "EncryptedKeyMaterial": Secret.DROP,
        "ImportToken": Secret.DROP,
        "AttestationDocument": Secret.DROP,
        "SharedSecret": Secret.DROP,
    },
    "sqs": {
        **_COMMON,
        "MessageBody": Secret.HIDE,
        "Body": Secret.HIDE,
        "MessageAttributes": Secret.HIDE,
        "MessageSystemAttributes": Secret.HIDE,
        # A digest of a short body can be brute-forced back to the body.
        "MD5OfMessageBody": Secret.DROP,
        "MD5OfBody": Secret.DROP,
        "MD5OfMessageAttributes": Secret.DROP,
        "MD5OfMessageSystemAttributes": Secret.DROP,
        # A receipt handle is a bearer capability: whoever holds it may delete the message.
        "ReceiptHandle": Secret.HIDE,
    },
    "sns": {
        **_COMMON,
        "Message": Secret.HIDE,
        "Subject": Secret.HIDE,
        "MessageAttributes": Secret.HIDE,
        "Token": Secret.HIDE,
        "PlatformCredential": Secret.HIDE,
        "PlatformPrincipal": Secret.HIDE,
    },
    "iam": {
        **_COMMON,
        "OldPassword": Secret.HIDE,
        "NewPassword": Secret.HIDE,
        "PrivateKey": Secret.HIDE,
        "ServicePassword": Secret.HIDE,
        "Base32StringSeed": Secret.DROP,
        "QRCodePNG": Secret.DROP,
        "AuthenticationCode1": Secret.HIDE,
        "AuthenticationCode2": Secret.HIDE,
    },
    "sts": {
        **_COMMON,
        "SAMLAssertion": Secret.HIDE,
        "WebIdentityToken": Secret.HIDE,
        "TokenCode": Secret.HIDE,
    },
}

#: Members logged exactly as given, never renamed or filtered: CloudTrail logs the KMS
#: encryption context in clear (it is authenticated, not secret, data).
CLEAR_MEMBERS: Final[frozenset[str]] = frozenset({"EncryptionContext"})

#: Without a model shape, maps under these member names keep their keys as the user wrote them.
USER_KEYED_MAPS: Final[frozenset[str]] = frozenset({"Attributes", "Tags", "tags", "EncryptionContext"})


class ResourceKind(Enum):
    """How a request or response member names a resource (see ``record.resources``)."""

    KMS_KEY = "AWS::KMS::Key"
    SNS_TOPIC = "AWS::SNS::Topic"
    SQS_QUEUE = "AWS::SQS::Queue"


#: Members that name a resource, per service; looked up in the parameters, then the result.
RESOURCE_MEMBERS: Final[dict[str, dict[str, ResourceKind]]] = {
    "kms": {
        "KeyId": ResourceKind.KMS_KEY,
        "SourceKeyId": ResourceKind.KMS_KEY,
        "DestinationKeyId": ResourceKind.KMS_KEY,
        "TargetKeyId": ResourceKind.KMS_KEY,
    },
    "sns": {"TopicArn": ResourceKind.SNS_TOPIC},
    "sqs": {"QueueUrl": ResourceKind.SQS_QUEUE},
}


def is_data_event(service: str, operation: str) -> bool:
    """Whether CloudTrail treats ``service:operation`` as a data event."""
    return (service, operation) in DATA_EVENTS


def is_read_only(service: str, operation: str) -> bool:
    """CloudTrail's readOnly flag for ``service:operation``."""
    return operation.startswith(READ_ONLY_PREFIXES) or (service, operation) in READ_ONLY_EXTRA
