"""IAM users, groups, roles, group membership, access keys and tags."""

from __future__ import annotations

from cipherpost.auth.credentials import ACTIVE, INACTIVE
from cipherpost.context import Caller, RequestContext
from cipherpost.policy import IAM_TRUST_POLICY_MAX_CHARS
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.iam.common import IamBase, checked_policy, entity_out, now, page, timestamp
from cipherpost.services.iam.errors import (
    DeleteConflictException,
    EntityAlreadyExistsException,
    InvalidInputException,
    LimitExceededException,
    NoSuchEntityException,
    ValidationError,
)
from cipherpost.services.iam.names import KINDS, check_name, check_path, entity_arn, unique_id
from cipherpost.store import Row, Step, UniqueViolation

MAX_ACCESS_KEYS = 2
MAX_TAGS = 50


class EntityHandlers(IamBase):
    """Handlers for the entity operations (see module docstring)."""

    async def _create(self, ctx: RequestContext, kind: str, params: Params, **extra: object) -> Row:
        name = check_name(kind, params.get(f"{kind.capitalize()}Name"), f"{kind}Name")
        path = check_path(params.get("Path"))
        account = ctx.caller.account_id
        arn = entity_arn(account, kind, path, name)
        await self.allow(ctx, f"Create{kind.capitalize()}", arn)
        row: Row = {
            "account_id": account, "kind": kind, "name_key": name.lower(), "name": name, "path": path,
            "entity_id": unique_id(KINDS[kind][1]), "arn": arn, "created_at": now(), "trust_policy": None,
            "description": None, "max_session_duration": None,
            "permissions_boundary": params.get("PermissionsBoundary"), **extra,
        }
        steps = [Step("iam_entity_insert", row)]
        steps += [Step("iam_tags_put", {"account_id": account, "kind": kind, "name_key": name.lower(),
                                        "tag_key": tag["Key"], "tag_value": tag["Value"]})
                  for tag in _tags(params.get("Tags"))]
        try:
            await self.runtime.store.write(steps)
        except UniqueViolation:
            raise EntityAlreadyExistsException(f"{kind.capitalize()} with name {name} already exists.") from None
        await self.policies_changed()
        return row

    async def _list(self, ctx: RequestContext, kind: str, params: Params) -> tuple[list[Result], Result]:
        await self.allow(ctx, f"List{kind.capitalize()}s", "*")
        rows = await self.runtime.store.fetch_all(
            "iam_entity_list", account_id=ctx.caller.account_id, kind=kind,
            path_prefix=params.get("PathPrefix") or "/",
        )
        chunk, extra = page(rows, params, lambda row: str(row["name_key"]))
        return [entity_out(row) for row in chunk], extra

    async def _delete(self, ctx: RequestContext, kind: str, name: object) -> None:
        row = await self.entity(ctx, kind, name)
        await self.allow(ctx, f"Delete{kind.capitalize()}", str(row["arn"]))
        await self._check_deletable(ctx, row)
        key = {"account_id": ctx.caller.account_id, "kind": kind, "name_key": row["name_key"]}
        await self.runtime.store.write([Step("iam_entity_delete", key), Step("iam_entity_purge_tags", key)])
        await self.policies_changed()

    async def _check_deletable(self, ctx: RequestContext, row: Row) -> None:
        """AWS refuses to delete an entity that still has policies, keys or members."""
        store, account, kind = self.runtime.store, ctx.caller.account_id, str(row["kind"])
        key = {"account_id": account, "kind": kind, "name_key": row["name_key"]}
        what = "Cannot delete entity, must {} first."
        if await store.fetch_all("iam_inline_list", **key):
            raise DeleteConflictException(what.format("delete policies"))
        if await store.fetch_all("iam_attached_list", **key):
            raise DeleteConflictException(what.format("detach all policies"))
        if kind == "user":
            if await store.fetch_all("access_keys_for_principal", account_id=account, principal_arn=row["arn"]):
                raise DeleteConflictException(what.format("delete access keys"))
            if await store.fetch_all("iam_member_rows_for_user", account_id=account, user_key=row["name_key"]):
                raise DeleteConflictException(what.format("remove users from group"))
        if kind == "group":
            count = await store.fetch_one("iam_members_of_group_count", account_id=account, group_key=row["name_key"])
            if count and int(count["n"]):
                raise DeleteConflictException(what.format("remove users from group"))

    # --- users ---------------------------------------------------------------------------

    @operation("CreateUser")
    async def create_user(self, ctx: RequestContext, params: Params) -> Result:
        return {"User": {**entity_out(await self._create(ctx, "user", params)), **_given_tags(params)}}

    @operation("GetUser")
    async def get_user(self, ctx: RequestContext, params: Params) -> Result:
        name = params.get("UserName")
        if name is None:
            if ctx.caller.kind != "IAMUser":
                if ctx.caller.is_root:
                    return {"User": {"UserId": ctx.caller.account_id, "Arn": ctx.caller.arn, "Path": "/",
                                     "UserName": "root", "CreateDate": timestamp(0)}}
                raise ValidationError("Must specify userName when calling with non-User credentials")
            name = ctx.caller.user_name
        row = await self.entity(ctx, "user", name)
        await self.allow(ctx, "GetUser", str(row["arn"]))
        return {"User": {**entity_out(row), **await self._tags_of(row)}}

    @operation("ListUsers")
    async def list_users(self, ctx: RequestContext, params: Params) -> Result:
        users, extra = await self._list(ctx, "user", params)
        return {"Users": users, **extra}

    @operation("DeleteUser")
    async def delete_user(self, ctx: RequestContext, params: Params) -> Result:
        await self._delete(ctx, "user", params["UserName"])
        return {}

    @operation("UpdateUser")
    async def update_user(self, ctx: RequestContext, params: Params) -> Result:
        row = await self.entity(ctx, "user", params["UserName"])
        await self.allow(ctx, "UpdateUser", str(row["arn"]))
        new_name = check_name("user", params.get("NewUserName") or str(row["name"]), "newUserName")
        path = check_path(params.get("NewPath") or str(row["path"]), "newPath")
        account = ctx.caller.account_id
        new_arn = entity_arn(account, "user", path, new_name)
        try:
            await self.runtime.store.write([
                Step("iam_entity_rename", {"account_id": account, "kind": "user", "name_key": row["name_key"],
                                           "name": new_name, "new_key": new_name.lower(), "path": path,
                                           "arn": new_arn}),
                Step("access_keys_rename_principal", {"account_id": account, "principal_arn": row["arn"],
                                                      "new_arn": new_arn, "new_name": new_name}),
            ])
        except UniqueViolation:
            raise EntityAlreadyExistsException(f"User with name {new_name} already exists.") from None
        for key in await self.runtime.store.fetch_all("access_keys_for_principal", account_id=account,
                                                      principal_arn=new_arn):
            await self.key_changed(str(key["access_key_id"]))
        await self.policies_changed()
        return {}

    # --- groups ----------------------------------------------------------------------------

    @operation("CreateGroup")
    async def create_group(self, ctx: RequestContext, params: Params) -> Result:
        return {"Group": entity_out(await self._create(ctx, "group", params))}

    @operation("GetGroup")
    async def get_group(self, ctx: RequestContext, params: Params) -> Result:
        row = await self.entity(ctx, "group", params["GroupName"])
        await self.allow(ctx, "GetGroup", str(row["arn"]))
        users = await self.runtime.store.fetch_all("iam_group_members", account_id=ctx.caller.account_id,
                                                   group_key=row["name_key"])
        chunk, extra = page(users, params, lambda item: str(item["name_key"]))
        return {"Group": entity_out(row), "Users": [entity_out(user) for user in chunk], **extra}

    @operation("ListGroups")
    async def list_groups(self, ctx: RequestContext, params: Params) -> Result:
        groups, extra = await self._list(ctx, "group", params)
        return {"Groups": groups, **extra}

    @operation("DeleteGroup")
    async def delete_group(self, ctx: RequestContext, params: Params) -> Result:
        await self._delete(ctx, "group", params["GroupName"])
        return {}

    async def _membership(self, ctx: RequestContext, params: Params, action: str, query: str) -> Result:
        group = await self.entity(ctx, "group", params["GroupName"])
        user = await self.entity(ctx, "user", params["UserName"])
        await self.allow(ctx, action, str(group["arn"]))
        await self.runtime.store.execute(query, account_id=ctx.caller.account_id, group_key=group["name_key"],
                                         user_key=user["name_key"])
        await self.policies_changed()
        return {}

    @operation("AddUserToGroup")
    async def add_user_to_group(self, ctx: RequestContext, params: Params) -> Result:
        return await self._membership(ctx, params, "AddUserToGroup", "iam_group_member_add")

    @operation("RemoveUserFromGroup")
    async def remove_user_from_group(self, ctx: RequestContext, params: Params) -> Result:
        return await self._membership(ctx, params, "RemoveUserFromGroup", "iam_group_member_remove")

    @operation("ListGroupsForUser")
    async def list_groups_for_user(self, ctx: RequestContext, params: Params) -> Result:
        user = await self.entity(ctx, "user", params["UserName"])
        await self.allow(ctx, "ListGroupsForUser", str(user["arn"]))
        groups = await self.runtime.store.fetch_all("iam_groups_for_user", account_id=ctx.caller.account_id,
                                                    user_key=user["name_key"])
        chunk, extra = page(groups, params, lambda item: str(item["name_key"]))
        return {"Groups": [entity_out(group) for group in chunk], **extra}

    # --- roles -----------------------------------------------------------------------------

    @operation("CreateRole")
    async def create_role(self, ctx: RequestContext, params: Params) -> Result:
        trust = checked_policy(params["AssumeRolePolicyDocument"], kind="trust", limit=IAM_TRUST_POLICY_MAX_CHARS)
        duration = _session_duration(params.get("MaxSessionDuration"))
        row = await self._create(ctx, "role", params, trust_policy=trust, description=params.get("Description"),
                                 max_session_duration=duration)
        role = entity_out(row)
        del role["MaxSessionDuration"]  # as AWS's CreateRole answers (GetRole and ListRoles show it)
        return {"Role": {**role, **_given_tags(params)}}

    @operation("GetRole")
    async def get_role(self, ctx: RequestContext, params: Params) -> Result:
        row = await self.entity(ctx, "role", params["RoleName"])
        await self.allow(ctx, "GetRole", str(row["arn"]))
        # Role use is not tracked: RoleLastUsed is empty, as for a role never used.
        return {"Role": {**entity_out(row), "RoleLastUsed": {}, **await self._tags_of(row)}}

    @operation("ListRoles")
    async def list_roles(self, ctx: RequestContext, params: Params) -> Result:
        roles, extra = await self._list(ctx, "role", params)
        return {"Roles": roles, **extra}

    @operation("DeleteRole")
    async def delete_role(self, ctx: RequestContext, params: Params) -> Result:
        await self._delete(ctx, "role", params["RoleName"])
        return {}

    @operation("UpdateAssumeRolePolicy")
    async def update_assume_role_policy(self, ctx: RequestContext, params: Params) -> Result:
        row = await self.entity(ctx, "role", params["RoleName"])
        await self.allow(ctx, "UpdateAssumeRolePolicy", str(row["arn"]))
        trust = checked_policy(params["PolicyDocument"], kind="trust", limit=IAM_TRUST_POLICY_MAX_CHARS)
        await self.runtime.store.execute("iam_role_set_trust", account_id=ctx.caller.account_id,
                                         name_key=row["name_key"], trust_policy=trust)
        return {}

    @operation("UpdateRole")
    async def update_role(self, ctx: RequestContext, params: Params) -> Result:
        row = await self.entity(ctx, "role", params["RoleName"])
        await self.allow(ctx, "UpdateRole", str(row["arn"]))
        duration = params.get("MaxSessionDuration")
        await self.runtime.store.execute(
            "iam_role_update", account_id=ctx.caller.account_id, name_key=row["name_key"],
            description=params.get("Description", row["description"]),
            max_session_duration=row["max_session_duration"] if duration is None else _session_duration(duration),
        )
        return {}

    # --- access keys -----------------------------------------------------------------------

    async def _key_owner(self, ctx: RequestContext, params: Params) -> Caller:
        """The principal whose keys an access-key operation manages (default: the caller)."""
        name = params.get("UserName")
        if name is None:
            if ctx.caller.kind not in ("IAMUser", "Root"):
                raise ValidationError("Must specify userName when calling with non-User credentials")
            return ctx.caller
        row = await self.entity(ctx, "user", name)
        return Caller(account_id=ctx.caller.account_id, arn=str(row["arn"]), principal_id=str(row["entity_id"]),
                      kind="IAMUser", user_name=str(row["name"]))

    @operation("CreateAccessKey")
    async def create_access_key(self, ctx: RequestContext, params: Params) -> Result:
        owner = await self._key_owner(ctx, params)
        await self.allow(ctx, "CreateAccessKey", owner.arn)
        existing = await self.runtime.store.fetch_all("access_keys_for_principal", account_id=owner.account_id,
                                                      principal_arn=owner.arn)
        if owner.kind == "IAMUser" and len(existing) >= MAX_ACCESS_KEYS:
            raise LimitExceededException(f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}")
        access_key_id, secret = await self.runtime.credentials.create(owner)
        return {"AccessKey": {"UserName": owner.user_name or "root", "AccessKeyId": access_key_id, "Status": ACTIVE,
                              "SecretAccessKey": secret, "CreateDate": timestamp(now())}}

    @operation("ListAccessKeys")
    async def list_access_keys(self, ctx: RequestContext, params: Params) -> Result:
        owner = await self._key_owner(ctx, params)
        await self.allow(ctx, "ListAccessKeys", owner.arn)
        rows = await self.runtime.store.fetch_all("access_keys_for_principal", account_id=owner.account_id,
                                                  principal_arn=owner.arn)
        rows = [row for row in rows if not str(row["access_key_id"]).startswith("ASIA")]
        chunk, extra = page(rows, params, lambda row: str(row["access_key_id"]))
        return {"AccessKeyMetadata": [{"UserName": owner.user_name or "root", "AccessKeyId": row["access_key_id"],
                                       "Status": row["status"], "CreateDate": timestamp(row["created_at"])}
                                      for row in chunk], **extra}

    async def _own_key(self, ctx: RequestContext, params: Params, action: str) -> Caller:
        owner = await self._key_owner(ctx, params)
        await self.allow(ctx, action, owner.arn)
        keys = await self.runtime.store.fetch_all("access_keys_for_principal", account_id=owner.account_id,
                                                  principal_arn=owner.arn)
        if params["AccessKeyId"] not in {row["access_key_id"] for row in keys}:
            raise NoSuchEntityException(f"The Access Key with id {params['AccessKeyId']} cannot be found.")
        return owner

    @operation("UpdateAccessKey")
    async def update_access_key(self, ctx: RequestContext, params: Params) -> Result:
        owner = await self._own_key(ctx, params, "UpdateAccessKey")
        if params["Status"] not in (ACTIVE, INACTIVE):
            raise ValidationError("Status must be Active or Inactive")
        await self.runtime.store.execute("access_key_set_status", access_key_id=params["AccessKeyId"],
                                         account_id=owner.account_id, principal_arn=owner.arn,
                                         status=params["Status"])
        await self.key_changed(params["AccessKeyId"])
        return {}

    @operation("DeleteAccessKey")
    async def delete_access_key(self, ctx: RequestContext, params: Params) -> Result:
        owner = await self._own_key(ctx, params, "DeleteAccessKey")
        await self.runtime.store.execute("access_key_delete", access_key_id=params["AccessKeyId"],
                                         account_id=owner.account_id, principal_arn=owner.arn)
        await self.key_changed(params["AccessKeyId"])
        return {}

    # --- tags ------------------------------------------------------------------------------

    async def _tag(self, ctx: RequestContext, kind: str, params: Params) -> Result:
        row = await self.entity(ctx, kind, params[f"{kind.capitalize()}Name"])
        await self.allow(ctx, f"Tag{kind.capitalize()}", str(row["arn"]))
        key = {"account_id": ctx.caller.account_id, "kind": kind, "name_key": row["name_key"]}
        current = {item["tag_key"] for item in await self.runtime.store.fetch_all("iam_tags_list", **key)}
        tags = _tags(params["Tags"])
        if len(current | {tag["Key"] for tag in tags}) > MAX_TAGS:
            raise LimitExceededException(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
        await self.runtime.store.write([Step("iam_tags_put", {**key, "tag_key": tag["Key"],
                                                              "tag_value": tag["Value"]}) for tag in tags])
        await self.policies_changed()  # aws:PrincipalTag/* of the user or role's sessions
        return {}

    async def _untag(self, ctx: RequestContext, kind: str, params: Params) -> Result:
        row = await self.entity(ctx, kind, params[f"{kind.capitalize()}Name"])
        await self.allow(ctx, f"Untag{kind.capitalize()}", str(row["arn"]))
        key = {"account_id": ctx.caller.account_id, "kind": kind, "name_key": row["name_key"]}
        await self.runtime.store.write([Step("iam_tags_delete", {**key, "tag_key": tag_key})
                                        for tag_key in params["TagKeys"]])
        await self.policies_changed()
        return {}

    async def _tags_of(self, row: Row) -> Result:
        """``{"Tags": [...]}`` of a user or role, as GetUser / GetRole show them (nothing if none)."""
        rows = await self.runtime.store.fetch_all("iam_tags_list", account_id=row["account_id"], kind=row["kind"],
                                                  name_key=row["name_key"])
        return {"Tags": [{"Key": item["tag_key"], "Value": item["tag_value"]} for item in rows]} if rows else {}

    async def _list_tags(self, ctx: RequestContext, kind: str, params: Params) -> Result:
        row = await self.entity(ctx, kind, params[f"{kind.capitalize()}Name"])
        await self.allow(ctx, f"List{kind.capitalize()}Tags", str(row["arn"]))
        rows = await self.runtime.store.fetch_all("iam_tags_list", account_id=ctx.caller.account_id, kind=kind,
                                                  name_key=row["name_key"])
        chunk, extra = page(rows, params, lambda item: str(item["tag_key"]))
        return {"Tags": [{"Key": item["tag_key"], "Value": item["tag_value"]} for item in chunk], **extra}

    @operation("TagUser")
    async def tag_user(self, ctx: RequestContext, params: Params) -> Result:
        return await self._tag(ctx, "user", params)

    @operation("UntagUser")
    async def untag_user(self, ctx: RequestContext, params: Params) -> Result:
        return await self._untag(ctx, "user", params)

    @operation("ListUserTags")
    async def list_user_tags(self, ctx: RequestContext, params: Params) -> Result:
        return await self._list_tags(ctx, "user", params)

    @operation("TagRole")
    async def tag_role(self, ctx: RequestContext, params: Params) -> Result:
        return await self._tag(ctx, "role", params)

    @operation("UntagRole")
    async def untag_role(self, ctx: RequestContext, params: Params) -> Result:
        return await self._untag(ctx, "role", params)

    @operation("ListRoleTags")
    async def list_role_tags(self, ctx: RequestContext, params: Params) -> Result:
        return await self._list_tags(ctx, "role", params)


def _tags(raw: object) -> list[dict[str, str]]:
    tags = list(raw or [])  # type: ignore[call-overload]
    if len(tags) > MAX_TAGS:
        raise LimitExceededException(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    for tag in tags:
        if not 1 <= len(tag["Key"]) <= 128 or len(tag.get("Value", "")) > 256:
            raise InvalidInputException("Tag keys must be 1..128 characters and values at most 256.")
    return [{"Key": tag["Key"], "Value": tag.get("Value", "")} for tag in tags]


def _given_tags(params: Params) -> Result:
    """The tags a CreateUser / CreateRole gave, as its answer echoes them (nothing if none)."""
    tags = _tags(params.get("Tags"))
    return {"Tags": tags} if tags else {}


def _session_duration(value: object) -> int:
    """MaxSessionDuration: 3600..43200 seconds (default 3600)."""
    duration = 3600 if value is None else int(str(value))
    if not 3600 <= duration <= 43200:
        raise ValidationError(
            f"1 validation error detected: Value '{duration}' at 'maxSessionDuration' failed to satisfy "
            "constraint: Member must have value between 3600 and 43200"
        )
    return duration
