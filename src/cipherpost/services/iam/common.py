"""Shared pieces of the IAM handlers: entity lookup, output shapes, pagination, authorization."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

from cipherpost.context import RequestContext
from cipherpost.policy import PolicySyntaxError, iam_policy_length, validate_policy
from cipherpost.services.base import Params, Provider, Result
from cipherpost.services.iam.directory import IamPolicySource
from cipherpost.services.iam.errors import (
    LimitExceededException,
    MalformedPolicyDocumentException,
    NoSuchEntityException,
)
from cipherpost.services.iam.names import KINDS, check_name
from cipherpost.store import Row, StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)
#: Notification channel of IAM changes between nodes ("policies:" or "key:<access key id>").
IDENTITY_CHANNEL = "cipherpost_identity"

#: Output member names per entity kind: (name, id).
_MEMBERS = {"user": ("UserName", "UserId"), "group": ("GroupName", "GroupId"), "role": ("RoleName", "RoleId")}


def now() -> int:
    return int(time.time())


def timestamp(seconds: object) -> datetime:
    return datetime.fromtimestamp(int(str(seconds)), UTC)


def encoded_document(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986); the SDKs decode them."""
    return quote(document, safe="")


def entity_out(row: Row) -> Result:
    """A User / Group / Role output structure from its row."""
    kind = str(row["kind"])
    name_member, id_member = _MEMBERS[kind]
    out: Result = {
        name_member: row["name"],
        "Path": row["path"],
        id_member: row["entity_id"],
        "Arn": row["arn"],
        "CreateDate": timestamp(row["created_at"]),
    }
    if kind == "role":
        out["AssumeRolePolicyDocument"] = encoded_document(str(row["trust_policy"]))
        out["MaxSessionDuration"] = row["max_session_duration"]
        if row["description"] is not None:
            out["Description"] = row["description"]
    if row.get("permissions_boundary"):
        out["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": row["permissions_boundary"],
        }
    return out


def page(items: Sequence[T], params: Params, key: Callable[[T], str]) -> tuple[list[T], Result]:
    """IAM pagination (Marker / MaxItems -> IsTruncated / Marker) over items sorted by ``key``."""
    marker = params.get("Marker")
    max_items = int(params.get("MaxItems") or 100)
    start = 0
    if marker:
        start = next((i for i, item in enumerate(items) if key(item) > marker), len(items))
    chunk = list(items[start : start + max_items])
    truncated = start + max_items < len(items)
    extra: Result = {"IsTruncated": truncated}
    if truncated and chunk:
        extra["Marker"] = key(chunk[-1])
    return chunk, extra


def checked_policy(document: str, *, kind: str, limit: int) -> str:
    """Validate a policy document for IAM; returns it unchanged.

    Raises:
        LimitExceededException: the document is over IAM's size quota for its kind.
        MalformedPolicyDocumentException: syntax errors.
    """
    if iam_policy_length(document) > limit:
        raise LimitExceededException(f"Cannot exceed quota for PolicySize: {limit}")
    try:
        validate_policy(document, kind=kind)  # type: ignore[arg-type]
    except PolicySyntaxError as exc:
        raise MalformedPolicyDocumentException(exc.message) from exc
    return document


class IamBase(Provider):
    """Entity lookup and authorization shared by the IAM handler classes."""

    service = "iam"

    async def start(self) -> None:
        """Hear other nodes' IAM changes (PostgreSQL: several nodes share the store)."""
        self._unlisten = await self.runtime.store.listen(IDENTITY_CHANNEL, self._heard)

    async def stop(self) -> None:
        unlisten = getattr(self, "_unlisten", None)
        if unlisten is not None:
            await unlisten()

    def _heard(self, payload: str) -> None:
        """A change on some node: drop what this node cached about it."""
        kind, _, value = payload.partition(":")
        if kind == "key":
            self.runtime.credentials.invalidate(value)
        else:
            self.source.invalidate()

    async def policies_changed(self) -> None:
        """Identity policies changed: forget cached ones here, and tell the other nodes."""
        self.source.invalidate()
        await self._broadcast("policies:")

    async def key_changed(self, access_key_id: str) -> None:
        """An access key changed (status, deletion, owner): forget it here and on other nodes."""
        self.runtime.credentials.invalidate(access_key_id)
        await self._broadcast(f"key:{access_key_id}")

    async def _broadcast(self, payload: str) -> None:
        try:
            await self.runtime.store.notify(IDENTITY_CHANNEL, payload)
        except StoreError:
            log.exception("iam: could not tell other nodes about %s", payload)

    @property
    def source(self) -> IamPolicySource:
        identities = self.authz.identities
        assert isinstance(identities, IamPolicySource)
        return identities

    async def allow(self, ctx: RequestContext, action: str, resource: str) -> None:
        """Authorize ``iam:<action>`` on ``resource`` for the caller."""
        self.authz.enforce(ctx, await self.authz.decide(ctx, f"iam:{action}", resource))

    def arn_prefix(self, ctx: RequestContext, kind: str) -> str:
        return f"arn:aws:iam::{ctx.caller.account_id}:{KINDS[kind][0]}/"

    async def entity(self, ctx: RequestContext, kind: str, name: Any) -> Row:
        """The user/group/role ``name`` in the caller's account.

        Raises:
            NoSuchEntityException: "The user with name X cannot be found."
        """
        name = check_name(kind, name, f"{kind}Name")
        row = await self.runtime.store.fetch_one(
            "iam_entity_get", account_id=ctx.caller.account_id, kind=kind, name_key=name.lower()
        )
        if row is None:
            raise NoSuchEntityException(f"The {kind} with name {name} cannot be found.")
        return row
