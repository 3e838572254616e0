"""The KMS background task: carry out due key deletions, expiries of imported key material and
due automatic rotations.

Deleting a key deletes its wrapped backing keys (crypto-shredding: every ciphertext made
under it becomes unrecoverable), its aliases, tags and grants, then the key record.

Test hook (off by default): ``CIPHERPOST_KMS_DELETION_CLOCK_SKEW`` — seconds added to the
clock when deciding what is due (e.g. ``2678400`` = 31 days makes every scheduled deletion
and automatic rotation due at once); ``CIPHERPOST_KMS_SWEEP_INTERVAL`` — seconds between
sweeps (default 60). Both are read once, when the server starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from cipherpost.services.kms.keys import KeyStore, now_ms
from cipherpost.store import UniqueViolation

log = logging.getLogger(__name__)

SKEW_ENV = "CIPHERPOST_KMS_DELETION_CLOCK_SKEW"
INTERVAL_ENV = "CIPHERPOST_KMS_SWEEP_INTERVAL"
DEFAULT_INTERVAL = 60.0


@dataclass(frozen=True, slots=True)
class SweepResult:
    """What one sweep did."""

    deleted: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    """Keys whose imported key material expired (now PendingImport)."""


@dataclass(frozen=True, slots=True)
class SweepSettings:
    """How often to sweep and how far the due-check clock runs ahead (tests only)."""

    interval: float = DEFAULT_INTERVAL
    skew_ms: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SweepSettings:
        """Read the two environment variables of the module docstring."""
        env = os.environ if environ is None else environ
        skew = float(env.get(SKEW_ENV, "0") or 0)
        interval = float(env.get(INTERVAL_ENV, "") or DEFAULT_INTERVAL)
        if skew:
            log.warning("%s=%s: KMS key deletions and rotations are due %s seconds early (testing only)",
                        SKEW_ENV, env[SKEW_ENV], skew)
        return cls(interval=max(interval, 0.05), skew_ms=int(skew * 1000))


async def sweep(keys: KeyStore, now: int, on_unusable: Callable[[str], Awaitable[None]] | None = None) -> SweepResult:
    """Delete every key whose deletion date is at or before ``now`` (epoch ms), remove imported
    key material whose ValidTo has passed, then rotate every enabled key whose next automatic
    rotation is due.

    :param on_unusable: called with the id of a key whose material expired (SNS and SQS drop
        their cached data keys of it).
    """
    result = SweepResult()
    for row in await keys.store.fetch_all("kms_keys_material_expired", now=now):
        key = await keys.get(row["key_id"])
        if key is None or key.valid_to is None or key.valid_to > now or not await keys.remove_material(key):
            continue
        result.expired.append(key.key_id)
        log.info("KMS key %s: its imported key material expired; it is pending import", key.key_id)
        if on_unusable is not None:
            await on_unusable(key.key_id)
    for row in await keys.store.fetch_all("kms_keys_due_for_deletion", now=now):
        if await keys.delete(row["key_id"], now=now):
            result.deleted.append(row["key_id"])
            log.info("deleted KMS key %s (its scheduled deletion date passed)", row["key_id"])
    for row in await keys.store.fetch_all("kms_keys_due_for_rotation", now=now):
        key = await keys.get(row["key_id"])
        if key is None or not key.rotation_enabled:
            continue
        try:
            await keys.add_version(key, "AUTOMATIC")
        except UniqueViolation:
            continue  # another node rotated it first
        result.rotated.append(key.key_id)
        log.info("rotated KMS key %s automatically", key.key_id)
    return result


async def run_sweeper(keys: KeyStore, settings: SweepSettings, clock: Callable[[], int] = now_ms,
                      on_unusable: Callable[[str], Awaitable[None]] | None = None) -> None:
    """Sweep every ``settings.interval`` seconds until cancelled; a failed sweep is logged and retried."""
    while True:
        try:
            await sweep(keys, clock() + settings.skew_ms, on_unusable)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("KMS sweep failed; retrying in %s seconds", settings.interval)
        await asyncio.sleep(settings.interval)
