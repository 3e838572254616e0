"""The background task's due checks, with an injected clock, on a real SQLite store."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from cipherpost.crypto import kms_blob
from cipherpost.crypto.keyring import Keyring
from cipherpost.services.kms.keys import DAY_MS, KeyStore, NewKey
from cipherpost.services.kms.policies import default_key_policy
from cipherpost.services.kms.sweeper import SKEW_ENV, SweepSettings, sweep
from cipherpost.store import open_store

T = TypeVar("T")
INSTALLATION = os.urandom(16)


def _run(tmp_path: Path, body: Callable[[KeyStore], Awaitable[T]]) -> T:
    async def main() -> T:
        store = await open_store(tmp_path)
        try:
            return await body(KeyStore(store, Keyring(os.urandom(32))))
        finally:
            await store.close()

    return asyncio.run(main())


def _spec(**changes: object) -> NewKey:
    fields: dict[str, object] = {"account_id": "000000000000", "region": "us-east-1",
                                 "policy": default_key_policy("000000000000")}
    fields.update(changes)
    return NewKey(**fields)  # type: ignore[arg-type]


def test_deletion_happens_only_when_due_and_shreds_material(tmp_path: Path) -> None:
    async def body(keys: KeyStore) -> None:
        key = await keys.create(_spec(), now=0)
        material = await keys.material(key.key_id, 1)
        assert material is not None
        blob = kms_blob.encrypt_blob(key_id=key.key_id, version=1, key_material=material, plaintext=b"secret",
                                     context={}, installation_id=INSTALLATION)
        due = 10 * DAY_MS
        await keys.store.execute("kms_key_set_state", key_id=key.key_id, key_state="PendingDeletion",
                                 deletion_at=due, pending_window_days=7, from_state="Enabled")
        assert (await sweep(keys, due - 1)).deleted == []
        assert await keys.get(key.key_id) is not None
        assert (await sweep(keys, due)).deleted == [key.key_id]
        assert await keys.get(key.key_id) is None
        assert await keys.material(key.key_id, 1) is None  # neither cached nor stored
        del blob  # nothing left that could decrypt it

    _run(tmp_path, body)


def test_enabled_and_disabled_keys_are_never_deleted(tmp_path: Path) -> None:
    async def body(keys: KeyStore) -> None:
        enabled = await keys.create(_spec(), now=0)
        disabled = await keys.create(_spec(), now=0)
        await keys.store.execute("kms_key_set_state", key_id=disabled.key_id, key_state="Disabled",
                                 deletion_at=None, pending_window_days=None, from_state="Enabled")
        assert (await sweep(keys, 10**15)).deleted == []
        assert await keys.get(enabled.key_id) is not None
        assert await keys.get(disabled.key_id) is not None

    _run(tmp_path, body)


def test_a_cancelled_deletion_wins_the_race(tmp_path: Path) -> None:
    """The sweeper read the key as due, then CancelKeyDeletion committed: nothing is deleted."""

    async def body(keys: KeyStore) -> None:
        key = await keys.create(_spec(), now=0)
        store = keys.store
        await store.execute("kms_key_set_state", key_id=key.key_id, key_state="PendingDeletion",
                            deletion_at=100, pending_window_days=7, from_state="Enabled")
        await store.execute("kms_key_set_state", key_id=key.key_id, key_state="Disabled",
                            deletion_at=None, pending_window_days=None, from_state="PendingDeletion")
        assert await keys.delete(key.key_id, now=200) is False
        keys.forget(key.key_id)
        assert await keys.material(key.key_id, 1) is not None
        assert await keys.get(key.key_id) is not None

    _run(tmp_path, body)


def test_automatic_rotation_when_due(tmp_path: Path) -> None:
    async def body(keys: KeyStore) -> None:
        key = await keys.create(_spec(rotation_period_days=90), now=0)
        assert key.next_rotation_at == 90 * DAY_MS
        assert (await sweep(keys, 90 * DAY_MS - 1)).rotated == []
        assert (await sweep(keys, 90 * DAY_MS)).rotated == [key.key_id]
        rotated = await keys.get(key.key_id)
        assert rotated is not None
        assert rotated.current_version == 2
        assert rotated.next_rotation_at is not None and rotated.next_rotation_at > 90 * DAY_MS
        assert await keys.material(key.key_id, 1) != await keys.material(key.key_id, 2)

    _run(tmp_path, body)


def test_material_is_stored_wrapped(tmp_path: Path) -> None:
    async def body(keys: KeyStore) -> None:
        key = await keys.create(_spec())
        material = await keys.material(key.key_id, 1)
        row = await keys.store.fetch_one("kms_key_version_get", key_id=key.key_id, version=1)
        assert row is not None and material is not None
        assert material not in bytes(row["material"])
        keys.forget(key.key_id)
        assert await keys.material(key.key_id, 1) == material  # unwrapped again from the store

    _run(tmp_path, body)


def test_managed_key_is_created_once(tmp_path: Path) -> None:
    async def body(keys: KeyStore) -> None:
        first, second = await asyncio.gather(
            keys.ensure_managed("000000000000", "us-east-1", "alias/aws/sqs"),
            keys.ensure_managed("000000000000", "us-east-1", "alias/aws/sqs"),
        )
        assert first.key_id == second.key_id
        assert first.key_manager == "AWS"
        assert first.rotation_enabled

    _run(tmp_path, body)


def test_settings_from_env() -> None:
    assert SweepSettings.from_env({}).skew_ms == 0
    settings = SweepSettings.from_env({SKEW_ENV: "2678400", "CIPHERPOST_KMS_SWEEP_INTERVAL": "0.2"})
    assert settings.skew_ms == 2678400 * 1000
    assert settings.interval == 0.2


def test_imported_material_expires_when_due(tmp_path: Path) -> None:
    async def body(keys: KeyStore) -> None:
        key = await keys.create(_spec(origin="EXTERNAL"), now=0)
        assert key.key_state == "PendingImport" and await keys.material(key.key_id, 1) is None
        wrapped = keys.keyring.wrap(bytes(32), purpose=f"kms-key-material:{key.key_id}:1")
        await keys.store.execute("kms_key_version_insert", key_id=key.key_id, version=1, material=wrapped,
                                 created_at=0, rotation_type=None)
        await keys.store.execute("kms_key_material_import", key_id=key.key_id, expiration_model="KEY_MATERIAL_EXPIRES",
                                 valid_to=DAY_MS, material_digest=b"d", from_state="PendingImport")
        assert await keys.material(key.key_id, 1) == bytes(32)
        unusable: list[str] = []

        async def note(key_id: str) -> None:
            unusable.append(key_id)

        assert (await sweep(keys, DAY_MS - 1, note)).expired == []
        assert (await sweep(keys, DAY_MS, note)).expired == [key.key_id]
        assert unusable == [key.key_id]
        after = await keys.get(key.key_id)
        assert after is not None and (after.key_state, after.expiration_model, after.valid_to) == (
            "PendingImport", None, None)
        assert after.material_digest == b"d"  # the same material may come back
        assert await keys.material(key.key_id, 1) is None  # neither cached nor stored

    _run(tmp_path, body)
