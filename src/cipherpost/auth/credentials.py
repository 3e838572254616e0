"""Access keys: creation, storage (secrets wrapped under the root keyring) and a lookup cache.

SigV4 verification needs the secret itself (it is an HMAC key), so secrets cannot be
hashed; they are wrapped with the root keyring, bound to their access key id, and only the
wrapped form is ever stored. Lookups are cached in memory: a changed key (deactivated,
deleted) must be invalidated through :meth:`CredentialStore.invalidate`, which the IAM
handlers call, so the change takes effect at once on this node.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cipherpost.context import Caller
from cipherpost.crypto.keyring import Keyring
from cipherpost.store import Row, Step, Store, is_storable

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
ACTIVE = "Active"
INACTIVE = "Inactive"


def new_access_key_id(prefix: str = "AKIA") -> str:
    """A 20-character access key id in AWS's shape (``AKIA`` + 16 base32 characters)."""
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(16))


def new_secret_access_key() -> str:
    """A 40-character secret access key (30 random bytes, base64)."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def root_caller(account_id: str, access_key_id: str | None = None) -> Caller:
    """The account root principal."""
    return Caller(
        account_id=account_id,
        arn=f"arn:aws:iam::{account_id}:root",
        principal_id=account_id,
        kind="Root",
        access_key_id=access_key_id,
    )


@dataclass(frozen=True, slots=True)
class AccessKey:
    """One access key as authentication needs it. ``secret`` lives only in memory."""

    access_key_id: str
    secret: str
    caller: Caller
    status: str
    session_token_hash: str | None
    expires_at: int | None

    def __repr__(self) -> str:
        return f"AccessKey({self.access_key_id!r}, {self.caller.arn!r}, {self.status})"


def _purpose(access_key_id: str) -> str:
    return f"access-key-secret:{access_key_id}"


class CredentialStore:
    """Access keys in the store, with an in-memory cache of unwrapped records."""

    def __init__(self, store: Store, keyring: Keyring, *, ttl: float = 30.0) -> None:
        self._store = store
        self._keyring = keyring
        self._ttl = ttl
        self._cache: dict[str, tuple[float, AccessKey | None]] = {}

    async def lookup(self, access_key_id: str) -> AccessKey | None:
        """The access key, or None if it does not exist."""
        cached = self._cache.get(access_key_id)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        if not is_storable(access_key_id):
            return None  # (U+0000 in a presigned URL's credential): no stored key has it
        row = await self._store.fetch_one("access_key_get", access_key_id=access_key_id)
        record = None if row is None else self._record(row)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[access_key_id] = (now + self._ttl, record)
        return record

    def _record(self, row: Row) -> AccessKey:
        access_key_id = str(row["access_key_id"])
        secret = self._keyring.unwrap(bytes(row["secret_wrapped"]), purpose=_purpose(access_key_id))
        arn = str(row["principal_arn"])
        user_name = row["user_name"]
        caller = Caller(
            account_id=str(row["account_id"]),
            arn=arn,
            principal_id=str(row["principal_id"]),
            kind=_kind(arn),
            access_key_id=access_key_id,
            user_name=None if user_name is None else str(user_name),
        )
        expires = row["expires_at"]
        token_hash = row["session_token_hash"]
        return AccessKey(
            access_key_id=access_key_id,
            secret=secret.decode("utf-8"),
            caller=caller,
            status=str(row["status"]),
            session_token_hash=None if token_hash is None else str(token_hash),
            expires_at=None if expires is None else int(str(expires)),
        )

    def invalidate(self, access_key_id: str) -> None:
        """Forget a cached key so the next request reads its current state."""
        self._cache.pop(access_key_id, None)

    async def create(
        self,
        caller: Caller,
        *,
        access_key_id: str | None = None,
        secret: str | None = None,
        session_token_hash: str | None = None,
        expires_at: int | None = None,
        extra_steps: Sequence[Step] = (),
    ) -> tuple[str, str]:
        """Store a new active access key for ``caller``; returns (access key id, secret).

        ``extra_steps`` are committed atomically with the key.
        """
        access_key_id = access_key_id or new_access_key_id()
        secret = secret or new_secret_access_key()
        wrapped = self._keyring.wrap(secret.encode("utf-8"), purpose=_purpose(access_key_id))
        insert = Step(
            "access_key_insert",
            dict(
                access_key_id=access_key_id,
                account_id=caller.account_id,
                principal_arn=caller.arn,
                principal_id=caller.principal_id,
                user_name=caller.user_name,
                secret_wrapped=wrapped,
                status=ACTIVE,
                session_token_hash=session_token_hash,
                expires_at=expires_at,
                created_at=int(time.time()),
            ),
        )
        await self._store.write([insert, *extra_steps])
        self.invalidate(access_key_id)
        return access_key_id, secret


def _kind(arn: str) -> str:
    """CloudTrail userIdentity type from a principal ARN."""
    resource = arn.split(":", 5)[-1]
    if resource == "root":
        return "Root"
    if resource.startswith("assumed-role/"):
        return "AssumedRole"
    if resource.startswith("federated-user/"):
        return "FederatedUser"
    return "IAMUser"
