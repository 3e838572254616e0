"""STS: GetCallerIdentity, AssumeRole (trust policies enforced, session tags), GetSessionToken
and GetFederationToken.

Temporary credentials are access keys (``ASIA…``) with a session token (stored as its
SHA-256) and an expiry the authenticator enforces; a role or federated session's role
or user, session policies and session tags are recorded in ``sts_sessions`` so authorization can find them.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from datetime import UTC, datetime

from cipherpost.auth.authenticate import token_hash
from cipherpost.auth.credentials import new_access_key_id
from cipherpost.context import Caller, RequestContext
from cipherpost.errors import AccessDenied
from cipherpost.policy import (
    STS_SESSION_POLICY_MAX_CHARS,
    ContextValue,
    PolicySyntaxError,
    parse_policy,
    validate_policy,
)
from cipherpost.services.base import Params, Provider, Result, operation
from cipherpost.services.iam.errors import PackedPolicyTooLarge, StsMalformedPolicyDocument, ValidationError
from cipherpost.services.iam.names import (
    assumed_role_arn,
    check_federated_name,
    check_session_name,
    federated_user_arn,
)
from cipherpost.services.sts_tags import SessionTags, packed_size, session_tags
from cipherpost.store import Row, Step

_ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]+)$", re.ASCII)
ROLE_CHAINING_MAX = 3600


def _session_token() -> str:
    return base64.b64encode(secrets.token_bytes(96)).decode("ascii")


def _duration(value: object, low: int, high: int, member: str) -> int:
    seconds = 3600 if value is None else int(str(value))
    if not low <= seconds <= high:
        raise ValidationError(
            f"1 validation error detected: Value '{seconds}' at '{member}' failed to satisfy constraint: "
            f"Member must have value less than or equal to {high} and greater than or equal to {low}"
        )
    return seconds


def _session_policy(document: str | None) -> str | None:
    """Validate an inline session policy (size, then syntax)."""
    if document is None:
        return None
    if len(document) > STS_SESSION_POLICY_MAX_CHARS:
        raise PackedPolicyTooLarge("Packed policy consumes more than 100 percent of the allotted space.")
    try:
        validate_policy(document, kind="identity")
    except PolicySyntaxError as exc:
        raise StsMalformedPolicyDocument(exc.message) from exc
    return document


class StsProvider(Provider):
    service = "sts"

    @operation("GetCallerIdentity")
    async def get_caller_identity(self, ctx: RequestContext, params: Params) -> Result:
        caller = ctx.caller
        return {"UserId": caller.principal_id, "Account": caller.account_id, "Arn": caller.arn}

    @operation("AssumeRole")
    async def assume_role(self, ctx: RequestContext, params: Params) -> Result:
        if ctx.caller.is_root and not self.runtime.settings.dev:  # --dev: other projects' suites sign as root
            raise AccessDenied("Roles may not be assumed by root accounts.")
        match = _ROLE_ARN.match(params["RoleArn"])
        if match is None:
            raise ValidationError(f"{params['RoleArn']} is invalid")
        account, _, role_name = match.groups()
        session_name = check_session_name(params["RoleSessionName"])
        calling = await self.authz.identities.policies_for(ctx.caller)
        tags = session_tags(params.get("Tags"), params.get("TransitiveTagKeys"), calling.transitive_tags)
        role = await self.runtime.store.fetch_one("iam_entity_get", account_id=account, kind="role",
                                                  name_key=role_name.lower())
        role = await self._trusted(ctx, params, role, account, tags)
        limit = ROLE_CHAINING_MAX if ctx.caller.kind == "AssumedRole" else int(role["max_session_duration"])
        duration = _duration(params.get("DurationSeconds"), 900, limit, "durationSeconds")
        session_policy = _session_policy(params.get("Policy"))
        policy_arns = [item["arn"] for item in params.get("PolicyArns") or []]
        size = packed_size(session_policy, policy_arns, tags.tags)
        principal_id = f"{role['entity_id']}:{session_name}"
        arn = assumed_role_arn(account, str(role["name"]), session_name)
        caller = Caller(account_id=account, arn=arn, principal_id=principal_id, kind="AssumedRole")
        stored_tags, stored_keys = tags.stored()
        credentials = await self._temporary(caller, duration, Step("sts_session_insert", {
            "account_id": account, "role_key": role["name_key"], "session_policy": session_policy,
            "policy_arns": json.dumps(policy_arns), "expires_at": 0, "session_tags": stored_tags,
            "transitive_tag_keys": stored_keys, "user_key": None,
        }))
        result: Result = {"Credentials": credentials, "AssumedRoleUser": {"AssumedRoleId": principal_id, "Arn": arn}}
        if size is not None:
            result["PackedPolicySize"] = size
        return result

    async def _trusted(self, ctx: RequestContext, params: Params, role: Row | None, account: str,
                       tags: SessionTags) -> Row:
        """The role (returned) whose trust policy (with the caller's identity side) must allow sts:AssumeRole,
        and sts:TagSession too when the session gets tags (requested or inherited transitive ones).

        Raises:
            AccessDenied: for the first action not allowed, or when the role does not exist.
        """
        trust = None if role is None else parse_policy(str(role["trust_policy"])).named("trust policy")
        context: dict[str, ContextValue] = {}
        if params.get("ExternalId"):
            context["sts:ExternalId"] = params["ExternalId"]
        if tags.transitive_keys:
            context["sts:TransitiveTagKeys"] = list(tags.transitive_keys)
        actions = ["sts:AssumeRole"] + (["sts:TagSession"] if tags.tags else [])
        for action in actions:
            decision = await self.authz.decide(ctx, action, params["RoleArn"], resource_policy=trust,
                                               resource_account=account, trust_policy=True, context=context)
            if role is None or not decision.allowed:
                raise AccessDenied(decision.message())
        assert role is not None
        return role

    @operation("GetSessionToken")
    async def get_session_token(self, ctx: RequestContext, params: Params) -> Result:
        if ctx.caller.kind not in ("IAMUser", "Root"):
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        high = 3600 if ctx.caller.is_root else 129600
        duration = _duration(params.get("DurationSeconds"), 900, high, "durationSeconds")
        if params.get("DurationSeconds") is None:
            duration = min(43200, high)
        return {"Credentials": await self._temporary(ctx.caller, duration, None)}

    @operation("GetFederationToken")
    async def get_federation_token(self, ctx: RequestContext, params: Params) -> Result:
        """Federated user credentials: the caller's permissions intersected with the session
        policies passed (none passed: no permissions, except what resource policies grant the
        federated user itself); the caller's tags overridden by the session tags."""
        caller = ctx.caller
        if caller.kind not in ("IAMUser", "Root"):
            raise AccessDenied("Cannot call GetFederationToken with session credentials")
        name = check_federated_name(params["Name"])
        arn = federated_user_arn(caller.account_id, name)
        tags = session_tags(params.get("Tags"), None, ())
        for action in ["sts:GetFederationToken"] + (["sts:TagSession"] if tags.tags else []):
            self.authz.enforce(ctx, await self.authz.decide(ctx, action, arn))
        high = 3600 if caller.is_root else 129600
        duration = _duration(params.get("DurationSeconds"), 900, high, "durationSeconds")
        if params.get("DurationSeconds") is None:
            duration = min(43200, high)
        session_policy = _session_policy(params.get("Policy"))
        policy_arns = [item["arn"] for item in params.get("PolicyArns") or []]
        size = packed_size(session_policy, policy_arns, tags.tags) or 0
        principal_id = f"{caller.account_id}:{name}"
        federated = Caller(account_id=caller.account_id, arn=arn, principal_id=principal_id, kind="FederatedUser")
        stored_tags, _ = tags.stored()
        credentials = await self._temporary(federated, duration, Step("sts_session_insert", {
            "account_id": caller.account_id, "role_key": None, "session_policy": session_policy,
            "policy_arns": json.dumps(policy_arns), "expires_at": 0, "session_tags": stored_tags,
            "transitive_tag_keys": None, "user_key": None if caller.user_name is None else caller.user_name.lower(),
        }))
        return {"Credentials": credentials, "FederatedUser": {"FederatedUserId": principal_id, "Arn": arn},
                "PackedPolicySize": size}

    async def _temporary(self, caller: Caller, duration: int, session: Step | None) -> Result:
        """Issue temporary credentials for ``caller``, valid ``duration`` seconds."""
        access_key_id = new_access_key_id("ASIA")
        token = _session_token()
        expires_at = int(time.time()) + duration
        extra = []
        if session is not None:
            extra.append(Step(session.query, {**session.params, "access_key_id": access_key_id,
                                              "expires_at": expires_at}))
        _, secret = await self.runtime.credentials.create(
            caller, access_key_id=access_key_id, session_token_hash=token_hash(token), expires_at=expires_at,
            extra_steps=extra,
        )
        return {"AccessKeyId": access_key_id, "SecretAccessKey": secret, "SessionToken": token,
                "Expiration": datetime.fromtimestamp(expires_at, UTC)}
