"""Key lifecycle handlers: CreateKey, DescribeKey, ListKeys, UpdateKeyDescription, Enable/DisableKey,
Schedule/CancelKeyDeletion, and the key policy operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.policy import Policy
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms import keyspecs, policies
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import (
    AccessDeniedException,
    ConflictException,
    MalformedPolicyDocumentException,
    NotFoundException,
)
from cipherpost.services.kms.ids import key_arn
from cipherpost.services.kms.keys import (
    DAY_MS,
    EXTERNAL,
    KeyRecord,
    NewKey,
    current_material_id,
    new_key_id,
    now_ms,
    to_datetime,
)
from cipherpost.services.kms.states import ENABLED, PENDING_DELETION, PENDING_IMPORT, TRANSITIONS, check_state
from cipherpost.services.kms.validate import (
    check_length,
    check_range,
    check_tag_count,
    check_tags,
    decode_marker,
    page,
    page_limit,
)

_TRANSITION_ATTEMPTS: Final = 3
_LOCKOUT: Final = "The new key policy will not allow you to update the key policy in the future."


def key_metadata(key: KeyRecord) -> dict[str, Any]:
    """The ``KeyMetadata`` structure of DescribeKey and CreateKey."""
    metadata: dict[str, Any] = {
        "AWSAccountId": key.account_id,
        "KeyId": key.key_id,
        "Arn": key.arn,
        "CreationDate": to_datetime(key.created_at),
        "Enabled": key.key_state == ENABLED,
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": key.key_state,
        "Origin": key.origin,
        "KeyManager": key.key_manager,
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        **keyspecs.algorithm_metadata(key.key_spec, key.key_usage),
        "MultiRegion": False,
    }
    if key.key_spec == keyspecs.SYMMETRIC_DEFAULT and (key.origin != EXTERNAL or key.material_digest is not None):
        # "CurrentKeyMaterialId": present for symmetric encryption keys with material (ever
        # imported, for origin EXTERNAL); rotation changes it.
        metadata["CurrentKeyMaterialId"] = current_material_id(key)
    if key.expiration_model is not None:
        metadata["ExpirationModel"] = key.expiration_model
        if key.valid_to is not None:
            metadata["ValidTo"] = to_datetime(key.valid_to)
    if key.key_state == PENDING_DELETION and key.deletion_at is not None:
        metadata["DeletionDate"] = to_datetime(key.deletion_at)
        metadata["PendingDeletionWindowInDays"] = key.pending_window_days
    return metadata


def policy_name(params: Params) -> str:
    """The ``PolicyName`` of a key policy request; ``default`` is the only key policy a key has."""
    name = str(params.get("PolicyName", policies.DEFAULT_POLICY_NAME))
    if name != policies.DEFAULT_POLICY_NAME:
        raise NotFoundException(f"No such policy exists: {name}. The only key policy name is 'default'.")
    return name


class KeyOps(KmsCore):
    """Key lifecycle and key policy handlers."""

    async def lockout_check(self, ctx: RequestContext, policy: Policy, arn: str, bypass: bool,
                            key_id: str | None = None) -> None:
        """AWS's policy lockout safety check: the new policy must let the caller PutKeyPolicy.

        ``key_id`` names an existing key (PutKeyPolicy), whose tags the check then sees.

        :raises MalformedPolicyDocumentException: it would not, and the request did not set
            ``BypassPolicyLockoutSafetyCheck``.
        """
        if bypass:
            return

        async def tags() -> Mapping[str, str]:
            return await self.keys.tags(key_id) if key_id is not None else {}

        decision = await self.authz.decide(ctx, "kms:PutKeyPolicy", arn, resource_policy=policy, key_policy=True,
                                           context={"kms:CallerAccount": ctx.caller.account_id}, resource_tags=tags)
        if not decision.allowed:
            raise MalformedPolicyDocumentException(_LOCKOUT)

    @operation("CreateKey")
    async def create_key(self, ctx: RequestContext, params: Params) -> Result:
        """CreateKey: an Enabled key of the requested key spec and usage, with fresh key material."""
        key_spec, key_usage = keyspecs.check_key_spec(params)
        description = params.get("Description", "")
        check_length(description, "Description", 0, 8192)
        tags = check_tags(params.get("Tags", []))
        check_tag_count(set(), tags)
        await self.authorize_iam(ctx, "kms:CreateKey")
        account, key_id = ctx.caller.account_id, new_key_id()
        text = params.get("Policy") or policies.default_key_policy(account)
        policy = policies.check_key_policy(text)
        await self.lockout_check(ctx, policy, key_arn(ctx.region, account, key_id),
                                 bool(params.get("BypassPolicyLockoutSafetyCheck")))
        spec = NewKey(account_id=account, region=ctx.region, policy=text, description=description,
                      tags=dict(tags), key_id=key_id, key_spec=key_spec, key_usage=key_usage,
                      origin=str(params.get("Origin", "AWS_KMS")))
        return {"KeyMetadata": key_metadata(await self.keys.create(spec))}

    @operation("DescribeKey")
    async def describe_key(self, ctx: RequestContext, params: Params) -> Result:
        """DescribeKey: any key state; accepts aliases and, by ARN, other accounts' keys."""
        key = await self.use_key(ctx, params["KeyId"], "DescribeKey", aliases=True, cross_account=True)
        return {"KeyMetadata": key_metadata(key)}

    @operation("ListKeys")
    async def list_keys(self, ctx: RequestContext, params: Params) -> Result:
        """ListKeys: the caller's account's keys (AWS-managed ones included), 100 per page by default."""
        limit = page_limit(params, default=100, maximum=1000)
        after = decode_marker(params.get("Marker"))
        await self.authorize_iam(ctx, "kms:ListKeys")
        account = ctx.caller.account_id
        rows = await self.runtime.store.fetch_all("kms_keys_list", account_id=account, after=after, limit=limit + 1)
        kept, more = page(rows, limit, "key_id")
        keys = [{"KeyId": row["key_id"], "KeyArn": key_arn(row["region"], account, row["key_id"])} for row in kept]
        return {"Keys": keys, **more}

    @operation("UpdateKeyDescription")
    async def update_key_description(self, ctx: RequestContext, params: Params) -> Result:
        """UpdateKeyDescription."""
        description = params["Description"]
        check_length(description, "Description", 0, 8192)
        key = await self.use_key(ctx, params["KeyId"], "UpdateKeyDescription")
        await self.runtime.store.execute("kms_key_set_description", key_id=key.key_id, description=description)
        return {}

    async def _transition(self, ctx: RequestContext, params: Params, operation_name: str,
                          deletion_at: int | None = None, window: int | None = None) -> KeyRecord:
        """Move a key to the state ``operation_name`` leads to (see states.TRANSITIONS).

        The update applies only from the state that was checked; if a concurrent request
        changed it in between, the key is read and checked again (e.g. a DisableKey racing
        a ScheduleKeyDeletion must not silently cancel the deletion).
        """
        key = await self.use_key(ctx, params["KeyId"], operation_name)
        for _ in range(_TRANSITION_ATTEMPTS):
            target = TRANSITIONS[operation_name]
            if operation_name == "CancelKeyDeletion" and key.origin == EXTERNAL and key.expiration_model is None:
                target = PENDING_IMPORT  # a key without key material goes back to waiting for it
            result = await self.runtime.store.execute(
                "kms_key_set_state", key_id=key.key_id, key_state=target,
                deletion_at=deletion_at, pending_window_days=window, from_state=key.key_state)
            if result.rowcount:
                if operation_name in ("DisableKey", "ScheduleKeyDeletion"):
                    await self.key_unusable(key.key_id)
                return key
            key = await self.keys.require(key.key_id)
            check_state(operation_name, key.key_state, key.arn)
        raise ConflictException(f"The state of {key.arn} is changing; retry the request.")

    @operation("EnableKey")
    async def enable_key(self, ctx: RequestContext, params: Params) -> Result:
        """EnableKey: Enabled or Disabled -> Enabled; takes effect for the next request."""
        await self._transition(ctx, params, "EnableKey")
        return {}

    @operation("DisableKey")
    async def disable_key(self, ctx: RequestContext, params: Params) -> Result:
        """DisableKey: Enabled or Disabled -> Disabled; cryptographic use fails at once."""
        await self._transition(ctx, params, "DisableKey")
        return {}

    @operation("ScheduleKeyDeletion")
    async def schedule_key_deletion(self, ctx: RequestContext, params: Params) -> Result:
        """ScheduleKeyDeletion: -> PendingDeletion for 7..30 days (default 30), then deleted."""
        window = check_range(int(params.get("PendingWindowInDays", 30)), "PendingWindowInDays", 7, 30)
        deletion_at = now_ms() + window * DAY_MS
        key = await self._transition(ctx, params, "ScheduleKeyDeletion", deletion_at, window)
        return {"KeyId": key.arn, "DeletionDate": to_datetime(deletion_at), "KeyState": PENDING_DELETION,
                "PendingWindowInDays": window}

    @operation("CancelKeyDeletion")
    async def cancel_key_deletion(self, ctx: RequestContext, params: Params) -> Result:
        """CancelKeyDeletion: PendingDeletion -> Disabled (AWS leaves the key disabled)."""
        key = await self._transition(ctx, params, "CancelKeyDeletion")
        return {"KeyId": key.arn}

    @operation("GetKeyPolicy")
    async def get_key_policy(self, ctx: RequestContext, params: Params) -> Result:
        """GetKeyPolicy: the policy text as stored."""
        name = policy_name(params)
        key = await self.use_key(ctx, params["KeyId"], "GetKeyPolicy")
        return {"Policy": key.policy, "PolicyName": name}

    @operation("PutKeyPolicy")
    async def put_key_policy(self, ctx: RequestContext, params: Params) -> Result:
        """PutKeyPolicy: validated, lockout-checked; AWS-managed keys' policies cannot change."""
        policy_name(params)
        text = params["Policy"]
        policy = policies.check_key_policy(text)
        key = await self.use_key(ctx, params["KeyId"], "PutKeyPolicy")
        if key.is_managed:  # their policy allows no PutKeyPolicy; kept for a changed managed policy
            raise AccessDeniedException(f"You cannot change the key policy of AWS managed key {key.arn}.")
        await self.lockout_check(ctx, policy, key.arn, bool(params.get("BypassPolicyLockoutSafetyCheck")),
                                 key.key_id)
        await self.runtime.store.execute("kms_key_set_policy", key_id=key.key_id, policy=text)
        return {}

    @operation("ListKeyPolicies")
    async def list_key_policies(self, ctx: RequestContext, params: Params) -> Result:
        """ListKeyPolicies: always ``["default"]``."""
        page_limit(params, default=100, maximum=1000)
        await self.use_key(ctx, params["KeyId"], "ListKeyPolicies")
        return {"PolicyNames": [policies.DEFAULT_POLICY_NAME], "Truncated": False}
