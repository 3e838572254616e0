"""SNS envelopes (Notification, SubscriptionConfirmation, UnsubscribeConfirmation) and
MessageStructure=json."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import json
import secrets
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cipherpost.crypto.keyring import Keyring
from cipherpost.services.sns.errors import InvalidParameter
from cipherpost.services.sns.notification import (
    format_timestamp,
    message_structure_json,
    notification_body,
    notification_signature,
    parse_message_structure,
    subscription_confirmation_body,
    unsubscribe_confirmation_body,
)
from cipherpost.services.sns.signing import SignatureVersion, SigningKey, verify

TOPIC = "arn:aws:sns:us-east-1:111122223333:Patient-Records"
WHEN = dt.datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
CERT_URL = "https://cipherpost.example/sns/SimpleNotificationService.pem"
UNSUBSCRIBE_URL = "https://cipherpost.example/?Action=Unsubscribe&SubscriptionArn=" + TOPIC + ":sub"
SUBSCRIBE_URL = "https://cipherpost.example/?Action=ConfirmSubscription&TopicArn=" + TOPIC + "&Token=tok"


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    path = tmp_path_factory.mktemp("sns") / "key"
    return SigningKey.load_or_create(path, Keyring(secrets.token_bytes(32)), subject_host="cipherpost.example")


def notification(key: SigningKey, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "message_id": "0f4f4a1e-0000-4000-8000-000000000001",
        "topic_arn": TOPIC,
        "subject": "New record",
        "message": "record 42",
        "timestamp": WHEN,
        "signature_version": "1",
        "signing_cert_url": CERT_URL,
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "message_attributes": None,
        "signer": key,
    }
    return notification_body(**(arguments | overrides))


def test_notification_fields_in_aws_order(signer: SigningKey) -> None:
    attributes = {"store": {"DataType": "String", "StringValue": "example_corp"}}
    envelope = json.loads(notification(signer, message_attributes=attributes))
    assert list(envelope) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
        "MessageAttributes",
    ]
    assert envelope["Type"] == "Notification"
    assert envelope["Timestamp"] == "2024-05-01T12:00:00.123Z"
    assert envelope["SigningCertURL"] == CERT_URL
    assert envelope["UnsubscribeURL"] == UNSUBSCRIBE_URL
    assert verify(envelope, envelope["Signature"], signer.cert_pem)


def test_notification_omits_absent_subject_and_attributes(signer: SigningKey) -> None:
    envelope = json.loads(notification(signer, subject=None, message_attributes={}))
    assert "Subject" not in envelope
    assert "MessageAttributes" not in envelope
    assert verify(envelope, envelope["Signature"], signer.cert_pem)


def test_notification_layout_is_awss(signer: SigningKey) -> None:
    body = notification(signer, message="caf\u00e9")
    assert body.startswith('{\n  "Type" : "Notification",\n  "MessageId" : ')
    assert '"Message" : "caf\u00e9"' in body


def test_message_attributes_rendering(signer: SigningKey) -> None:
    attributes: Mapping[str, Mapping[str, object]] = {
        "store": {"DataType": "String", "StringValue": "example_corp"},
        "price_usd": {"DataType": "Number", "StringValue": "210.75"},
        "interests": {"DataType": "String.Array", "StringValue": '["soccer","rugby"]'},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
    }
    envelope = json.loads(notification(signer, message_attributes=attributes))
    assert envelope["MessageAttributes"] == {
        "store": {"Type": "String", "Value": "example_corp"},
        "price_usd": {"Type": "Number", "Value": "210.75"},
        "interests": {"Type": "String.Array", "Value": '["soccer","rugby"]'},
        "blob": {"Type": "Binary", "Value": base64.b64encode(b"\x00\xff").decode()},
    }


def test_attribute_without_value_is_refused(signer: SigningKey) -> None:
    with pytest.raises(ValueError, match="no StringValue or BinaryValue"):
        notification(signer, message_attributes={"a": {"DataType": "String"}})


def test_precomputed_signature_is_the_signers(signer: SigningKey) -> None:
    fields: dict[str, Any] = {"message_id": "m", "topic_arn": TOPIC, "subject": None, "message": "x", "timestamp": WHEN}
    signature = notification_signature(**fields, signature_version="2", signer=signer)
    shared: dict[str, Any] = {
        **fields,
        "signing_cert_url": CERT_URL,
        "message_attributes": None,
        "signature_version": "2",
    }
    for unsubscribe_url in ("https://a.example/1", "https://b.example/2"):  # one signature, many subscriptions
        body = notification_body(**shared, unsubscribe_url=unsubscribe_url, signature=signature)
        envelope = json.loads(body)
        assert envelope["Signature"] == signature
        assert verify(envelope, signature, signer.cert_pem)
    assert json.loads(notification_body(**shared, unsubscribe_url="u", signer=signer))["Signature"] == signature


def test_exactly_one_of_signer_and_signature(signer: SigningKey) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        notification(signer, signer=None)
    with pytest.raises(ValueError, match="exactly one"):
        notification(signer, signature="c2ln")


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        (dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC), "2024-05-01T12:00:00.000Z"),
        (dt.datetime(2024, 5, 1, 12, 0, 0, 999999, tzinfo=dt.UTC), "2024-05-01T12:00:00.999Z"),
        (
            dt.datetime(2024, 5, 1, 14, 0, 0, 1000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2024-05-01T12:00:00.001Z",
        ),
    ],
    ids=["whole-second", "truncated-not-rounded", "converted-to-utc"],
)
def test_timestamp_format(timestamp: dt.datetime, expected: str) -> None:
    assert format_timestamp(timestamp) == expected


def test_naive_timestamp_is_refused(signer: SigningKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        notification(signer, timestamp=dt.datetime(2024, 5, 1))


CONFIRMATION_ORDER = [
    "Type",
    "MessageId",
    "Token",
    "TopicArn",
    "Message",
    "SubscribeURL",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
]


@pytest.mark.parametrize(
    ("build", "kind", "wording"),
    [
        (subscription_confirmation_body, "SubscriptionConfirmation", "You have chosen to subscribe to the topic "
         f"{TOPIC}.\nTo confirm the subscription, visit the SubscribeURL included in this message."),
        (functools.partial(unsubscribe_confirmation_body, subscription_arn=f"{TOPIC}:sub-1"),
         "UnsubscribeConfirmation", f"You have chosen to deactivate subscription {TOPIC}:sub-1.\nTo cancel this "
         "operation and restore the subscription, visit the SubscribeURL included in this message."),
    ],
)
@pytest.mark.parametrize("version", ["1", "2"])
def test_confirmations(signer: SigningKey, build: Any, kind: str, wording: str, version: str) -> None:
    body = build(
        message_id="c-1",
        topic_arn=TOPIC,
        token="tok",
        subscribe_url=SUBSCRIBE_URL,
        timestamp=WHEN,
        signature_version=version,
        signing_cert_url=CERT_URL,
        signer=signer,
    )
    envelope = json.loads(body)
    assert list(envelope) == CONFIRMATION_ORDER
    assert envelope["Type"] == kind
    assert TOPIC in envelope["Message"] and wording in envelope["Message"]
    assert envelope["SignatureVersion"] == version
    assert verify(envelope, envelope["Signature"], signer.cert_pem)
    assert not verify({**envelope, "Token": "other"}, envelope["Signature"], signer.cert_pem)


def test_confirmation_message_can_be_given(signer: SigningKey) -> None:
    body = subscription_confirmation_body(
        message_id="c",
        topic_arn=TOPIC,
        token="t",
        subscribe_url="u",
        timestamp=WHEN,
        signature_version="2",
        signing_cert_url=CERT_URL,
        signer=signer,
        message="custom",
    )
    assert json.loads(body)["Message"] == "custom"


# --- hypothesis: every envelope is JSON and verifies ---

TEXT = st.text(max_size=40)
ATTRIBUTES = st.dictionaries(
    st.text(min_size=1, max_size=10),
    st.one_of(
        st.builds(lambda v: {"DataType": "String", "StringValue": v}, TEXT),
        st.builds(lambda v: {"DataType": "Number", "StringValue": str(v)}, st.integers()),
        st.builds(lambda v: {"DataType": "Binary", "BinaryValue": v}, st.binary(max_size=16)),
    ),
    max_size=4,
)
TIMESTAMPS = st.datetimes(min_value=dt.datetime(1970, 1, 2), timezones=st.just(dt.UTC))
VERSIONS = st.sampled_from(["1", "2"])


@given(TEXT, TEXT, st.none() | TEXT, TEXT, TIMESTAMPS, VERSIONS, ATTRIBUTES)
def test_notification_always_parses_and_verifies(
    signer: SigningKey,
    message_id: str,
    topic_arn: str,
    subject: str | None,
    message: str,
    timestamp: dt.datetime,
    version: SignatureVersion,
    attributes: dict[str, dict[str, object]],
) -> None:
    body = notification_body(
        message_id=message_id,
        topic_arn=topic_arn,
        subject=subject,
        message=message,
        timestamp=timestamp,
        signature_version=version,
        signing_cert_url=CERT_URL,
        unsubscribe_url=UNSUBSCRIBE_URL,
        message_attributes=attributes,
        signer=signer,
    )
    envelope = json.loads(body)
    assert (envelope["Message"], envelope.get("Subject")) == (message, subject)
    assert verify(envelope, envelope["Signature"], signer.cert_pem)


@given(TEXT, TEXT, TEXT, TEXT, TIMESTAMPS, VERSIONS, st.booleans())
def test_confirmation_always_parses_and_verifies(
    signer: SigningKey,
    message_id: str,
    topic_arn: str,
    token: str,
    subscribe_url: str,
    timestamp: dt.datetime,
    version: SignatureVersion,
    subscribing: bool,
) -> None:
    build = (subscription_confirmation_body if subscribing
             else functools.partial(unsubscribe_confirmation_body, subscription_arn=f"{topic_arn}:s"))
    envelope = json.loads(
        build(
            message_id=message_id,
            topic_arn=topic_arn,
            token=token,
            subscribe_url=subscribe_url,
            timestamp=timestamp,
            signature_version=version,
            signing_cert_url=CERT_URL,
            signer=signer,
        )
    )
    assert verify(envelope, envelope["Signature"], signer.cert_pem)


# --- MessageStructure=json ---


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [("sqs", "for queues"), ("https", "default text"), ("email-json", "default text"), ("SQS", "default text")],
)
def test_message_structure_selects_protocol_or_default(protocol: str, expected: str) -> None:
    message = json.dumps({"default": "default text", "sqs": "for queues", "sms": "short"})
    assert message_structure_json(message, protocol) == expected


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "Invalid parameter: Message Structure - JSON message body failed to parse"),
        ('["default"]', "Invalid parameter: Message Structure - JSON message body failed to parse"),
        ('"default"', "Invalid parameter: Message Structure - JSON message body failed to parse"),
        ('{"sqs": "x"}', "Invalid parameter: Message Structure - No default entry in JSON message body"),
        ('{"default": 5}', "Invalid parameter: Message Structure - No default entry in JSON message body"),
    ],
    ids=["not-json", "array", "string", "no-default", "default-not-string"],
)
def test_message_structure_validation(message: str, error: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        message_structure_json(message, "sqs")
    assert caught.value.message == error
    assert caught.value.code == "InvalidParameter"


@pytest.mark.parametrize("value", [{"a": 1}, ["x"], 5, None, True], ids=["object", "array", "number", "null", "bool"])
def test_message_structure_ignores_entries_that_are_not_strings(value: object) -> None:
    """AWS delivers ``default`` to a protocol whose entry is not a string."""
    message = json.dumps({"default": "d", "sqs": value, "https": "h"})
    assert parse_message_structure(message) == {"default": "d", "https": "h"}
    assert message_structure_json(message, "sqs") == "d"


@given(st.dictionaries(st.text(max_size=10), st.text(max_size=10)), TEXT, st.text(max_size=10))
def test_message_structure_property(entries: dict[str, str], default: str, protocol: str) -> None:
    structure = {**entries, "default": default}
    assert parse_message_structure(json.dumps(structure)) == structure
    assert message_structure_json(json.dumps(structure), protocol) == structure.get(protocol, default)


@given(st.text(max_size=30))
def test_message_structure_raises_only_invalid_parameter(text: str) -> None:
    with contextlib.suppress(InvalidParameter):
        message_structure_json(text, "sqs")


_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@given(st.dictionaries(_texts, st.one_of(_texts, st.dictionaries(_texts, st.dictionaries(_texts, _texts)))))
def test_envelope_layout_is_json_dumps_indented(envelope: dict[str, Any]) -> None:
    """The hand-rolled serializer lays envelopes out exactly as an indented json.dumps would."""
    from cipherpost.services.sns.notification import _dumps  # noqa: PLC0415 - the private layout function

    assert _dumps(envelope) == json.dumps(envelope, indent=2, separators=(",", " : "), ensure_ascii=False)


@given(subject=st.one_of(st.none(), _texts), message=_texts, url=_texts,
       attributes=st.dictionaries(_texts.filter(bool), _texts, max_size=3))
def test_template_completes_to_the_laid_out_envelope(subject: str | None, message: str, url: str,
                                                     attributes: dict[str, str]) -> None:
    """One template per message, completed per subscription, gives exactly the envelope."""
    from cipherpost.services.sns.notification import _dumps, notification_template  # noqa: PLC0415

    published = {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}
    template = notification_template(message_id="m-1", topic_arn=TOPIC, subject=subject, message=message,
                                     timestamp=WHEN, signature_version="2", signing_cert_url=CERT_URL,
                                     message_attributes=published, signature="c2ln")
    expected: dict[str, Any] = {"Type": "Notification", "MessageId": "m-1", "TopicArn": TOPIC}
    if subject is not None:
        expected["Subject"] = subject
    expected |= {"Message": message, "Timestamp": format_timestamp(WHEN), "SignatureVersion": "2",
                 "Signature": "c2ln", "SigningCertURL": CERT_URL, "UnsubscribeURL": url}
    if attributes:
        expected["MessageAttributes"] = {name: {"Type": "String", "Value": value} for name, value in attributes.items()}
    assert template.body(url) == _dumps(expected)
    assert json.loads(template.body(url)) == expected
