"""Known-answer vectors (``vectors.json``; see ``generate_vectors.py`` for how they were made).

Each case checks both directions: the ``*_from_parts`` seam reproduces the stored bytes
exactly, and the ordinary open/decrypt API recovers the plaintext from them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cipherpost.crypto import aead, envelope, kms_blob
from cipherpost.crypto.keyring import Keyring

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "vectors.json").read_text("utf-8"))


def cases(section: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("v", VECTORS[section], ids=[case["name"] for case in VECTORS[section]])


def h(text: str) -> bytes:
    return bytes.fromhex(text)


@cases("aead")
def test_aead_vector(v: dict[str, str]) -> None:
    key, nonce, pt, aad = h(v["key"]), h(v["nonce"]), h(v["plaintext"]), h(v["aad"])
    assert aead.seal_from_parts(key, nonce, pt, aad) == h(v["sealed"])
    assert aead.unseal(key, h(v["sealed"]), aad) == pt


@cases("keyring_wrap")
def test_keyring_wrap_vector(v: dict[str, str]) -> None:
    ring = Keyring(h(v["root_key"]))
    assert ring.key_id == v["root_key_id"]
    wrapped = ring.wrap_from_parts(h(v["plaintext_key"]), purpose=v["purpose"], nonce=h(v["nonce"]))
    assert wrapped == h(v["wrapped"])
    assert ring.unwrap(h(v["wrapped"]), purpose=v["purpose"]) == h(v["plaintext_key"])


@cases("kms_blob")
def test_kms_blob_vector(v: dict[str, Any]) -> None:
    blob = kms_blob.encrypt_blob_from_parts(
        key_id=v["key_id"],
        version=v["version"],
        key_material=h(v["key_material"]),
        plaintext=h(v["plaintext"]),
        context=v["context"],
        installation_id=h(v["installation_id"]),
        salt=h(v["salt"]),
        nonce=h(v["nonce"]),
    )
    assert blob == h(v["blob"])
    header = kms_blob.peek_header(blob)
    assert (header.key_id, header.key_version, header.installation_id.hex()) == (
        v["key_id"],
        v["version"],
        v["installation_id"],
    )
    opened = kms_blob.decrypt_blob(
        blob, key_material=h(v["key_material"]), context=v["context"], installation_id=h(v["installation_id"])
    )
    assert opened == h(v["plaintext"])


@cases("envelope")
def test_envelope_vector(v: dict[str, str]) -> None:
    data_key = envelope.DataKey(plaintext=h(v["data_key"]), ciphertext_blob=h(v["ciphertext_blob"]), key_id="k")
    sealed = envelope.seal_body_from_parts(data_key, h(v["body"]), resource_arn=v["resource_arn"], nonce=h(v["nonce"]))
    assert sealed == h(v["sealed"])
    assert envelope.read_wrapped_key(sealed) == h(v["ciphertext_blob"])
    assert envelope.open_body(h(v["data_key"]), sealed, resource_arn=v["resource_arn"]) == h(v["body"])
