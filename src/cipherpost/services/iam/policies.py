"""IAM inline policies (users, groups, roles) and managed policies with versions and attachments.

The per-kind operations (``PutUserPolicy``, ``PutGroupPolicy``, ``PutRolePolicy``, ...) are one
handler each, bound to the kind through the ``_PER_KIND`` table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from cipherpost.context import RequestContext
from cipherpost.policy import (
    IAM_GROUP_INLINE_MAX_CHARS,
    IAM_MANAGED_POLICY_MAX_CHARS,
    IAM_ROLE_INLINE_MAX_CHARS,
    IAM_USER_INLINE_MAX_CHARS,
)
from cipherpost.services.base import Handler, Params, Result, operation
from cipherpost.services.iam.common import IamBase, checked_policy, encoded_document, now, page, timestamp
from cipherpost.services.iam.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    InvalidInputException,
    LimitExceededException,
    NoSuchEntityException,
)
from cipherpost.services.iam.managed import AWS_MANAGED
from cipherpost.services.iam.names import check_name, check_path, parse_policy_arn, policy_arn, unique_id
from cipherpost.store import Row, Step, UniqueViolation

_INLINE_LIMITS = {"user": IAM_USER_INLINE_MAX_CHARS, "group": IAM_GROUP_INLINE_MAX_CHARS,
                  "role": IAM_ROLE_INLINE_MAX_CHARS}
MAX_VERSIONS = 5

PerKind = Callable[["PolicyHandlers", str, RequestContext, Params], Awaitable[Result]]


class PolicyHandlers(IamBase):
    """Inline and managed policy operations."""

    def handlers(self) -> dict[str, Handler]:
        table = super().handlers()
        for template, method in _PER_KIND.items():
            for kind in ("user", "group", "role"):
                table[template.format(kind.capitalize())] = partial(method, self, kind)
        for template, method in _BOUNDARY_KINDS.items():
            for kind in ("user", "role"):
                table[template.format(kind.capitalize())] = partial(method, self, kind)
        return table

    # --- inline ----------------------------------------------------------------------------

    async def _inline_key(self, ctx: RequestContext, kind: str, params: Params, action: str) -> dict[str, object]:
        row = await self.entity(ctx, kind, params[f"{kind.capitalize()}Name"])
        await self.allow(ctx, action.format(kind.capitalize()), str(row["arn"]))
        return {"account_id": ctx.caller.account_id, "kind": kind, "name_key": row["name_key"]}

    async def put_inline(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        key = await self._inline_key(ctx, kind, params, "Put{}Policy")
        name = check_name("policy", params["PolicyName"], "policyName")
        document = checked_policy(params["PolicyDocument"], kind="identity", limit=_INLINE_LIMITS[kind])
        await self.runtime.store.execute("iam_inline_put", **key, policy_name=name, document=document)
        await self.policies_changed()
        return {}

    async def get_inline(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        key = await self._inline_key(ctx, kind, params, "Get{}Policy")
        row = await self.runtime.store.fetch_one("iam_inline_get", **key, policy_name=params["PolicyName"])
        if row is None:
            raise NoSuchEntityException(
                f"The {kind} policy with name {params['PolicyName']} cannot be found."
            )
        return {f"{kind.capitalize()}Name": params[f"{kind.capitalize()}Name"], "PolicyName": row["policy_name"],
                "PolicyDocument": encoded_document(str(row["document"]))}

    async def list_inline(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        key = await self._inline_key(ctx, kind, params, "List{}Policies")
        rows = await self.runtime.store.fetch_all("iam_inline_list", **key)
        chunk, extra = page(rows, params, lambda row: str(row["policy_name"]))
        return {"PolicyNames": [row["policy_name"] for row in chunk], **extra}

    async def delete_inline(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        key = await self._inline_key(ctx, kind, params, "Delete{}Policy")
        result = await self.runtime.store.execute("iam_inline_delete", **key, policy_name=params["PolicyName"])
        if result.rowcount == 0:
            raise NoSuchEntityException(f"The {kind} policy with name {params['PolicyName']} cannot be found.")
        await self.policies_changed()
        return {}

    # --- attachments -----------------------------------------------------------------------

    async def attach(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        key = await self._inline_key(ctx, kind, params, "Attach{}Policy")
        await self._managed_row(ctx, params["PolicyArn"])
        await self.runtime.store.execute("iam_attach", **key, policy_arn=params["PolicyArn"])
        await self.policies_changed()
        return {}

    async def detach(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        key = await self._inline_key(ctx, kind, params, "Detach{}Policy")
        result = await self.runtime.store.execute("iam_detach", **key, policy_arn=params["PolicyArn"])
        if result.rowcount == 0:
            raise NoSuchEntityException(f"Policy {params['PolicyArn']} was not found.")
        await self.policies_changed()
        return {}

    async def list_attached(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        key = await self._inline_key(ctx, kind, params, "ListAttached{}Policies")
        rows = await self.runtime.store.fetch_all("iam_attached_list", **key)
        chunk, extra = page(rows, params, lambda row: str(row["policy_arn"]))
        return {"AttachedPolicies": [{"PolicyName": str(row["policy_arn"]).rsplit("/", 1)[-1],
                                      "PolicyArn": row["policy_arn"]} for row in chunk], **extra}

    # --- permissions boundaries -----------------------------------------------------------

    async def _boundary(self, kind: str, ctx: RequestContext, params: Params, action: str,
                        policy_arn: str | None) -> Result:
        key = await self._inline_key(ctx, kind, params, action)
        if policy_arn is not None:
            await self._managed_row(ctx, policy_arn)
        await self.runtime.store.execute("iam_entity_set_boundary", **key, permissions_boundary=policy_arn)
        await self.policies_changed()
        return {}

    async def put_boundary(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        return await self._boundary(kind, ctx, params, "Put{}PermissionsBoundary", params["PermissionsBoundary"])

    async def delete_boundary(self, kind: str, ctx: RequestContext, params: Params) -> Result:
        return await self._boundary(kind, ctx, params, "Delete{}PermissionsBoundary", None)

    # --- managed policies ------------------------------------------------------------------

    async def _managed_row(self, ctx: RequestContext, arn: str) -> Row:
        """A managed policy (customer or AWS managed) as a row; raises NoSuchEntity."""
        builtin = AWS_MANAGED.get(arn)
        if builtin is not None:
            return {"arn": arn, "policy_name": builtin.name, "path": builtin.path, "policy_id": builtin.policy_id,
                    "default_version": "v1", "description": None, "created_at": 0, "updated_at": 0,
                    "account_id": "aws"}
        parsed = parse_policy_arn(arn)
        if parsed is None:
            raise InvalidInputException(f"ARN {arn} is not valid.")
        row = await self.runtime.store.fetch_one("iam_managed_get", arn=arn)
        if row is None or parsed[0] != ctx.caller.account_id:
            raise NoSuchEntityException(f"Policy {arn} does not exist or is not attachable.")
        return row

    async def _policy_out(self, row: Row) -> Result:
        count = await self.runtime.store.fetch_one("iam_attachment_count", policy_arn=row["arn"])
        out: Result = {"PolicyName": row["policy_name"], "PolicyId": row["policy_id"], "Arn": row["arn"],
                       "Path": row["path"], "DefaultVersionId": row["default_version"],
                       "AttachmentCount": int(count["n"]) if count else 0, "IsAttachable": True,
                       "CreateDate": timestamp(row["created_at"]), "UpdateDate": timestamp(row["updated_at"])}
        if row.get("description"):
            out["Description"] = row["description"]
        return out

    @operation("CreatePolicy")
    async def create_policy(self, ctx: RequestContext, params: Params) -> Result:
        name = check_name("policy", params["PolicyName"], "policyName")
        path = check_path(params.get("Path"))
        account = ctx.caller.account_id
        arn = policy_arn(account, path, name)
        await self.allow(ctx, "CreatePolicy", arn)
        document = checked_policy(params["PolicyDocument"], kind="identity", limit=IAM_MANAGED_POLICY_MAX_CHARS)
        created = now()
        try:
            await self.runtime.store.write([
                Step("iam_managed_insert", {"arn": arn, "account_id": account, "name_key": name.lower(),
                                            "policy_name": name, "path": path, "policy_id": unique_id("ANPA"),
                                            "description": params.get("Description"), "created_at": created}),
                Step("iam_version_insert", {"policy_arn": arn, "version_id": "v1", "document": document,
                                            "created_at": created}),
            ])
        except UniqueViolation:
            raise EntityAlreadyExistsException(f"A policy called {name} already exists. Duplicate names are "
                                               "not allowed.") from None
        row = await self._managed_row(ctx, arn)
        return {"Policy": await self._policy_out(row)}

    @operation("GetPolicy")
    async def get_policy(self, ctx: RequestContext, params: Params) -> Result:
        row = await self._managed_row(ctx, params["PolicyArn"])
        await self.allow(ctx, "GetPolicy", str(row["arn"]))
        return {"Policy": await self._policy_out(row)}

    @operation("ListPolicies")
    async def list_policies(self, ctx: RequestContext, params: Params) -> Result:
        await self.allow(ctx, "ListPolicies", "*")
        scope = params.get("Scope") or "All"
        rows: list[Row] = []
        if scope in ("All", "AWS"):
            rows += [await self._managed_row(ctx, arn) for arn in sorted(AWS_MANAGED)]
        if scope in ("All", "Local"):
            rows += await self.runtime.store.fetch_all("iam_managed_list", account_id=ctx.caller.account_id,
                                                       path_prefix=params.get("PathPrefix") or "/")
        policies = [await self._policy_out(row) for row in rows]
        if params.get("OnlyAttached"):
            policies = [item for item in policies if item["AttachmentCount"] > 0]
        chunk, extra = page(policies, params, lambda item: str(item["Arn"]))
        return {"Policies": chunk, **extra}

    @operation("DeletePolicy")
    async def delete_policy(self, ctx: RequestContext, params: Params) -> Result:
        row = await self._customer_policy(ctx, params["PolicyArn"], "DeletePolicy")
        if (await self._policy_out(row))["AttachmentCount"]:
            raise DeleteConflictException("Cannot delete a policy attached to entities.")
        await self.runtime.store.write([Step("iam_versions_delete_all", {"policy_arn": row["arn"]}),
                                        Step("iam_managed_delete", {"arn": row["arn"]})])
        await self.policies_changed()
        return {}

    async def _customer_policy(self, ctx: RequestContext, arn: str, action: str) -> Row:
        row = await self._managed_row(ctx, arn)
        await self.allow(ctx, action, arn)
        if row["account_id"] == "aws":
            raise InvalidInputException(f"Cannot change AWS managed policy {arn}.")
        return row

    @operation("CreatePolicyVersion")
    async def create_policy_version(self, ctx: RequestContext, params: Params) -> Result:
        row = await self._customer_policy(ctx, params["PolicyArn"], "CreatePolicyVersion")
        document = checked_policy(params["PolicyDocument"], kind="identity", limit=IAM_MANAGED_POLICY_MAX_CHARS)
        versions = await self.runtime.store.fetch_all("iam_version_list", policy_arn=row["arn"])
        if len(versions) >= MAX_VERSIONS:
            raise LimitExceededException(f"A managed policy can have up to {MAX_VERSIONS} versions. Before you "
                                         "create a new version, you must delete an existing version.")
        stamp = now()
        (bumped,) = (await self.runtime.store.execute("iam_managed_bump_version", arn=row["arn"],
                                                      updated_at=stamp)).rows
        version_id = f"v{bumped['version_number']}"
        steps = [Step("iam_version_insert", {"policy_arn": row["arn"], "version_id": version_id,
                                             "document": document, "created_at": stamp})]
        if params.get("SetAsDefault"):
            steps.append(Step("iam_managed_set_default", {"arn": row["arn"], "version_id": version_id,
                                                          "updated_at": stamp}))
        await self.runtime.store.write(steps)
        await self.policies_changed()
        return {"PolicyVersion": {"VersionId": version_id, "IsDefaultVersion": bool(params.get("SetAsDefault")),
                                  "CreateDate": timestamp(stamp)}}

    async def _versions(self, ctx: RequestContext, arn: str, action: str) -> tuple[Row, list[Row]]:
        row = await self._managed_row(ctx, arn)
        await self.allow(ctx, action, arn)
        builtin = AWS_MANAGED.get(arn)
        if builtin is not None:
            return row, [{"version_id": "v1", "document": builtin.document, "created_at": 0}]
        return row, await self.runtime.store.fetch_all("iam_version_list", policy_arn=arn)

    @operation("GetPolicyVersion")
    async def get_policy_version(self, ctx: RequestContext, params: Params) -> Result:
        row, versions = await self._versions(ctx, params["PolicyArn"], "GetPolicyVersion")
        for version in versions:
            if version["version_id"] == params["VersionId"]:
                return {"PolicyVersion": _version_out(version, row)}
        raise NoSuchEntityException(f"Policy {params['PolicyArn']} version {params['VersionId']} does not exist.")

    @operation("ListPolicyVersions")
    async def list_policy_versions(self, ctx: RequestContext, params: Params) -> Result:
        row, versions = await self._versions(ctx, params["PolicyArn"], "ListPolicyVersions")
        chunk, extra = page(versions, params, lambda item: str(item["version_id"]))
        return {"Versions": [_version_out(version, row, document=False) for version in chunk], **extra}

    @operation("DeletePolicyVersion")
    async def delete_policy_version(self, ctx: RequestContext, params: Params) -> Result:
        row = await self._customer_policy(ctx, params["PolicyArn"], "DeletePolicyVersion")
        if params["VersionId"] == row["default_version"]:
            raise DeleteConflictException("Cannot delete the default version of a policy.")
        result = await self.runtime.store.execute("iam_version_delete", policy_arn=row["arn"],
                                                  version_id=params["VersionId"])
        if result.rowcount == 0:
            raise NoSuchEntityException(f"Policy {row['arn']} version {params['VersionId']} does not exist.")
        return {}

    @operation("SetDefaultPolicyVersion")
    async def set_default_policy_version(self, ctx: RequestContext, params: Params) -> Result:
        row = await self._customer_policy(ctx, params["PolicyArn"], "SetDefaultPolicyVersion")
        version = await self.runtime.store.fetch_one("iam_version_get", policy_arn=row["arn"],
                                                     version_id=params["VersionId"])
        if version is None:
            raise NoSuchEntityException(f"Policy {row['arn']} version {params['VersionId']} does not exist.")
        await self.runtime.store.execute("iam_managed_set_default", arn=row["arn"], version_id=params["VersionId"],
                                         updated_at=now())
        await self.policies_changed()
        return {}


def _version_out(version: Row, policy: Row, *, document: bool = True) -> Result:
    out: Result = {"VersionId": version["version_id"],
                   "IsDefaultVersion": version["version_id"] == policy["default_version"],
                   "CreateDate": timestamp(version["created_at"])}
    if document:
        out["Document"] = encoded_document(str(version["document"]))
    return out


_PER_KIND: dict[str, PerKind] = {
    "Put{}Policy": PolicyHandlers.put_inline,
    "Get{}Policy": PolicyHandlers.get_inline,
    "List{}Policies": PolicyHandlers.list_inline,
    "Delete{}Policy": PolicyHandlers.delete_inline,
    "Attach{}Policy": PolicyHandlers.attach,
    "Detach{}Policy": PolicyHandlers.detach,
    "ListAttached{}Policies": PolicyHandlers.list_attached,
}
_BOUNDARY_KINDS: dict[str, PerKind] = {
    "Put{}PermissionsBoundary": PolicyHandlers.put_boundary,
    "Delete{}PermissionsBoundary": PolicyHandlers.delete_boundary,
}
