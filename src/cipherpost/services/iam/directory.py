"""The identity-policy source for authorization: which policies apply to a caller.

Implements :class:`cipherpost.services.authz.IdentityPolicySource`: a caller's policies and
its principal tags (aws:PrincipalTag/*). Results are cached per caller and the whole cache
is dropped on every IAM or STS change, tags included (:meth:`invalidate`, broadcast to the
other nodes), so changes take effect with the next request.
"""

from __future__ import annotations

import json
import logging

from cipherpost.context import Caller
from cipherpost.policy import VERSION_2012, Policy, PolicySyntaxError, parse_policy
from cipherpost.policy.principal_tags import Tags, session_principal_tags
from cipherpost.services.authz import NO_POLICIES, CallerPolicies
from cipherpost.services.iam.managed import AWS_MANAGED
from cipherpost.store import Row, Store

log = logging.getLogger(__name__)

#: A session policy that allows nothing: a federated user session given no session policy.
_NOTHING = Policy(VERSION_2012, None, ()).named("session policy")
#: What a federation token of the account root starts from: everything (the root's rights).
_ROOT_USER = CallerPolicies(identity=(parse_policy(json.dumps({"Version": VERSION_2012, "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})).named("account root"),))


class IamPolicySource:
    """Reads a caller's identity policies from the IAM tables."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[tuple[str, str | None], CallerPolicies] = {}

    def invalidate(self) -> None:
        """Forget everything cached (called after every IAM/STS write)."""
        self._cache.clear()

    async def policies_for(self, caller: Caller) -> CallerPolicies:
        if caller.kind not in ("IAMUser", "AssumedRole", "FederatedUser"):
            return NO_POLICIES
        key = (caller.arn, None if caller.kind == "IAMUser" else caller.access_key_id)
        cached = self._cache.get(key)
        if cached is None:
            cached = await self._load(caller)
            self._cache[key] = cached
        return cached

    async def _load(self, caller: Caller) -> CallerPolicies:
        account = caller.account_id
        if caller.kind == "IAMUser":
            return await self._user(account, caller.arn.rsplit("/", 1)[-1].lower())
        session = await self._store.fetch_one("sts_session_get", access_key_id=caller.access_key_id)
        if session is None:
            return NO_POLICIES
        session_tags = _pairs(session.get("session_tags"))
        if caller.kind == "FederatedUser":
            return await self._federated(account, session, session_tags)
        if session["role_key"] is None:
            return NO_POLICIES
        role_key = str(session["role_key"])
        policies = await self._entity_policies(account, "role", role_key)
        role = await self._store.fetch_one("iam_entity_get", account_id=account, kind="role", name_key=role_key)
        transitive = {str(key).lower() for key in json.loads(str(session.get("transitive_tag_keys") or "[]"))}
        return CallerPolicies(
            tuple(policies), await self._boundary(role), await self._session_policies(session),
            tags=session_principal_tags(await self._tags(account, "role", role_key), session_tags),
            transitive_tags=tuple(tag for tag in session_tags if tag[0].lower() in transitive),
        )

    async def _user(self, account: str, name_key: str) -> CallerPolicies:
        """An IAM user's policies (inline, attached, through its groups), boundary and tags."""
        policies = await self._entity_policies(account, "user", name_key)
        for group in await self._store.fetch_all("iam_groups_for_user", account_id=account, user_key=name_key):
            policies += await self._entity_policies(account, "group", str(group["name_key"]))
        user = await self._store.fetch_one("iam_entity_get", account_id=account, kind="user", name_key=name_key)
        tags = await self._tags(account, "user", name_key)
        return CallerPolicies(tuple(policies), await self._boundary(user), tags=tags)

    async def _federated(self, account: str, session: Row, session_tags: Tags) -> CallerPolicies:
        """A GetFederationToken session: the calling user's policies (the root's: everything)
        intersected with the session policies, which it must have been given: without any, it
        may do nothing (AWS). Its tags: the user's, overridden by the session tags."""
        user_key = session.get("user_key")
        user = _ROOT_USER if user_key is None else await self._user(account, str(user_key))
        limits = await self._session_policies(session) or (_NOTHING,)
        return CallerPolicies(user.identity, user.boundary, limits,
                              tags=session_principal_tags(user.tags, session_tags))

    async def _session_policies(self, session: Row) -> tuple[Policy, ...]:
        found: list[Policy] = []
        if session["session_policy"]:
            found.append(parse_policy(str(session["session_policy"])).named("session policy"))
        for arn in json.loads(str(session["policy_arns"])):
            found += await self._managed(str(arn))
        return tuple(found)

    async def _tags(self, account: str, kind: str, name_key: str) -> tuple[tuple[str, str], ...]:
        rows = await self._store.fetch_all("iam_tags_list", account_id=account, kind=kind, name_key=name_key)
        return tuple((str(row["tag_key"]), str(row["tag_value"])) for row in rows)

    async def _entity_policies(self, account: str, kind: str, name_key: str) -> list[Policy]:
        found: list[Policy] = []
        for row in await self._store.fetch_all("iam_inline_list", account_id=account, kind=kind, name_key=name_key):
            found += _parsed(str(row["document"]), f"inline policy {row['policy_name']}")
        for row in await self._store.fetch_all("iam_attached_list", account_id=account, kind=kind,
                                               name_key=name_key):
            found += await self._managed(str(row["policy_arn"]))
        return found

    async def _managed(self, arn: str) -> list[Policy]:
        builtin = AWS_MANAGED.get(arn)
        if builtin is not None:
            return _parsed(builtin.document, arn)
        policy = await self._store.fetch_one("iam_managed_get", arn=arn)
        if policy is None:
            return []
        version = await self._store.fetch_one("iam_version_get", policy_arn=arn,
                                              version_id=policy["default_version"])
        return [] if version is None else _parsed(str(version["document"]), arn)

    async def _boundary(self, entity: dict[str, object] | None) -> Policy | None:
        arn = None if entity is None else entity.get("permissions_boundary")
        if not arn:
            return None
        found = await self._managed(str(arn))
        return found[0] if found else None


def _pairs(stored: object) -> Tags:
    """Session tags as stored (a JSON list of [key, value]; NULL for a session without any)."""
    return tuple((str(key), str(value)) for key, value in json.loads(str(stored or "[]")))


def _parsed(document: str, label: str) -> list[Policy]:
    """A stored policy, parsed; stored documents were validated when written."""
    try:
        return [parse_policy(document).named(label)]
    except PolicySyntaxError:
        log.error("stored IAM policy %s no longer parses; ignoring it", label)
        return []
