"""Alias handlers: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

"Controlling access to aliases": each needs permission on the alias (IAM policy) and on the
key or keys involved (key policy). Aliases live in the caller's account only.
"""

from __future__ import annotations

from typing import Any

from cipherpost.context import RequestContext
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import AlreadyExistsException, NotFoundException
from cipherpost.services.kms.ids import alias_arn, check_alias_name
from cipherpost.services.kms.keys import KeyRecord, now_ms, to_datetime
from cipherpost.services.kms.validate import decode_marker, page, page_limit
from cipherpost.store import Row, UniqueViolation


def alias_entry(row: Row, region: str, account: str) -> dict[str, Any]:
    """An ``AliasListEntry``."""
    return {
        "AliasName": row["alias_name"],
        "AliasArn": alias_arn(region, account, row["alias_name"]),
        "TargetKeyId": row["target_key_id"],
        "CreationDate": to_datetime(row["created_at"]),
        "LastUpdatedDate": to_datetime(row["updated_at"]),
    }


class AliasOps(KmsCore):
    """Alias handlers."""

    async def _alias(self, ctx: RequestContext, name: str) -> Row:
        """An existing alias of the caller's account.

        :raises NotFoundException: no such alias.
        """
        account = ctx.caller.account_id
        row = await self.runtime.store.fetch_one("kms_alias_get", account_id=account, alias_name=name)
        if row is None:
            raise NotFoundException(f"Alias {alias_arn(ctx.region, account, name)} is not found.")
        return row

    async def _alias_target(self, ctx: RequestContext, target: str, operation_name: str) -> KeyRecord:
        """The key an alias operation points an alias at (key id or key ARN, own account)."""
        return await self.use_key(ctx, target, operation_name)

    @operation("CreateAlias")
    async def create_alias(self, ctx: RequestContext, params: Params) -> Result:
        """CreateAlias: a new name for a key of the caller's account."""
        name = params["AliasName"]
        check_alias_name(name)
        account = ctx.caller.account_id
        await self.authorize_iam(ctx, "kms:CreateAlias", alias_arn(ctx.region, account, name))
        key = await self._alias_target(ctx, params["TargetKeyId"], "CreateAlias")
        try:
            await self.runtime.store.execute("kms_alias_insert", account_id=account, alias_name=name,
                                             target_key_id=key.key_id, created_at=now_ms())
        except UniqueViolation:
            raise AlreadyExistsException(
                f"An alias with the name {alias_arn(ctx.region, account, name)} already exists"
            ) from None
        return {}

    @operation("UpdateAlias")
    async def update_alias(self, ctx: RequestContext, params: Params) -> Result:
        """UpdateAlias: needs kms:UpdateAlias on the alias, the current key and the new key."""
        name = params["AliasName"]
        check_alias_name(name)
        account = ctx.caller.account_id
        await self.authorize_iam(ctx, "kms:UpdateAlias", alias_arn(ctx.region, account, name))
        row = await self._alias(ctx, name)
        current = await self.keys.get(str(row["target_key_id"]))
        if current is not None:
            await self.authorize(ctx, "kms:UpdateAlias", current)
        key = await self._alias_target(ctx, params["TargetKeyId"], "UpdateAlias")
        await self.runtime.store.execute("kms_alias_update", account_id=account, alias_name=name,
                                         target_key_id=key.key_id, updated_at=now_ms())
        return {}

    @operation("DeleteAlias")
    async def delete_alias(self, ctx: RequestContext, params: Params) -> Result:
        """DeleteAlias: the key is not affected."""
        name = params["AliasName"]
        check_alias_name(name)
        account = ctx.caller.account_id
        await self.authorize_iam(ctx, "kms:DeleteAlias", alias_arn(ctx.region, account, name))
        row = await self._alias(ctx, name)
        key = await self.keys.get(str(row["target_key_id"]))
        if key is not None:
            await self.check_key(ctx, key, "DeleteAlias")
        await self.runtime.store.execute("kms_alias_delete", account_id=account, alias_name=name)
        return {}

    @operation("ListAliases")
    async def list_aliases(self, ctx: RequestContext, params: Params) -> Result:
        """ListAliases: the account's aliases, or (KeyId) those of one key; 50 per page by default."""
        limit = page_limit(params, default=50, maximum=100)
        after = decode_marker(params.get("Marker"))
        await self.authorize_iam(ctx, "kms:ListAliases")
        account = ctx.caller.account_id
        store = self.runtime.store
        if "KeyId" in params:
            key = await self.resolve(ctx, params["KeyId"])
            rows = await store.fetch_all("kms_aliases_for_key", account_id=account, key_id=key.key_id,
                                         after=after, limit=limit + 1)
        else:
            rows = await store.fetch_all("kms_aliases_list", account_id=account, after=after, limit=limit + 1)
        kept, more = page(rows, limit, "alias_name")
        return {"Aliases": [alias_entry(row, ctx.region, account) for row in kept], **more}
