"""What every KMS handler shares: resolve a ``KeyId``, authorize against the key, check its state.

The order matches AWS: an unknown key is NotFoundException; then the key policy (with
grants, and IAM policies where the policy delegates to the account) decides; then the key
state; then ``DryRun`` stops a request that would have succeeded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Final

from cipherpost.context import Caller, RequestContext
from cipherpost.policy import ContextValue, Grant, parse_policy
from cipherpost.runtime import Runtime
from cipherpost.services.authz import Authorizer
from cipherpost.services.base import Provider
from cipherpost.services.kms.errors import (
    AccessDeniedException,
    DryRunOperationException,
    InvalidKeyUsageException,
    NotFoundException,
)
from cipherpost.services.kms.grants import GrantRecord
from cipherpost.services.kms.ids import parse_key_ref
from cipherpost.services.kms.keys import KeyRecord, KeyStore
from cipherpost.services.kms.states import check_state

#: The operation named in usage errors, where the action differs (ReEncrypt's two sides).
_OPERATION_NAMES: Final = {"ReEncryptFrom": "ReEncrypt", "ReEncryptTo": "ReEncrypt"}

#: Grants read per authorization; AWS's quota is 50,000 grants per key.
_GRANTS_PER_KEY: Final = 50_000


def check_usage(key: KeyRecord, operation: str, usage: str | None, specs: Collection[str] | None = None) -> None:
    """:raises InvalidKeyUsageException: the key's KeyUsage or key spec does not fit ``operation``
    (AWS: "<key ARN> key usage is SIGN_VERIFY which is not valid for Encrypt.")."""
    if usage is not None and key.key_usage != usage:
        raise InvalidKeyUsageException(f"{key.arn} key usage is {key.key_usage} which is not valid for {operation}.")
    if specs is not None and key.key_spec not in specs:
        raise InvalidKeyUsageException(f"{key.arn} key spec is {key.key_spec} which is not valid for {operation}.")


class KmsCore(Provider):
    """The KMS provider's shared state and helpers; handlers live in the mixins."""

    service = "kms"

    def __init__(self, runtime: Runtime, authz: Authorizer) -> None:
        super().__init__(runtime, authz)
        self.keys = KeyStore(runtime.store, runtime.keyring)
        self.installation_id = bytes.fromhex(runtime.installation_id)
        #: Called with a key id when the key stops being usable (DisableKey, ScheduleKeyDeletion),
        #: so SNS and SQS drop cached data keys at once (DataKeyCache.invalidate_key).
        self.key_listeners: list[Callable[[str], Awaitable[None]]] = []

    async def key_unusable(self, key_id: str) -> None:
        """Tell every listener that ``key_id`` was disabled or scheduled for deletion."""
        for listener in self.key_listeners:
            await listener(key_id)

    async def resolve(
        self,
        ctx: RequestContext,
        key_id: str,
        *,
        aliases: bool = False,
        cross_account: bool = False,
        caller: Caller | None = None,
    ) -> KeyRecord:
        """The key a ``KeyId`` parameter names, for the caller.

        :param aliases: the operation accepts alias names and alias ARNs.
        :param cross_account: the operation may use a key in another account (by ARN);
            AWS documents each operation's "Cross-account use".
        :raises NotFoundException: unknown, malformed, or in another account when not allowed.
        """
        who = caller or ctx.caller
        ref = parse_key_ref(key_id, aliases=aliases)
        if ref.account is not None and ref.account != who.account_id and not cross_account:
            raise NotFoundException(f"Key '{key_id}' does not exist (this operation cannot use another account's key)")
        return await self.keys.resolve(ref, account=who.account_id, region=ctx.region)

    async def grants_of(self, key_id: str) -> list[GrantRecord]:
        """Every grant on a key."""
        rows = await self.runtime.store.fetch_all("kms_grants_for_key", key_id=key_id, after="", limit=_GRANTS_PER_KEY)
        return [GrantRecord.from_row(row) for row in rows]

    async def authorize(
        self,
        ctx: RequestContext,
        action: str,
        key: KeyRecord,
        *,
        caller: Caller | None = None,
        encryption_context: Mapping[str, str] | None = None,
        context: Mapping[str, ContextValue] | None = None,
    ) -> None:
        """Enforce the key policy and grants for ``action`` (``kms:Encrypt``, ...) on ``key``.

        ``kms:CallerAccount`` is the caller's account; a service principal acting on its own
        has no account, so policies conditioned on it (the AWS-managed key policies) do not
        apply to it. The key's tags are ``aws:ResourceTag/<key>`` ("ABAC for AWS KMS").

        :raises AccessDeniedException: always KMS's own, also when SNS or SQS call through the
            internal API (they map it to their codes).
        """
        who = caller or ctx.caller
        keys: dict[str, ContextValue] = {} if who.is_service else {"kms:CallerAccount": who.account_id}
        keys.update(context or {})
        grants: list[Grant] = [grant.to_policy_grant() for grant in await self.grants_of(key.key_id)]
        decision = await self.authz.decide(
            ctx,
            action,
            key.arn,
            caller=who,
            resource_policy=parse_policy(key.policy).named(key.key_id),
            resource_account=key.account_id,
            key_policy=True,
            grants=grants,
            context=keys,
            encryption_context=encryption_context,
            resource_tags=lambda: self.keys.tags(key.key_id),
        )
        self.authz.enforce(ctx, decision, AccessDeniedException)

    async def authorize_iam(self, ctx: RequestContext, action: str, resource: str = "*") -> None:
        """Enforce an action that only IAM policies control (CreateKey, ListKeys, aliases)."""
        decision = await self.authz.decide(ctx, action, resource)
        self.authz.enforce(ctx, decision, AccessDeniedException)

    async def use_key(
        self,
        ctx: RequestContext,
        key_id: str,
        operation: str,
        *,
        aliases: bool = False,
        cross_account: bool = False,
        caller: Caller | None = None,
        encryption_context: Mapping[str, str] | None = None,
        context: Mapping[str, ContextValue] | None = None,
        dry_run: bool = False,
        usage: str | None = None,
        specs: Collection[str] | None = None,
        check: Callable[[KeyRecord], None] | None = None,
    ) -> KeyRecord:
        """Resolve, authorize ``kms:<operation>``, check the key state and usage, honour ``DryRun``.

        :param usage: the KeyUsage the operation needs (None: any).
        :param specs: the key specs the operation works with (None: any).
        :param check: a last check of the request against the key (e.g. its algorithm),
            before ``DryRun`` stops a request that would have succeeded.
        :raises NotFoundException, AccessDeniedException, DisabledException,
            KMSInvalidStateException, InvalidKeyUsageException, DryRunOperationException: in that order.
        """
        key = await self.resolve(ctx, key_id, aliases=aliases, cross_account=cross_account, caller=caller)
        await self.check_key(ctx, key, operation, caller=caller, encryption_context=encryption_context,
                             context=context, dry_run=dry_run, usage=usage, specs=specs, check=check)
        return key

    async def check_key(
        self,
        ctx: RequestContext,
        key: KeyRecord,
        operation: str,
        *,
        caller: Caller | None = None,
        encryption_context: Mapping[str, str] | None = None,
        context: Mapping[str, ContextValue] | None = None,
        dry_run: bool = False,
        usage: str | None = None,
        specs: Collection[str] | None = None,
        check: Callable[[KeyRecord], None] | None = None,
    ) -> None:
        """:meth:`use_key` for a key already in hand."""
        await self.authorize(ctx, f"kms:{operation}", key, caller=caller, encryption_context=encryption_context,
                             context=context)
        check_state(operation, key.key_state, key.arn)
        check_usage(key, _OPERATION_NAMES.get(operation, operation), usage, specs)
        if check is not None:
            check(key)
        if dry_run:
            raise DryRunOperationException
