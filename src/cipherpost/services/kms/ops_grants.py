"""Grant handlers: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.policy import ContextValue
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import (
    AccessDeniedException,
    DryRunOperationException,
    LimitExceededException,
    NotFoundException,
    ValidationException,
)
from cipherpost.services.kms.grants import (
    GrantRecord,
    check_grant_id,
    check_grant_tokens,
    check_operations,
    check_operations_for_key,
    constraints_of,
    grant_entry,
    grant_id_of_token,
    new_grant_id,
    new_grant_token,
    normalize_principal,
)
from cipherpost.services.kms.ids import key_arn
from cipherpost.services.kms.keys import now_ms
from cipherpost.services.kms.validate import decode_marker, encode_marker, page_limit

_NAME: Final = re.compile(r"[a-zA-Z0-9:/_-]{1,256}")
#: "AWS KMS quotas": grants per KMS key.
MAX_GRANTS_PER_KEY: Final = 50_000


def _one_principal(params: Params, member: str, service_member: str, *, required: bool) -> str | None:
    """The principal from ``member`` or its ``*ServicePrincipal`` twin (at most one of them)."""
    value, service = params.get(member), params.get(service_member)
    if value is not None and service is not None:
        raise ValidationException(f"Specify either {member} or {service_member}, not both.")
    chosen = value if value is not None else service
    if chosen is None:
        if required:
            raise ValidationException(f"1 validation error detected: Value null at '{member[0].lower() + member[1:]}' "
                                      "failed to satisfy constraint: Member must not be null")
        return None
    return normalize_principal(chosen, member[0].lower() + member[1:])


def _grant_context(grantee: str, retiring: str | None, operations: list[str],
                   constraints: dict[str, Any] | None, ctx: RequestContext) -> dict[str, ContextValue]:
    """The grant condition keys CreateGrant is authorized with ("AWS KMS condition keys")."""
    keys: dict[str, ContextValue] = {
        "kms:GranteePrincipal": grantee,
        "kms:GrantOperations": operations,
        "kms:GrantIsForAWSResource": "true" if ctx.invoked_by else "false",
    }
    if retiring is not None:
        keys["kms:RetiringPrincipal"] = retiring
    if constraints:
        keys["kms:GrantConstraintType"] = sorted(constraints)
    return keys


class GrantOps(KmsCore):
    """Grant handlers."""

    @operation("CreateGrant")
    async def create_grant(self, ctx: RequestContext, params: Params) -> Result:
        """CreateGrant: returns GrantId and GrantToken; a repeated named request returns the same GrantId."""
        grantee = _one_principal(params, "GranteePrincipal", "GranteeServicePrincipal", required=True)
        assert grantee is not None
        retiring = _one_principal(params, "RetiringPrincipal", "RetiringServicePrincipal", required=False)
        operations = list(dict.fromkeys(params["Operations"]))
        constraints = constraints_of(params.get("Constraints"))
        check_operations(operations, constraints)
        name = params.get("Name")
        if name is not None and not _NAME.fullmatch(name):
            raise ValidationException(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
                                      "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$")
        check_grant_tokens(params.get("GrantTokens"))
        key = await self.use_key(ctx, params["KeyId"], "CreateGrant", cross_account=True,
                                 context=_grant_context(grantee, retiring, operations, constraints, ctx),
                                 dry_run=bool(params.get("DryRun")),
                                 check=lambda key: check_operations_for_key(operations, key.key_spec, key.key_usage))
        existing = await self.grants_of(key.key_id)
        if name is not None:
            for grant in existing:
                if grant.name == name and grant.same_request(grantee, retiring, operations, constraints):
                    return {"GrantId": grant.grant_id, "GrantToken": new_grant_token(grant.grant_id)}
        if len(existing) >= MAX_GRANTS_PER_KEY:
            raise LimitExceededException(f"A KMS key can have at most {MAX_GRANTS_PER_KEY} grants.")
        grant_id = new_grant_id()
        await self.runtime.store.execute(
            "kms_grant_insert", grant_id=grant_id, key_id=key.key_id, issuing_account=ctx.caller.account_id,
            name=name, grantee=grantee, retiring=retiring, operations=json.dumps(operations),
            grant_constraints=json.dumps(constraints) if constraints else None, created_at=now_ms())
        return {"GrantId": grant_id, "GrantToken": new_grant_token(grant_id)}

    @operation("ListGrants")
    async def list_grants(self, ctx: RequestContext, params: Params) -> Result:
        """ListGrants: the grants on one key, optionally one GrantId or one grantee."""
        limit = page_limit(params, default=50, maximum=100)
        after = decode_marker(params.get("Marker"))
        if "GrantId" in params:
            check_grant_id(params["GrantId"])
        key = await self.use_key(ctx, params["KeyId"], "ListGrants", cross_account=True)
        grantee = params.get("GranteePrincipal") or params.get("GranteeServicePrincipal")
        grants = [
            grant for grant in await self.grants_of(key.key_id)
            if grant.grant_id > after
            and params.get("GrantId", grant.grant_id) == grant.grant_id
            and (grantee is None or grant.grantee == grantee)
        ]
        return _grant_page(grants, limit, lambda grant: key.arn)

    @operation("ListRetirableGrants")
    async def list_retirable_grants(self, ctx: RequestContext, params: Params) -> Result:
        """ListRetirableGrants: grants (on any key) a principal of the caller's account may retire."""
        limit = page_limit(params, default=50, maximum=100)
        after = decode_marker(params.get("Marker"))
        retiring = _one_principal(params, "RetiringPrincipal", "RetiringServicePrincipal", required=True)
        assert retiring is not None
        await self.authorize_iam(ctx, "kms:ListRetirableGrants")
        account = retiring.split(":")[4] if retiring.startswith("arn:") else None
        if account is not None and account != ctx.caller.account_id:
            # AWS answers for a principal of another account too (LocalStack's
            # test_list_retirable_grants, recorded against AWS, names a key ARN of another
            # account); it then shows only the grants the caller's account created.
            rows = await self.runtime.store.fetch_all("kms_grants_retirable_issued", retiring=retiring,
                                                      issuing_account=ctx.caller.account_id, after=after,
                                                      limit=limit + 1)
        else:
            rows = await self.runtime.store.fetch_all("kms_grants_retirable", retiring=retiring, after=after,
                                                      limit=limit + 1)
        grants = [GrantRecord.from_row(row) for row in rows]
        arns = {}
        for grant in grants:
            key = await self.keys.get(grant.key_id)
            arns[grant.key_id] = key.arn if key else key_arn(ctx.region, grant.issuing_account, grant.key_id)
        return _grant_page(grants, limit, lambda grant: arns[grant.key_id])

    @operation("RetireGrant")
    async def retire_grant(self, ctx: RequestContext, params: Params) -> Result:
        """RetireGrant: by GrantToken, or by KeyId and GrantId; by the retiring principal, the
        grantee (with RetireGrant in the grant), or the account that created the grant."""
        if "GrantToken" in params:
            grant_id = grant_id_of_token(params["GrantToken"])
        elif "KeyId" in params and "GrantId" in params:
            grant_id = params["GrantId"]
            check_grant_id(grant_id)
        else:
            raise ValidationException("Specify either GrantToken, or both KeyId and GrantId.")
        grant = await self._grant(grant_id)
        if "KeyId" in params:
            key = await self.resolve(ctx, params["KeyId"], cross_account=True)
            if key.key_id != grant.key_id:
                raise NotFoundException(f"Grant ID {grant_id} not found on key {key.arn}.")
        if not grant.may_retire(ctx.caller):
            raise AccessDeniedException(f"User: {ctx.caller.arn} is not authorized to perform: kms:RetireGrant on "
                                        f"grant {grant_id}: it is neither its retiring principal, its grantee with "
                                        "RetireGrant permission, nor the account that created it")
        if params.get("DryRun"):
            raise DryRunOperationException
        await self.runtime.store.execute("kms_grant_delete", grant_id=grant_id)
        return {}

    @operation("RevokeGrant")
    async def revoke_grant(self, ctx: RequestContext, params: Params) -> Result:
        """RevokeGrant: controlled by the key policy (kms:RevokeGrant)."""
        grant_id = params["GrantId"]
        check_grant_id(grant_id)
        key = await self.use_key(ctx, params["KeyId"], "RevokeGrant", cross_account=True,
                                 dry_run=bool(params.get("DryRun")))
        grant = await self._grant(grant_id)
        if grant.key_id != key.key_id:
            raise NotFoundException(f"Grant ID {grant_id} not found on key {key.arn}.")
        await self.runtime.store.execute("kms_grant_delete", grant_id=grant_id)
        return {}

    async def _grant(self, grant_id: str) -> GrantRecord:
        row = await self.runtime.store.fetch_one("kms_grant_get", grant_id=grant_id)
        if row is None:
            raise NotFoundException(f"Grant ID {grant_id} not found.")
        return GrantRecord.from_row(row)


def _grant_page(grants: list[GrantRecord], limit: int, arn_of: Callable[[GrantRecord], str]) -> Result:
    """A ListGrants-shaped page of ``grants`` (already after the marker, in grant id order)."""
    kept = grants[:limit]
    result: Result = {"Grants": [grant_entry(grant, arn_of(grant)) for grant in kept], "Truncated": len(grants) > limit}
    if len(grants) > limit:
        result["NextMarker"] = encode_marker(kept[-1].grant_id)
    return result
