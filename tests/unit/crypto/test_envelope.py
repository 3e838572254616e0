from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cipherpost.crypto.envelope import DataKey, open_body, open_with, read_wrapped_key, seal_body
from cipherpost.crypto.errors import InvalidEnvelope

QUEUE_A = "arn:aws:sqs:us-east-1:111122223333:records-a"
QUEUE_B = "arn:aws:sqs:us-east-1:111122223333:records-b"
DATA_KEY = DataKey(
    plaintext=bytes(range(32)), ciphertext_blob=b"B" * 114, key_id="1234abcd-12ab-34cd-56ef-1234567890ab"
)


def test_round_trip() -> None:
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    assert len(sealed) == 3 + 114 + 29 + 5
    assert read_wrapped_key(sealed) == DATA_KEY.ciphertext_blob
    assert open_body(DATA_KEY.plaintext, sealed, resource_arn=QUEUE_A) == b"hello"


def test_empty_body() -> None:
    assert open_body(DATA_KEY.plaintext, seal_body(DATA_KEY, b"", resource_arn=QUEUE_A), resource_arn=QUEUE_A) == b""


def test_body_moved_between_queues() -> None:
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    with pytest.raises(InvalidEnvelope):
        open_body(DATA_KEY.plaintext, sealed, resource_arn=QUEUE_B)


def test_one_data_key_alternating_between_queues() -> None:
    """A data key remembers the associated data of the last queue it sealed for: switching
    queues must switch it (each body opens under its own queue only)."""
    sealed = [(arn, seal_body(DATA_KEY, arn.encode(), resource_arn=arn)) for arn in (QUEUE_A, QUEUE_B, QUEUE_A)]
    for arn, body in sealed:
        assert open_body(DATA_KEY.plaintext, body, resource_arn=arn) == arn.encode()
        with pytest.raises(InvalidEnvelope):
            open_body(DATA_KEY.plaintext, body, resource_arn=QUEUE_B if arn == QUEUE_A else QUEUE_A)


def test_open_with_the_data_key_is_open_body() -> None:
    """open_with opens what open_body opens, and refuses what it refuses: another queue's
    body, another data key's body, a tampered body."""
    other = DataKey(plaintext=bytes(32), ciphertext_blob=b"C" * 114, key_id="k")
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    assert open_with(DATA_KEY, sealed, resource_arn=QUEUE_A) == b"hello"
    for key, body, arn in [(DATA_KEY, sealed, QUEUE_B), (other, sealed, QUEUE_A), (DATA_KEY, sealed[:-1], QUEUE_A),
                           (DATA_KEY, sealed[:-1] + bytes([sealed[-1] ^ 1]), QUEUE_A), (DATA_KEY, sealed, "")]:
        with pytest.raises(InvalidEnvelope):
            open_with(key, body, resource_arn=arn)


def test_wrong_data_key() -> None:
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    with pytest.raises(InvalidEnvelope):
        open_body(bytes(32), sealed, resource_arn=QUEUE_A)


def test_swapped_wrapped_key() -> None:
    """Replacing the stored KMS blob (same length) breaks the body: the header is in the AAD."""
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    swapped = sealed[:3] + b"C" * 114 + sealed[3 + 114 :]
    assert read_wrapped_key(swapped) == b"C" * 114
    with pytest.raises(InvalidEnvelope):
        open_body(DATA_KEY.plaintext, swapped, resource_arn=QUEUE_A)


def test_wrong_version_byte() -> None:
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    bad = b"\x02" + sealed[1:]
    with pytest.raises(InvalidEnvelope):
        read_wrapped_key(bad)
    with pytest.raises(InvalidEnvelope):
        open_body(DATA_KEY.plaintext, bad, resource_arn=QUEUE_A)


def test_truncated_blob() -> None:
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    for length in range(len(sealed)):
        with pytest.raises(InvalidEnvelope):
            open_body(DATA_KEY.plaintext, sealed[:length], resource_arn=QUEUE_A)
    for length in range(3 + 114 + 29):
        with pytest.raises(InvalidEnvelope):
            read_wrapped_key(sealed[:length])


def test_zero_length_wrapped_key_is_malformed() -> None:
    with pytest.raises(InvalidEnvelope):
        read_wrapped_key(b"\x01\x00\x00" + bytes(40))


def test_empty_resource_arn() -> None:
    with pytest.raises(ValueError, match="ARN"):
        seal_body(DATA_KEY, b"hello", resource_arn="")
    sealed = seal_body(DATA_KEY, b"hello", resource_arn=QUEUE_A)
    with pytest.raises(InvalidEnvelope):
        open_body(DATA_KEY.plaintext, sealed, resource_arn="")


def test_data_key_repr_hides_plaintext() -> None:
    text = repr(DATA_KEY) + str(DATA_KEY)
    assert DATA_KEY.plaintext.hex() not in text
    assert repr(DATA_KEY.plaintext) not in text
    assert "plaintext" not in text
    assert "114 bytes" in text


@pytest.mark.parametrize(
    ("plaintext", "blob"),
    [(bytes(16), b"B"), (bytes(33), b"B"), (bytes(32), b""), (bytes(32), bytes(65536))],
    ids=["short-key", "long-key", "empty-blob", "huge-blob"],
)
def test_data_key_validates(plaintext: bytes, blob: bytes) -> None:
    with pytest.raises(ValueError):
        DataKey(plaintext=plaintext, ciphertext_blob=blob, key_id="k")


@given(body=st.binary(max_size=1024), arn=st.text(min_size=1, max_size=80))
def test_property_round_trip(body: bytes, arn: str) -> None:
    sealed = seal_body(DATA_KEY, body, resource_arn=arn)
    assert open_body(DATA_KEY.plaintext, sealed, resource_arn=arn) == body


@given(body=st.binary(max_size=128), data=st.data())
def test_property_any_single_bit_flip_fails(body: bytes, data: st.DataObject) -> None:
    sealed = bytearray(seal_body(DATA_KEY, body, resource_arn=QUEUE_A))
    bit = data.draw(st.integers(0, len(sealed) * 8 - 1))
    sealed[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidEnvelope):
        open_body(DATA_KEY.plaintext, bytes(sealed), resource_arn=QUEUE_A)
