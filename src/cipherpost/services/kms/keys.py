"""Key records and their storage: create, read, resolve a ``KeyId``, backing-key material.

Key material is, per backing-key version, 32 random bytes (symmetric keys), the HMAC key
(HMAC keys) or the PKCS#8 DER private key (RSA and ECC keys), wrapped under the root keyring
(purpose ``kms-key-material:<key_id>:<version>``) before it is stored; unwrapped material
lives only in this process's memory (a bounded cache: versions never change, and every use
reads the key record first, so a disabled or deleted key stops working at once even when
its material is cached).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cipherpost.crypto import kms_keypairs
from cipherpost.crypto.errors import UnwrapError
from cipherpost.crypto.keyring import Keyring
from cipherpost.errors import InternalFailure
from cipherpost.services.kms import keyspecs, policies
from cipherpost.services.kms.errors import NotFoundException
from cipherpost.services.kms.ids import KeyRef, alias_arn, key_arn
from cipherpost.services.kms.states import ENABLED, PENDING_IMPORT
from cipherpost.store import Row, Step, Store, UniqueViolation

KEY_MATERIAL_SIZE = 32
#: The Origin of a key whose material the customer imports.
EXTERNAL = "EXTERNAL"
DAY_MS = 86_400_000
#: AWS-managed keys rotate every year ("AWS managed keys": automatic, yearly).
MANAGED_ROTATION_DAYS = 365
_CACHE_LIMIT = 4096
#: Tags read per query; a key has at most 50 ("AWS KMS quotas"), so one query almost always.
_TAG_PAGE = 100


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(datetime.now(UTC).timestamp() * 1000)


def to_datetime(ms: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime (what the protocol layer serializes)."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def new_key_id() -> str:
    """A fresh key id, a random lowercase UUID as AWS's key ids are."""
    return str(uuid.uuid4())


def key_material_id(key_id: str, version: int) -> str:
    """The ``CurrentKeyMaterialId`` of a backing-key version: 64 hex characters, as AWS's, derived
    from public values only (it names the material; it reveals nothing of it)."""
    return hashlib.sha256(f"cipherpost/key-material-id/v1:{key_id}:{version}".encode()).hexdigest()


def current_material_id(key: KeyRecord) -> str:
    """The key material id of the key's current backing-key version."""
    return key_material_id(key.key_id, key.current_version)


def material_purpose(key_id: str, version: int) -> str:
    """The keyring purpose string that binds wrapped material to its slot."""
    return f"kms-key-material:{key_id}:{version}"


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One KMS key as stored."""

    key_id: str
    account_id: str
    region: str
    description: str
    key_state: str
    key_manager: str
    """``CUSTOMER`` or ``AWS``."""
    key_spec: str
    key_usage: str
    origin: str
    policy: str
    created_at: int
    deletion_at: int | None
    pending_window_days: int | None
    rotation_enabled: bool
    rotation_period_days: int | None
    next_rotation_at: int | None
    current_version: int
    expiration_model: str | None = None
    """Imported key material: ``KEY_MATERIAL_EXPIRES`` or ``KEY_MATERIAL_DOES_NOT_EXPIRE`` (None: none imported)."""
    valid_to: int | None = None
    """When imported key material expires (epoch ms)."""
    material_digest: bytes | None = None
    """The wrapped digest of the material ever imported (None: never imported)."""

    @property
    def arn(self) -> str:
        """The key ARN."""
        return key_arn(self.region, self.account_id, self.key_id)

    @property
    def is_managed(self) -> bool:
        """Whether this is an AWS-managed key (alias/aws/...)."""
        return self.key_manager == "AWS"

    @classmethod
    def from_row(cls, row: Row) -> KeyRecord:
        """Build from a ``kms_key_get`` row."""
        digest = row["material_digest"]
        return cls(**{**row, "rotation_enabled": bool(row["rotation_enabled"]),
                      "material_digest": None if digest is None else bytes(digest)})


@dataclass(frozen=True, slots=True)
class NewKey:
    """What CreateKey (or first use of an AWS-managed alias) asks for."""

    account_id: str
    region: str
    policy: str
    description: str = ""
    key_manager: str = "CUSTOMER"
    tags: Mapping[str, str] | None = None
    alias_name: str | None = None
    """An alias created in the same write (AWS-managed keys)."""
    rotation_period_days: int | None = None
    """Automatic rotation from the start, with this period (AWS-managed keys)."""
    key_id: str | None = None
    """The new key's id, when the caller chose it already (CreateKey's lockout check needs the ARN)."""
    key_spec: str = keyspecs.SYMMETRIC_DEFAULT
    key_usage: str = keyspecs.ENCRYPT_DECRYPT
    origin: str = "AWS_KMS"
    """``EXTERNAL``: the key waits in PendingImport for ImportKeyMaterial, without material."""


class KeyStore:
    """Key records, aliases and material over the store; the provider's data access."""

    def __init__(self, store: Store, keyring: Keyring) -> None:
        self.store = store
        self.keyring = keyring
        self._material: dict[tuple[str, int], bytes] = {}
        self._private: dict[tuple[str, int], kms_keypairs.PrivateKey] = {}

    async def get(self, key_id: str) -> KeyRecord | None:
        """The key with this id, in any account, or None."""
        row = await self.store.fetch_one("kms_key_get", key_id=key_id)
        return None if row is None else KeyRecord.from_row(row)

    async def require(self, key_id: str) -> KeyRecord:
        """The key with this id (it was just resolved; a concurrent deletion is NotFound)."""
        key = await self.get(key_id)
        if key is None:
            raise NotFoundException(f"Key '{key_id}' does not exist")
        return key

    async def create(self, spec: NewKey, *, now: int | None = None) -> KeyRecord:
        """Create a key with a fresh backing key (version 1), its tags and optional alias, atomically.

        :raises UniqueViolation: ``spec.alias_name`` exists already (a concurrent first use).
        """
        created = now_ms() if now is None else now
        key_id = spec.key_id or new_key_id()
        period = spec.rotation_period_days
        row: dict[str, object] = {
            "key_id": key_id,
            "account_id": spec.account_id,
            "region": spec.region,
            "description": spec.description,
            "key_state": PENDING_IMPORT if spec.origin == EXTERNAL else ENABLED,
            "key_manager": spec.key_manager,
            "key_spec": spec.key_spec,
            "key_usage": spec.key_usage,
            "origin": spec.origin,
            "policy": spec.policy,
            "created_at": created,
            "rotation_enabled": 1 if period else 0,
            "rotation_period_days": period,
            "next_rotation_at": created + period * DAY_MS if period else None,
            "current_version": 1,
        }
        steps = [Step("kms_key_insert", row)]
        material = None
        if spec.origin != EXTERNAL:
            if spec.key_spec != keyspecs.SYMMETRIC_DEFAULT:
                # An RSA key pair takes up to seconds to generate: keep the event loop free.
                material = await asyncio.to_thread(keyspecs.new_material, spec.key_spec)
            version_step, material = self._new_version(key_id, 1, created, None, material)
            steps.append(version_step)
        tags = (spec.tags or {}).items()
        steps += [Step("kms_tag_put", {"key_id": key_id, "tag_key": k, "tag_value": v}) for k, v in tags]
        if spec.alias_name is not None:
            alias = {"account_id": spec.account_id, "alias_name": spec.alias_name, "target_key_id": key_id,
                     "created_at": created}
            steps.append(Step("kms_alias_insert", alias))
        await self.store.write(steps)
        if material is not None:
            self._remember(key_id, 1, material)
        return await self.require(key_id)

    def _new_version(self, key_id: str, version: int, created: int, rotation_type: str | None,
                     material: bytes | None = None) -> tuple[Step, bytes]:
        """The write of a new backing-key version (wrapped) and its material (fresh symmetric
        material unless ``material`` is given).

        The caller caches the material only once the write has committed: a version that
        lost a race must never shadow the winner's material.
        """
        if material is None:
            material = secrets.token_bytes(KEY_MATERIAL_SIZE)
        wrapped = self.keyring.wrap(material, purpose=material_purpose(key_id, version))
        params = {"key_id": key_id, "version": version, "material": wrapped, "created_at": created,
                  "rotation_type": rotation_type}
        return Step("kms_key_version_insert", params), material

    async def add_version(self, key: KeyRecord, rotation_type: str, *, now: int | None = None) -> int:
        """Rotate: add a backing-key version and make it current; returns the new version.

        :raises UniqueViolation: a concurrent rotation created the same version first.
        """
        when = now_ms() if now is None else now
        version = key.current_version + 1
        version_step, material = self._new_version(key.key_id, version, when, rotation_type)
        steps = [
            version_step,
            Step("kms_key_advance_version",
                 {"key_id": key.key_id, "version": version, "previous": key.current_version}),
        ]
        if rotation_type == "AUTOMATIC" and key.rotation_enabled and key.rotation_period_days:
            # An automatic rotation schedules the next one; an on-demand rotation leaves the
            # schedule as it is (LocalStack's test_rotate_key_on_demand_with_symmetric_key_and_
            # automatic_rotation_enabled, recorded against AWS: NextRotationDate is unchanged).
            steps.append(Step("kms_key_set_rotation", {
                "key_id": key.key_id, "rotation_enabled": 1, "rotation_period_days": key.rotation_period_days,
                "next_rotation_at": when + key.rotation_period_days * DAY_MS}))
        await self.store.write(steps)
        self._remember(key.key_id, version, material)
        return version

    async def material(self, key_id: str, version: int) -> bytes | None:
        """The unwrapped backing key of one version, or None if that version does not exist."""
        cached = self._material.get((key_id, version))
        if cached is not None:
            return cached
        row = await self.store.fetch_one("kms_key_version_get", key_id=key_id, version=version)
        if row is None:
            return None
        try:
            material = self.keyring.unwrap(bytes(row["material"]), purpose=material_purpose(key_id, version))
        except UnwrapError:
            # Stored material that does not unwrap is a server-side fault, never the client's.
            raise InternalFailure(f"The key material of {key_id} could not be unwrapped.") from None
        self._remember(key_id, version, material)
        return material

    async def private_key(self, key_id: str, version: int = 1) -> kms_keypairs.PrivateKey:
        """The parsed private key of an RSA or ECC key (asymmetric keys have one version).

        :raises InternalFailure: the material is missing or is not a private key.
        """
        cached = self._private.get((key_id, version))
        if cached is not None:
            return cached
        material = await self.material(key_id, version)
        try:
            if material is None:
                raise ValueError("no key material")
            key = kms_keypairs.load_private_key(material)
        except ValueError:
            raise InternalFailure(f"The key material of {key_id} is not a private key.") from None
        if len(self._private) >= _CACHE_LIMIT:
            self._private.pop(next(iter(self._private)))
        self._private[(key_id, version)] = key
        return key

    def _remember(self, key_id: str, version: int, material: bytes) -> None:
        if len(self._material) >= _CACHE_LIMIT:
            self._material.pop(next(iter(self._material)))
        self._material[(key_id, version)] = material

    async def remove_material(self, key: KeyRecord) -> bool:
        """Delete a key's imported material and put it back in PendingImport, if it is still in
        the state it was read in (DeleteImportedKeyMaterial, or the material's expiry).

        :returns: whether the material was removed.
        """
        params = {"key_id": key.key_id, "from_state": key.key_state}
        results = await self.store.write([Step("kms_key_material_versions_delete", params),
                                          Step("kms_key_material_remove", params)])
        self.forget(key.key_id)
        return results[-1].rowcount > 0

    def forget(self, key_id: str) -> None:
        """Drop a deleted key's material from memory."""
        for slot in [slot for slot in self._material if slot[0] == key_id]:
            del self._material[slot]
        for slot in [slot for slot in self._private if slot[0] == key_id]:
            del self._private[slot]

    async def delete(self, key_id: str, *, now: int) -> bool:
        """Delete a key whose deletion is due at ``now``: material (crypto-shredding), aliases,
        tags, grants, then the record; nothing if it is no longer pending deletion and due.

        :returns: whether the key was deleted.
        """
        params = {"key_id": key_id, "now": now}
        names = ("kms_key_versions_delete", "kms_key_aliases_delete", "kms_key_tags_delete",
                 "kms_key_grants_delete", "kms_key_import_tokens_delete", "kms_key_delete")
        results = await self.store.write([Step(name, params) for name in names])
        deleted = results[-1].rowcount > 0
        if deleted:
            self.forget(key_id)
        return deleted

    async def resolve(self, ref: KeyRef, *, account: str, region: str) -> KeyRecord:
        """The key a parsed ``KeyId`` names, for a caller in ``account``.

        An alias name of an AWS-managed key (``alias/aws/sns``, ``alias/aws/sqs``) creates
        the key in the caller's account on first use, as AWS does.

        :raises NotFoundException: no such key or alias in the named account and region.
        """
        owner = ref.account or account
        if ref.region is not None and ref.region != region:
            raise NotFoundException(f"Key '{ref.name}' does not exist in region {region}")
        if not ref.is_alias:
            key = await self.get(ref.name)
            if key is None or key.account_id != owner:
                raise NotFoundException(f"Key '{key_arn(region, owner, ref.name)}' does not exist")
            return key
        row = await self.store.fetch_one("kms_alias_get", account_id=owner, alias_name=ref.name)
        if row is None and ref.name in policies.MANAGED_ALIASES and owner == account:
            return await self.ensure_managed(owner, region, ref.name)
        if row is None:
            raise NotFoundException(f"Alias {alias_arn(region, owner, ref.name)} is not found.")
        return await self.require(str(row["target_key_id"]))

    async def ensure_managed(self, account: str, region: str, alias_name: str) -> KeyRecord:
        """The AWS-managed key behind ``alias_name`` in ``account``, created if it does not exist."""
        service = policies.MANAGED_ALIASES[alias_name]
        spec = NewKey(
            account_id=account,
            region=region,
            policy=policies.managed_key_policy(service, account, region),
            description=policies.managed_key_description(service),
            key_manager="AWS",
            alias_name=alias_name,
            rotation_period_days=MANAGED_ROTATION_DAYS,
        )
        try:
            return await self.create(spec)
        except UniqueViolation:
            # Another request created it first: use theirs (ours was not committed).
            row = await self.store.fetch_one("kms_alias_get", account_id=account, alias_name=alias_name)
            if row is None:
                raise
            return await self.require(str(row["target_key_id"]))

    async def set_tags(self, key_id: str, tags: Sequence[tuple[str, str]]) -> None:
        """Add or replace tags on a key, atomically."""
        await self.store.write([Step("kms_tag_put", {"key_id": key_id, "tag_key": k, "tag_value": v}) for k, v in tags])

    async def tags(self, key_id: str) -> dict[str, str]:
        """Every tag of a key (its ``aws:ResourceTag/<key>`` condition keys)."""
        tags: dict[str, str] = {}
        after = ""
        while True:
            rows = await self.store.fetch_all("kms_tags_list", key_id=key_id, after=after, limit=_TAG_PAGE)
            tags.update((str(row["tag_key"]), str(row["tag_value"])) for row in rows)
            if len(rows) < _TAG_PAGE:
                return tags
            after = str(rows[-1]["tag_key"])
