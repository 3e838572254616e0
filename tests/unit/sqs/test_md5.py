"""MD5OfMessageBody / MD5OfMessageAttributes as AWS computes them."""

from __future__ import annotations

import hashlib

import pytest

from cipherpost.services.sqs.md5 import encode_attribute, md5_of_attributes, md5_of_body


@pytest.mark.parametrize(("body", "digest"), [
    pytest.param("hello", "5d41402abc4b2a76b9719d911017c592", id="ascii"),
    pytest.param("", "d41d8cd98f00b204e9800998ecf8427e", id="empty"),
    pytest.param("héllo ✓", hashlib.md5("héllo ✓".encode()).hexdigest(), id="utf-8-bytes"),
])
def test_md5_of_body(body: str, digest: str) -> None:
    assert md5_of_body(body) == digest


def test_string_attribute_encoding_is_length_prefixed_with_transport_byte() -> None:
    encoded = encode_attribute("a", {"DataType": "String", "StringValue": "x"})
    assert encoded == b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x06String" + b"\x01" + b"\x00\x00\x00\x01x"


def test_binary_attribute_uses_transport_byte_2() -> None:
    encoded = encode_attribute("b", {"DataType": "Binary.gif", "BinaryValue": b"\x00\xff"})
    assert encoded == b"\x00\x00\x00\x01b" + b"\x00\x00\x00\x0aBinary.gif" + b"\x02" + b"\x00\x00\x00\x02\x00\xff"


def test_attributes_are_sorted_by_name() -> None:
    attributes = {
        "zeta": {"DataType": "Number", "StringValue": "1.5"},
        "alpha": {"DataType": "String", "StringValue": "ä"},
    }
    expected = hashlib.md5(
        encode_attribute("alpha", attributes["alpha"]) + encode_attribute("zeta", attributes["zeta"])
    ).hexdigest()
    assert md5_of_attributes(attributes) == expected


def test_known_vector() -> None:
    """Computed by hand from the documented encoding (independent of the code under test)."""
    data = (b"\x00\x00\x00\x04test" + b"\x00\x00\x00\x06String" + b"\x01" + b"\x00\x00\x00\x05hello")
    assert md5_of_attributes({"test": {"DataType": "String", "StringValue": "hello"}}) == hashlib.md5(
        data).hexdigest()


def test_no_attributes_no_digest() -> None:
    assert md5_of_attributes({}) is None
    assert md5_of_attributes(None) is None
