from __future__ import annotations

import uuid
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cipherpost.crypto import kms_blob
from cipherpost.crypto.errors import InvalidCiphertext
from cipherpost.crypto.kms_blob import canonicalize_context, decrypt_blob, encrypt_blob, peek_header

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
MATERIAL = bytes(range(32))
INSTALLATION = bytes(range(16))
CONTEXT = {"aws:sqs:arn": "arn:aws:sqs:us-east-1:111122223333:records", "department": "cardiology"}


def make(plaintext: bytes = b"secret", context: Mapping[str, str] = CONTEXT, version: int = 3) -> bytes:
    return encrypt_blob(
        key_id=KEY_ID,
        version=version,
        key_material=MATERIAL,
        plaintext=plaintext,
        context=context,
        installation_id=INSTALLATION,
    )


def open_(
    blob: bytes,
    context: Mapping[str, str] = CONTEXT,
    material: bytes = MATERIAL,
    installation: bytes = INSTALLATION,
) -> bytes:
    return decrypt_blob(blob, key_material=material, context=context, installation_id=installation)


def test_round_trip() -> None:
    assert open_(make(b"secret")) == b"secret"


def test_empty_plaintext_and_context() -> None:
    assert open_(make(b"", context={}), context={}) == b""


def test_size_for_a_data_key() -> None:
    assert len(make(bytes(32))) == 114
    assert kms_blob.OVERHEAD == 82


def test_peek_header() -> None:
    header = peek_header(make(version=42))
    assert header == kms_blob.BlobHeader(key_id=KEY_ID, key_version=42, installation_id=INSTALLATION)


def test_blobs_are_randomized() -> None:
    assert make() != make()


def test_wrong_version_byte() -> None:
    blob = make()
    for version in (0x00, 0x02, 0xFF):
        bad = bytes([version]) + blob[1:]
        with pytest.raises(InvalidCiphertext):
            peek_header(bad)
        with pytest.raises(InvalidCiphertext):
            open_(bad)


def test_truncated_blob() -> None:
    blob = make()
    for length in range(len(blob)):
        with pytest.raises(InvalidCiphertext):
            open_(blob[:length])
    for length in range(kms_blob.OVERHEAD):
        with pytest.raises(InvalidCiphertext):
            peek_header(blob[:length])


def test_foreign_installation() -> None:
    with pytest.raises(InvalidCiphertext):
        open_(make(), installation=bytes(16))


def test_foreign_installation_id_rewritten_in_header() -> None:
    """Rewriting the installation id to ours does not help: the header is authenticated."""
    theirs = bytes(16)
    blob = encrypt_blob(
        key_id=KEY_ID, version=1, key_material=MATERIAL, plaintext=b"x", context={}, installation_id=theirs
    )
    with pytest.raises(InvalidCiphertext):
        open_(blob[:1] + INSTALLATION + blob[17:], context={})


def test_wrong_key_material() -> None:
    with pytest.raises(InvalidCiphertext):
        open_(make(), material=bytes(32))


def test_wrong_key_material_length() -> None:
    with pytest.raises(InvalidCiphertext):
        open_(make(), material=bytes(16))


def test_tampered_key_version() -> None:
    blob = bytearray(make(version=1))
    blob[36] = 2
    assert peek_header(bytes(blob)).key_version == 2
    with pytest.raises(InvalidCiphertext):
        open_(bytes(blob))


def test_wrong_context() -> None:
    blob = make()
    for context in [{}, {**CONTEXT, "extra": "x"}, {**CONTEXT, "department": "oncology"}]:
        with pytest.raises(InvalidCiphertext):
            open_(blob, context=context)


def test_missing_context() -> None:
    with pytest.raises(InvalidCiphertext):
        open_(make(), context={})


def test_context_order_irrelevant() -> None:
    reordered = dict(reversed(list(CONTEXT.items())))
    assert list(reordered) != list(CONTEXT)
    assert open_(make(), context=reordered) == b"secret"
    assert canonicalize_context(reordered) == canonicalize_context(CONTEXT)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": "bc"}, {"ab": "c"}),
        ({}, {"": ""}),
        ({"a": "b", "c": "d"}, {"a": "b\x00\x00\x00\x01c\x00\x00\x00\x01d"}),
        ({"a": "b"}, {"A": "b"}),
        ({"\u00e9": "x"}, {"e\u0301": "x"}),  # precomposed vs combining accent: different bytes
    ],
    ids=["split-point", "empty-vs-empty-pair", "embedded-framing", "case", "unicode-normalization"],
)
def test_context_spellings_do_not_collide(a: dict[str, str], b: dict[str, str]) -> None:
    assert canonicalize_context(a) != canonicalize_context(b)
    with pytest.raises(InvalidCiphertext):
        open_(make(context=a), context=b)


def test_canonical_context_layout() -> None:
    assert canonicalize_context({}) == b"\x00\x00\x00\x00"
    assert canonicalize_context({"b": "2", "a": "1"}) == (
        b"\x00\x00\x00\x02" + b"\x00\x00\x00\x01a\x00\x00\x00\x011" + b"\x00\x00\x00\x01b\x00\x00\x00\x012"
    )


def test_non_string_context_on_decrypt_is_opaque() -> None:
    with pytest.raises(InvalidCiphertext):
        open_(make(), context={"a": 1})  # type: ignore[dict-item]
    with pytest.raises(InvalidCiphertext):
        open_(make(), context={"a": "\ud800"})  # lone surrogate


@pytest.mark.parametrize(
    "changes",
    [
        {"key_id": KEY_ID.upper()},
        {"key_id": "alias/aws/sqs"},
        {"key_id": KEY_ID.replace("-", "")},
        {"version": -1},
        {"version": 2**32},
        {"installation_id": bytes(15)},
        {"key_material": bytes(31)},
        {"context": {"a": "\ud800"}},
    ],
    ids=[
        "uppercase-id",
        "alias",
        "undashed-id",
        "negative-version",
        "huge-version",
        "short-installation",
        "short-key",
        "surrogate-context",
    ],
)
def test_encrypt_rejects_bad_arguments(changes: dict[str, object]) -> None:
    args: dict[str, object] = {
        "key_id": KEY_ID,
        "version": 1,
        "key_material": MATERIAL,
        "plaintext": b"x",
        "context": {},
        "installation_id": INSTALLATION,
    }
    with pytest.raises(ValueError):
        encrypt_blob(**{**args, **changes})  # type: ignore[arg-type]


contexts = st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=5)


@given(plaintext=st.binary(max_size=256), context=contexts, version=st.integers(0, 2**32 - 1), key=st.uuids())
def test_property_round_trip(plaintext: bytes, context: dict[str, str], version: int, key: uuid.UUID) -> None:
    blob = encrypt_blob(
        key_id=str(key),
        version=version,
        key_material=MATERIAL,
        plaintext=plaintext,
        context=context,
        installation_id=INSTALLATION,
    )
    assert peek_header(blob) == kms_blob.BlobHeader(str(key), version, INSTALLATION)
    assert open_(blob, context=context) == plaintext


@given(plaintext=st.binary(max_size=64), context=contexts, data=st.data())
def test_property_any_single_bit_flip_fails(plaintext: bytes, context: dict[str, str], data: st.DataObject) -> None:
    blob = bytearray(make(plaintext, context))
    bit = data.draw(st.integers(0, len(blob) * 8 - 1))
    blob[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(InvalidCiphertext):
        open_(bytes(blob), context=context)
