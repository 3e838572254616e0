"""Publish's input rules (pure): subjects, attributes, sizes, FIFO ids, storage round trip."""

from __future__ import annotations

import hashlib

import pytest

from cipherpost.services.sns import messages
from cipherpost.services.sns.errors import InvalidParameter, InvalidParameterValue


def test_subject_rules() -> None:
    assert messages.check_subject(None) is None
    assert messages.check_subject("Electronic Medical Record - 3472") == "Electronic Medical Record - 3472"
    for bad in ("", "a" * 101, "tab\there", "caf\u00e9"):
        with pytest.raises(InvalidParameter):
            messages.check_subject(bad)


@pytest.mark.parametrize("name", ["AWS.x", "amazon.y", ".a", "a.", "a..b", "sp ace", "x" * 257, ""])
def test_bad_attribute_names(name: str) -> None:
    with pytest.raises(InvalidParameterValue):
        messages.check_attributes({name: {"DataType": "String", "StringValue": "v"}})


@pytest.mark.parametrize(("attribute", "message"), [
    ({"a" * 257: {"DataType": "String", "StringValue": "1"}},
     "Length of message attribute name must be less than 256 bytes."),
    ({"a^*?": {"DataType": "String", "StringValue": "1"}},
     "Invalid non-alphanumeric character '#x5E' was found in the message attribute name. Can only include "
     "alphanumeric characters, hyphens, underscores, or dots."),
    ({".abc": {"DataType": "String", "StringValue": "1"}},
     "Invalid message attribute name starting with character '.' was found."),
    ({"abc.": {"DataType": "String", "StringValue": "1"}},
     "Invalid message attribute name ending with character '.' was found."),
    ({"a..bc": {"DataType": "String", "StringValue": "1"}},
     "Message attribute name can not have successive '.' character."),
    ({"attr1": {"DataType": "String", "BinaryValue": b"123"}},
     "The message attribute 'attr1' with type 'String' must use field 'String'."),
    ({"attr1": {"DataType": "Number", "BinaryValue": b"123"}},
     "The message attribute 'attr1' with type 'Number' must use field 'String'."),
    ({"attr1": {"DataType": "Binary", "StringValue": "123"}},
     "The message attribute 'attr1' with type 'Binary' must use field 'Binary'."),
    ({"attr1": {"DataType": "String"}},
     "The message attribute 'attr1' must contain non-empty message attribute value for message attribute type "
     "'String'."),
    ({"attr1": {"DataType": "Binary", "BinaryValue": b""}},
     "The message attribute 'attr1' must contain non-empty message attribute value for message attribute type "
     "'Binary'."),
], ids=["name-too-long", "name-character", "name-leading-period", "name-trailing-period", "name-double-period",
        "string-given-binary", "number-given-binary", "binary-given-string", "string-without-value",
        "binary-empty"])
def test_attribute_messages_recorded_against_aws(attribute: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        messages.check_attributes(attribute)
    assert caught.value.message == message


def test_content_based_deduplication_hashes_the_body() -> None:
    out = messages.check_message({"Message": "body", "MessageGroupId": "g"}, fifo=True, content_based_dedup=True)
    assert out.dedup_id == hashlib.sha256(b"body").hexdigest() and out.group_id == "g"


def test_size_counts_attributes() -> None:
    limit = messages.MAX_MESSAGE_BYTES
    ok = {"Message": "x" * (limit - 8), "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}}}
    messages.check_message(ok, fifo=False, content_based_dedup=False)
    ok["Message"] += "x"
    with pytest.raises(InvalidParameter):
        messages.check_message(ok, fifo=False, content_based_dedup=False)


def test_stored_attributes_round_trip() -> None:
    attributes = messages.check_attributes({"b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
                                            "s": {"DataType": "String", "StringValue": "v"}})
    assert messages.loaded_attributes(messages.stored_attributes(attributes)) == attributes
    assert messages.stored_attributes({}) is None


def test_message_for_protocol() -> None:
    structure = {"default": "d", "sqs": "q"}
    assert messages.message_for("raw", None, "sqs") == "raw"
    assert messages.message_for("{}", structure, "sqs") == "q"
    assert messages.message_for("{}", structure, "https") == "d"
