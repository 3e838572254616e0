"""Start-up: open (or initialize) a data directory and hold what the request path needs.

On an empty data directory the first start creates, in this order: the directory (0700),
the root keyring (0600), the store with its schema, the installation id, the default
account, and the root credentials (from ``CIPHERPOST_ROOT_ACCESS_KEY_ID`` /
``CIPHERPOST_ROOT_SECRET_ACCESS_KEY`` if set, else generated), written once to a 0600
file in AWS shared-credentials format under the profile ``cipherpost``. Later starts reuse
all of it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cipherpost.auth.credentials import (
    CredentialStore,
    new_access_key_id,
    new_secret_access_key,
    root_caller,
)
from cipherpost.config import DEFAULT_ACCOUNT_ID, Settings
from cipherpost.crypto.keyring import ROOT_KEY_ENV, Keyring
from cipherpost.files import write_atomic
from cipherpost.store import Step, Store, open_store

if TYPE_CHECKING:  # services import the runtime; the runtime only refers to the trail's type
    from cipherpost.services.audit import AuditTrail

log = logging.getLogger(__name__)

KEYRING_FILE = "keyring"
CREDENTIALS_FILE = "credentials"
PROFILE = "cipherpost"
ROOT_KEY_ID_ENV = "CIPHERPOST_ROOT_ACCESS_KEY_ID"
ROOT_SECRET_ENV = "CIPHERPOST_ROOT_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name


@dataclass(slots=True)
class Runtime:
    """The long-lived state of one server process."""

    settings: Settings
    store: Store
    keyring: Keyring
    credentials: CredentialStore
    installation_id: str
    default_account: str
    credentials_file: Path
    audit: AuditTrail | None = None
    """The audit trail, once `cipherpost serve` has started it."""

    async def close(self) -> None:
        await self.store.close()


def _ensure_data_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("data directory %s is accessible to other users (mode %o); use 0700", path, mode)


def write_credentials_file(path: Path, access_key_id: str, secret: str) -> None:
    """Write the shared-credentials file with mode 0600 (atomically, never readable by others)."""
    content = f"[{PROFILE}]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\n"
    write_atomic(path, content.encode("utf-8"), 0o600)


async def _meta(store: Store, key: str, default: str) -> str:
    """Read an installation setting, recording ``default`` the first time."""
    row = await store.fetch_one("meta_get", key=key)
    if row is not None:
        return str(row["value"])
    await store.execute("meta_put_new", key=key, value=default)
    row = await store.fetch_one("meta_get", key=key)
    assert row is not None
    return str(row["value"])


async def _ensure_root_credentials(runtime: Runtime, environ: Mapping[str, str]) -> None:
    if await runtime.store.fetch_one("meta_get", key="root_access_key_id") is not None:
        return
    access_key_id = environ.get(ROOT_KEY_ID_ENV) or new_access_key_id()
    secret = environ.get(ROOT_SECRET_ENV) or new_secret_access_key()
    # The file first: if we crash before the commit below, the next start makes new
    # credentials and rewrites it; the other order could lose a generated secret forever.
    write_credentials_file(runtime.credentials_file, access_key_id, secret)
    await runtime.credentials.create(
        root_caller(runtime.default_account),
        access_key_id=access_key_id,
        secret=secret,
        extra_steps=[Step("meta_put_new", {"key": "root_access_key_id", "value": access_key_id})],
    )
    log.info("initialized root credentials for account %s", runtime.default_account)


async def start_runtime(settings: Settings, environ: Mapping[str, str] | None = None) -> Runtime:
    """Open or initialize the data directory described by ``settings``."""
    env = os.environ if environ is None else environ
    data_dir = settings.data_dir
    _ensure_data_dir(data_dir)
    keyring = Keyring.load_or_create(data_dir / KEYRING_FILE, env_key=env.get(ROOT_KEY_ENV))
    store = await open_store(data_dir, settings.database_url)
    try:
        installation_id = await _meta(store, "installation_id", uuid.uuid4().hex)
        account = await _meta(store, "default_account_id", settings.account_id)
        if settings.account_id not in (account, DEFAULT_ACCOUNT_ID):
            log.warning("data directory already belongs to account %s; ignoring account_id", account)
        await store.execute("account_insert", account_id=account, created_at=0)
        runtime = Runtime(
            settings=settings,
            store=store,
            keyring=keyring,
            credentials=CredentialStore(store, keyring),
            installation_id=installation_id,
            default_account=account,
            credentials_file=data_dir / CREDENTIALS_FILE,
        )
        await _ensure_root_credentials(runtime, env)
    except BaseException:
        await store.close()
        raise
    return runtime
