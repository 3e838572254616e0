"""Tag handlers (TagResource, UntagResource, ListResourceTags) and rotation handlers
(Enable/DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations).

"Rotating AWS KMS keys": rotation adds a backing-key version; every version keeps
decrypting, new encryptions use the newest. Automatic rotation runs every
RotationPeriodInDays (90..2560, default 365); on-demand rotation is limited to 10 per key.
"""

from __future__ import annotations

from typing import Final

from cipherpost.context import RequestContext
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import (
    ConflictException,
    KMSInvalidStateException,
    LimitExceededException,
    UnsupportedOperationException,
)
from cipherpost.services.kms.keys import DAY_MS, KeyRecord, now_ms, to_datetime
from cipherpost.services.kms.keyspecs import SYMMETRIC_DEFAULT
from cipherpost.services.kms.validate import (
    check_length,
    check_range,
    check_tag_count,
    check_tags,
    decode_marker,
    page,
    page_limit,
)
from cipherpost.store import UniqueViolation

DEFAULT_ROTATION_DAYS: Final = 365
MAX_ON_DEMAND_ROTATIONS: Final = 10


def check_rotatable(key: KeyRecord, on_demand: bool = False) -> None:
    """:raises UnsupportedOperationException: the key is not a symmetric encryption key, or
        (automatic rotation) its material was imported.
    :raises KMSInvalidStateException: on-demand rotation of a key with imported material: it
        rotates to material imported for the purpose, which Cipherpost never has.

    "Rotating AWS KMS keys": automatic and on-demand rotation exist only for symmetric
    encryption keys; asymmetric and HMAC keys cannot be rotated.
    """
    if key.key_spec != SYMMETRIC_DEFAULT or (key.origin != "AWS_KMS" and not on_demand):
        # AWS answers without a message (LocalStack's recording of
        # test_rotate_key_on_demand_raises_error_given_non_symmetric_key).
        raise UnsupportedOperationException("")
    if key.origin != "AWS_KMS":
        # AWS's answer (LocalStack's recording of test_rotate_key_on_demand_raises_for_no_pending_key_material).
        raise KMSInvalidStateException(f"No available key material pending rotation for the key: {key.arn}.")


class TagRotationOps(KmsCore):
    """Tag and rotation handlers."""

    @operation("TagResource")
    async def tag_resource(self, ctx: RequestContext, params: Params) -> Result:
        """TagResource: add or overwrite tags (at most 50 per key)."""
        tags = check_tags(params["Tags"])
        key = await self.use_key(ctx, params["KeyId"], "TagResource")
        rows = await self.runtime.store.fetch_all("kms_tag_keys", key_id=key.key_id)
        check_tag_count({row["tag_key"] for row in rows}, tags)
        await self.keys.set_tags(key.key_id, tags)
        return {}

    @operation("UntagResource")
    async def untag_resource(self, ctx: RequestContext, params: Params) -> Result:
        """UntagResource: remove tags; keys the key does not have are ignored."""
        for tag_key in params["TagKeys"]:
            check_length(tag_key, "TagKeys", 1, 128)
        key = await self.use_key(ctx, params["KeyId"], "UntagResource")
        for tag_key in params["TagKeys"]:
            await self.runtime.store.execute("kms_tag_delete", key_id=key.key_id, tag_key=tag_key)
        return {}

    @operation("ListResourceTags")
    async def list_resource_tags(self, ctx: RequestContext, params: Params) -> Result:
        """ListResourceTags: 50 per page by default (the per-key maximum)."""
        limit = page_limit(params, default=50, maximum=50)
        after = decode_marker(params.get("Marker"))
        key = await self.use_key(ctx, params["KeyId"], "ListResourceTags")
        rows = await self.runtime.store.fetch_all("kms_tags_list", key_id=key.key_id, after=after, limit=limit + 1)
        kept, more = page(rows, limit, "tag_key")
        return {"Tags": [{"TagKey": row["tag_key"], "TagValue": row["tag_value"]} for row in kept], **more}

    @operation("EnableKeyRotation")
    async def enable_key_rotation(self, ctx: RequestContext, params: Params) -> Result:
        """EnableKeyRotation: the first automatic rotation comes one period from now."""
        period = check_range(int(params.get("RotationPeriodInDays", DEFAULT_ROTATION_DAYS)),
                             "RotationPeriodInDays", 90, 2560)
        key = await self.use_key(ctx, params["KeyId"], "EnableKeyRotation")
        check_rotatable(key)
        await self.runtime.store.execute("kms_key_set_rotation", key_id=key.key_id, rotation_enabled=1,
                                         rotation_period_days=period, next_rotation_at=now_ms() + period * DAY_MS)
        return {}

    @operation("DisableKeyRotation")
    async def disable_key_rotation(self, ctx: RequestContext, params: Params) -> Result:
        """DisableKeyRotation: existing versions stay; no automatic rotation any more."""
        key = await self.use_key(ctx, params["KeyId"], "DisableKeyRotation")
        check_rotatable(key)
        await self.runtime.store.execute("kms_key_set_rotation", key_id=key.key_id, rotation_enabled=0,
                                         rotation_period_days=None, next_rotation_at=None)
        return {}

    @operation("GetKeyRotationStatus")
    async def get_key_rotation_status(self, ctx: RequestContext, params: Params) -> Result:
        """GetKeyRotationStatus: period and next date only while rotation is enabled."""
        key = await self.use_key(ctx, params["KeyId"], "GetKeyRotationStatus", cross_account=True)
        result: Result = {"KeyRotationEnabled": key.rotation_enabled, "KeyId": key.arn}
        if key.rotation_enabled and key.rotation_period_days and key.next_rotation_at:
            result["RotationPeriodInDays"] = key.rotation_period_days
            result["NextRotationDate"] = to_datetime(key.next_rotation_at)
        return result

    @operation("RotateKeyOnDemand")
    async def rotate_key_on_demand(self, ctx: RequestContext, params: Params) -> Result:
        """RotateKeyOnDemand: a new backing-key version now (at most 10 per key)."""
        key = await self.use_key(ctx, params["KeyId"], "RotateKeyOnDemand")
        check_rotatable(key, on_demand=True)
        row = await self.runtime.store.fetch_one("kms_key_on_demand_count", key_id=key.key_id)
        if row is not None and int(row["n"]) >= MAX_ON_DEMAND_ROTATIONS:
            raise LimitExceededException("The on-demand rotations limit has been reached for the given keyId. "
                                         f"No more on-demand rotations can be performed for this key: {key.arn}")
        try:
            await self.keys.add_version(key, "ON_DEMAND")
        except UniqueViolation:
            raise ConflictException from None
        return {"KeyId": key.arn}

    @operation("ListKeyRotations")
    async def list_key_rotations(self, ctx: RequestContext, params: Params) -> Result:
        """ListKeyRotations: completed rotations, oldest first, 100 per page by default."""
        limit = page_limit(params, default=100, maximum=1000)
        marker = decode_marker(params.get("Marker"))
        after = int(marker) if marker.isdigit() else 0
        key = await self.use_key(ctx, params["KeyId"], "ListKeyRotations")
        rows = await self.runtime.store.fetch_all("kms_key_rotations_list", key_id=key.key_id, after=after,
                                                  limit=limit + 1)
        kept, more = page(rows, limit, "version")
        rotations = [{"KeyId": key.key_id, "RotationDate": to_datetime(row["created_at"]),
                      "RotationType": row["rotation_type"]} for row in kept]
        return {"Rotations": rotations, **more}
