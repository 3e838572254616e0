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
