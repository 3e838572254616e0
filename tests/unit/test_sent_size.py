"""sent_size: the bytes a message counts toward SNS's and SQS's batch limits, read as sent."""

from __future__ import annotations

from cipherpost.services.sent_size import sent_size


def test_text_and_attributes_count_in_utf8() -> None:
    attributes = {"né": {"DataType": "String", "StringValue": "😀"}, "b": {"DataType": "Binary", "BinaryValue": b"123"}}
    assert sent_size("héllo", attributes) == 6 + (3 + 6 + 4) + (1 + 6 + 3)


def test_what_validation_refuses_later_is_counted_not_raised() -> None:
    assert sent_size("a\ud800b", None) == 5  # a lone surrogate: its three bytes
    assert sent_size(None, {"x": "not a mapping", "y": {"StringValue": 7}}) == 2
    assert sent_size(12, ["not", "a", "mapping"]) == 0
