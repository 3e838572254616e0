"""The JSON envelopes SNS delivers to SQS and HTTP/S subscribers (not raw delivery).

Three message types, each with AWS's field set and order:

- ``Notification``: Type, MessageId, TopicArn, Subject (only when the publisher gave
  one), Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL,
  MessageAttributes (only when there are any; ``{"name": {"Type": ..., "Value": ...}}``,
  Binary values in base64).
- FIFO topics' ``Notification``: Type, MessageId, SequenceNumber, TopicArn, Subject,
  Message, Timestamp, UnsubscribeURL, MessageAttributes (AWS signs none of it).
- ``SubscriptionConfirmation`` and ``UnsubscribeConfirmation``: Type, MessageId, Token,
  TopicArn, Message, SubscribeURL, Timestamp, SignatureVersion, Signature, SigningCertURL.

Timestamps are ISO 8601 in UTC with milliseconds and a ``Z``. The JSON is laid out as
AWS lays it out (two-space indent, ``"Name" : value``), with non-ASCII text kept as is.

The signature covers the same fields for every subscription of a message, so the
delivery code signs a notification once (:func:`notification_signature`, in a worker
thread) and passes the result to :func:`notification_body` for each subscription.

:func:`message_structure_json` implements ``MessageStructure=json``: the message is a JSON
object of strings with a ``default`` and optional per-protocol overrides.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from cipherpost.services.sns.errors import InvalidParameter
from cipherpost.services.sns.signing import SignatureVersion

__all__ = [
    "NotificationTemplate",
    "Signer",
    "fifo_notification_template",
    "format_timestamp",
    "message_structure_json",
    "notification_body",
    "notification_signature",
    "notification_signed_fields",
    "notification_template",
    "parse_message_structure",
    "subscription_confirmation_body",
    "unsubscribe_confirmation_body",
]


_string: Final = json.encoder.encode_basestring  # JSON string literal, non-ASCII kept (C-accelerated)
_UNSUBSCRIBE_URL: Final = ""  # a template's stand-in; NotificationTemplate.body writes the real one


class Signer(Protocol):
    """Anything that signs SNS messages; :class:`~.signing.SigningKey` is one."""

    def sign(self, message: Mapping[str, object], *, version: SignatureVersion) -> str: ...


def format_timestamp(timestamp: dt.datetime) -> str:
    """``2024-05-01T12:00:00.123Z``: UTC, milliseconds (truncated), ``Z``.

    :raises ValueError: ``timestamp`` is naive (no time zone).
    """
    if timestamp.tzinfo is None or timestamp.utcoffset() is None:
        raise ValueError("SNS timestamps must be timezone-aware")
    utc = timestamp.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def notification_signature(
    *,
    message_id: str,
    topic_arn: str,
    subject: str | None,
    message: str,
    timestamp: dt.datetime,
    signature_version: SignatureVersion,
    signer: Signer,
) -> str:
    """The ``Signature`` of a notification: the same for every subscription, so sign once."""
    return signer.sign(notification_signed_fields(message_id, topic_arn, subject, message, timestamp),
                       version=signature_version)


def notification_body(
    *,
    message_id: str,
    topic_arn: str,
    subject: str | None,
    message: str,
    timestamp: dt.datetime,
    signature_version: SignatureVersion,
    signing_cert_url: str,
    unsubscribe_url: str,
    message_attributes: Mapping[str, Mapping[str, object]] | None,
    signer: Signer | None = None,
    signature: str | None = None,
) -> str:
    """The ``Notification`` envelope, signed by ``signer`` or carrying a precomputed
    ``signature`` (from :func:`notification_signature` for the same fields).

    :param message_attributes: the published attributes (``DataType``, ``StringValue`` /
        ``BinaryValue``); ``None`` or empty omits ``MessageAttributes``.
    :raises ValueError: neither or both of ``signer`` and ``signature``; a naive timestamp;
        an attribute without a value.
    """
    if (signer is None) == (signature is None):
        raise ValueError("pass exactly one of signer and signature")
    if signature is None and signer is not None:
        signature = signer.sign(notification_signed_fields(message_id, topic_arn, subject, message, timestamp),
                                version=signature_version)
    assert signature is not None
    return notification_template(
        message_id=message_id, topic_arn=topic_arn, subject=subject, message=message, timestamp=timestamp,
        signature_version=signature_version, signing_cert_url=signing_cert_url,
        message_attributes=message_attributes, signature=signature).body(unsubscribe_url)


@dataclass(frozen=True, slots=True)
class NotificationTemplate:
    """A ``Notification`` envelope but for its ``UnsubscribeURL`` (the one field that differs
    between the subscriptions of a message): laid out once, completed per subscription."""

    head: str
    tail: str

    def body(self, unsubscribe_url: str) -> str:
        return self.head + _string(unsubscribe_url) + self.tail


def notification_template(
    *,
    message_id: str,
    topic_arn: str,
    subject: str | None,
    message: str,
    timestamp: dt.datetime,
    signature_version: SignatureVersion,
    signing_cert_url: str,
    message_attributes: Mapping[str, Mapping[str, object]] | None,
    signature: str,
) -> NotificationTemplate:
    """:func:`notification_body` for every subscription of a message at once.

    :raises ValueError: a naive timestamp; an attribute without a value.
    """
    envelope: dict[str, object] = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn}
    if subject is not None:
        envelope["Subject"] = subject
    envelope |= {
        "Message": message,
        "Timestamp": format_timestamp(timestamp),
        "SignatureVersion": signature_version,
        "Signature": signature,
        "SigningCertURL": signing_cert_url,
        "UnsubscribeURL": _UNSUBSCRIBE_URL,
    }
    return _template(envelope, message_attributes)


def _template(envelope: dict[str, object],
              message_attributes: Mapping[str, Mapping[str, object]] | None) -> NotificationTemplate:
    """``envelope`` (ending with the ``UnsubscribeURL`` stand-in) and its attributes, laid out."""
    if message_attributes:
        envelope["MessageAttributes"] = _envelope_attributes(message_attributes)
    items = _items(envelope, "")
    split = list(envelope).index("UnsubscribeURL")
    head = "{\n" + "".join(item + ",\n" for item in items[:split]) + '  "UnsubscribeURL" : '
    tail = "".join(",\n" + item for item in items[split + 1:]) + "\n}"
    return NotificationTemplate(head, tail)


def fifo_notification_template(
    *,
    message_id: str,
    sequence_number: str,
    topic_arn: str,
    subject: str | None,
    message: str,
    timestamp: dt.datetime,
    message_attributes: Mapping[str, Mapping[str, object]] | None,
) -> NotificationTemplate:
    """A FIFO topic's ``Notification``: AWS adds ``SequenceNumber`` after ``MessageId`` and
    leaves out ``SignatureVersion``, ``Signature`` and ``SigningCertURL`` (so it is not signed).

    :raises ValueError: a naive timestamp; an attribute without a value.
    """
    envelope: dict[str, object] = {"Type": "Notification", "MessageId": message_id,
                                   "SequenceNumber": sequence_number, "TopicArn": topic_arn}
    if subject is not None:
        envelope["Subject"] = subject
    envelope |= {"Message": message, "Timestamp": format_timestamp(timestamp), "UnsubscribeURL": _UNSUBSCRIBE_URL}
    return _template(envelope, message_attributes)


def subscription_confirmation_body(
    *,
    message_id: str,
    topic_arn: str,
    token: str,
    subscribe_url: str,
    timestamp: dt.datetime,
    signature_version: SignatureVersion,
    signing_cert_url: str,
    signer: Signer,
    message: str | None = None,
) -> str:
    """The ``SubscriptionConfirmation`` sent to a new HTTP/S endpoint (``message`` defaults
    to AWS's recorded sentences telling the reader to visit ``SubscribeURL``)."""
    text = (
        message
        if message is not None
        else (
            f"You have chosen to subscribe to the topic {topic_arn}.\n"
            "To confirm the subscription, visit the SubscribeURL included in this message."
        )
    )
    return _confirmation(
        "SubscriptionConfirmation",
        message_id,
        topic_arn,
        token,
        subscribe_url,
        text,
        timestamp,
        signature_version,
        signing_cert_url,
        signer,
    )


def unsubscribe_confirmation_body(
    *,
    message_id: str,
    topic_arn: str,
    subscription_arn: str,
    token: str,
    subscribe_url: str,
    timestamp: dt.datetime,
    signature_version: SignatureVersion,
    signing_cert_url: str,
    signer: Signer,
    message: str | None = None,
) -> str:
    """The ``UnsubscribeConfirmation`` sent after an endpoint is unsubscribed; its
    ``SubscribeURL`` restores the subscription (``message`` defaults to AWS's recorded text)."""
    text = (
        message
        if message is not None
        else (
            f"You have chosen to deactivate subscription {subscription_arn}.\n"
            "To cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
        )
    )
    return _confirmation(
        "UnsubscribeConfirmation",
        message_id,
        topic_arn,
        token,
        subscribe_url,
        text,
        timestamp,
        signature_version,
        signing_cert_url,
        signer,
    )


def parse_message_structure(message: str) -> dict[str, str]:
    """Validate a ``MessageStructure=json`` message: a JSON object with a string ``default``
    (AWS: the default is sent to protocols without their own entry). An entry whose value
    is not a string is ignored, as AWS ignores it (its protocol gets ``default``).

    :raises InvalidParameter: with AWS's ``Invalid parameter: Message Structure - ...``.
    """
    try:
        document = json.loads(message)
    except (ValueError, RecursionError):
        document = None
    if not isinstance(document, dict):
        raise InvalidParameter("Invalid parameter: Message Structure - JSON message body failed to parse")
    if not isinstance(document.get("default"), str):
        raise InvalidParameter("Invalid parameter: Message Structure - No default entry in JSON message body")
    return {key: value for key, value in document.items() if isinstance(value, str)}


def message_structure_json(message: str, protocol: str) -> str:
    """The message a ``protocol`` subscriber receives (``sqs``, ``https``, ...), falling
    back to ``default``. Validates as :func:`parse_message_structure` does."""
    structure = parse_message_structure(message)
    return structure.get(protocol, structure["default"])


def notification_signed_fields(
    message_id: str, topic_arn: str, subject: str | None, message: str, timestamp: dt.datetime
) -> dict[str, str]:
    """The fields a notification's ``Signature`` covers (what a signer signs).

    :raises ValueError: a naive timestamp.
    """
    fields = {"Type": "Notification", "MessageId": message_id, "TopicArn": topic_arn, "Message": message}
    if subject is not None:
        fields["Subject"] = subject
    fields["Timestamp"] = format_timestamp(timestamp)
    return fields


def _confirmation(
    kind: str,
    message_id: str,
    topic_arn: str,
    token: str,
    subscribe_url: str,
    message: str,
    timestamp: dt.datetime,
    signature_version: SignatureVersion,
    signing_cert_url: str,
    signer: Signer,
) -> str:
    """A confirmation envelope, in AWS's field order, signed over AWS's fields."""
    envelope: dict[str, object] = {
        "Type": kind,
        "MessageId": message_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": message,
        "SubscribeURL": subscribe_url,
        "Timestamp": format_timestamp(timestamp),
        "SignatureVersion": signature_version,
    }
    envelope["Signature"] = signer.sign(envelope, version=signature_version)
    envelope["SigningCertURL"] = signing_cert_url
    return _dumps(envelope)


def _envelope_attributes(attributes: Mapping[str, Mapping[str, object]]) -> dict[str, dict[str, str]]:
    """``{"name": {"Type": DataType, "Value": ...}}``; Binary values base64-encoded."""
    rendered: dict[str, dict[str, str]] = {}
    for name, attribute in attributes.items():
        data_type = str(attribute.get("DataType", "String"))
        binary, text = attribute.get("BinaryValue"), attribute.get("StringValue")
        if isinstance(binary, bytes | bytearray | memoryview):
            value = base64.b64encode(binary).decode("ascii")
        elif isinstance(text, str):
            value = text
        else:
            raise ValueError(f"message attribute {name!r} has no StringValue or BinaryValue")
        rendered[name] = {"Type": data_type, "Value": value}
    return rendered


def _dumps(envelope: Mapping[str, object], indent: str = "") -> str:
    """``json.dumps(envelope, indent=2, separators=(",", " : "), ensure_ascii=False)`` for an
    envelope of strings and nested objects of strings, with the C string encoder (an indented
    ``json.dumps`` runs the pure-Python encoder: ~150 µs per envelope)."""
    items = _items(envelope, indent)
    return "{\n" + ",\n".join(items) + "\n" + indent + "}" if items else "{}"


def _items(envelope: Mapping[str, object], indent: str) -> list[str]:
    """The ``"Name" : value`` lines of an envelope laid out at ``indent``."""
    inner = indent + "  "
    return [f"{inner}{_string(name)} : {_string(value) if isinstance(value, str) else _dumps(_object(value), inner)}"
            for name, value in envelope.items()]


def _object(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError(f"an envelope holds strings and objects, not {type(value).__name__}")
    return value
