"""Authorization: the request path's bridge from a handler to the pure policy evaluator.

A provider asks ``authz.enforce(ctx, await authz.decide(ctx, "sqs:SendMessage", queue_arn, ...))``.
This module adds what only the running system knows — the caller's identity policies
and principal tags (aws:PrincipalTag/<key>, from IAM, cached with the policies), the
global condition keys of the request (aws:SourceIp,
aws:SecureTransport, aws:SourceVpce, aws:CurrentTime, kms:ViaService, ...) and of the
resource (aws:ResourceTag/<key>, from the tags the provider passes) — then
evaluates with :func:`cipherpost.policy.evaluate` and, on denial, raises the calling
service's own error with a message naming principal, action, resource and the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

from cipherpost.context import Caller, RequestContext
from cipherpost.errors import AccessDenied, AwsError
from cipherpost.policy import ContextValue, Decision, Grant, Policy, Principal, Request, evaluate, root_allowed
from cipherpost.policy.principal_tags import principal_tag_keys


@dataclass(frozen=True, slots=True)
class CallerPolicies:
    """The policies attached to a caller's identity."""

    identity: tuple[Policy, ...] = ()
    """User (inline, attached, via groups) or role policies."""
    boundary: Policy | None = None
    """The permissions boundary, if one is set."""
    session: tuple[Policy, ...] = ()
    """STS session policies of a role session (empty: no limit)."""
    tags: tuple[tuple[str, str], ...] = ()
    """The principal's tags: a user's IAM tags; a role session's role tags overridden by its
    session tags (see :mod:`cipherpost.policy.principal_tags`)."""
    transitive_tags: tuple[tuple[str, str], ...] = ()
    """A role session's transitive session tags, passed on to the sessions it starts."""
    tag_keys: Mapping[str, ContextValue] = field(default_factory=dict, compare=False)
    """``aws:PrincipalTag/<key>`` condition keys of ``tags``, built once when loaded."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tag_keys", principal_tag_keys(self.tags))


NO_POLICIES = CallerPolicies()


class IdentityPolicySource(Protocol):
    """Where identity policies come from (IAM implements this)."""

    async def policies_for(self, caller: Caller) -> CallerPolicies:
        """The policies that apply to ``caller``; empty for roots and service principals."""
        ...


class _NoIdentityPolicies:
    async def policies_for(self, caller: Caller) -> CallerPolicies:
        del caller
        return NO_POLICIES


class AuthorizationError(AwsError):
    """You are not authorized to perform this action."""

    code = "AuthorizationError"
    status = 403


class AccessDeniedException(AwsError):
    """You do not have sufficient access to perform this action."""

    code = "AccessDeniedException"
    status = 400


class SqsAccessDenied(AccessDenied):
    """Access to the resource is denied."""

    json_code = "AccessDeniedException"
    json_status = 403


#: The error each service answers a denial with (behaviour as data).
DENIED: Mapping[str, type[AwsError]] = {
    "sts": AccessDenied,
    "iam": AccessDenied,
    "sns": AuthorizationError,
    "sqs": SqsAccessDenied,
    "kms": AccessDeniedException,
    "cloudtrail": AccessDeniedException,
}


def principal_of(caller: Caller) -> Principal:
    """The evaluator's view of a caller."""
    if caller.is_service:
        return Principal.for_service(caller.arn)
    return Principal.from_arn(caller.arn, user_id=caller.principal_id)


def request_keys(ctx: RequestContext, *, through_network: bool = True) -> dict[str, ContextValue]:
    """Global condition keys that follow from the request itself.

    ``through_network`` is False when a service acts on its own (SNS delivering to a queue):
    that call does not come from the caller's address or VPC endpoint, so aws:SourceIp and
    aws:SourceVpce are absent, as in AWS.
    """
    keys: dict[str, ContextValue] = {
        "aws:SecureTransport": "true" if ctx.secure_transport else "false",
        "aws:CurrentTime": ctx.received_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(ctx.received_at.timestamp())),
        "aws:RequestedRegion": ctx.region,
    }
    if through_network and ctx.source_ip is not None and ctx.invoked_by is None:
        keys["aws:SourceIp"] = ctx.source_ip
    if through_network and ctx.endpoint_id is not None:
        keys["aws:SourceVpce"] = ctx.endpoint_id
    for key, value in ctx.request_tags:
        keys[f"aws:RequestTag/{key}"] = value
    if ctx.tag_keys:
        keys["aws:TagKeys"] = list(ctx.tag_keys)
    if ctx.invoked_by is not None:
        # "kms:ViaService": the service (sns.us-east-1.amazonaws.com) that called KMS for the caller.
        keys["kms:ViaService"] = ctx.invoked_by.replace(".amazonaws.com", f".{ctx.region}.amazonaws.com")
    return keys


def resource_tag_keys(tags: Mapping[str, str]) -> dict[str, ContextValue]:
    """``aws:ResourceTag/<key>`` condition keys for a resource's tags.

    Condition key names are case-insensitive (the evaluator lower-cases them), tag values
    are compared as the operator says (case-sensitively under ``StringEquals``). Where a
    resource has two tags whose keys differ only in case (SQS and KMS tag keys are
    case-sensitive), both values are present, so no tag is silently hidden.
    """
    keys: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for tag_key in sorted(tags):
        name = names.setdefault(tag_key.lower(), f"aws:ResourceTag/{tag_key}")
        keys.setdefault(name, []).append(tags[tag_key])
    return {name: values[0] if len(values) == 1 else values for name, values in keys.items()}


class Authorizer:
    """Evaluates AWS access policy for handlers (see the module docstring)."""

    denied: ClassVar[Mapping[str, type[AwsError]]] = DENIED

    def __init__(
        self, identities: IdentityPolicySource | None = None, endpoint_policies: Mapping[str, Policy] | None = None
    ) -> None:
        self.identities: IdentityPolicySource = identities or _NoIdentityPolicies()
        self.endpoint_policies: Mapping[str, Policy] = endpoint_policies or {}
        """VPC-endpoint policies of private listeners, by endpoint id."""

    async def decide(
        self,
        ctx: RequestContext,
        action: str,
        resource: str,
        *,
        caller: Caller | None = None,
        resource_policy: Policy | None = None,
        resource_account: str | None = None,
        key_policy: bool = False,
        trust_policy: bool = False,
        grants: Sequence[Grant] = (),
        context: Mapping[str, ContextValue] | None = None,
        encryption_context: Mapping[str, str] | None = None,
        resource_tags: Mapping[str, str] | Callable[[], Awaitable[Mapping[str, str]]] | None = None,
    ) -> Decision:
        """Decide ``action`` on ``resource`` for ``caller`` (default: the request's caller).

        Args:
            resource_policy: the topic/queue policy, or with ``key_policy`` the key policy.
            resource_account: the account owning the resource (default: the caller's).
            key_policy: KMS mode, where the key policy is authoritative.
            trust_policy: role-trust mode (sts:AssumeRole), where the trust policy must match.
            grants: KMS grants on the key.
            context: service-specific condition keys (aws:SourceArn, kms:CallerAccount, ...).
            encryption_context: the KMS encryption context of the request.
            resource_tags: the tags of the existing resource acted on, as ``aws:ResourceTag/<key>``
                (``context`` wins over them where both name a key); or a coroutine function
                reading them, called only when a policy in play names ``aws:ResourceTag``.
        """
        who = caller or ctx.caller
        # The endpoint policy applies to what a caller sends through the private listener,
        # not to a service principal acting on its own afterwards.
        direct = not who.is_service
        endpoint = self.endpoint_policies.get(ctx.endpoint_id) if direct and ctx.endpoint_id else None
        if (who.is_root and resource_policy is None and endpoint is None and not key_policy and not trust_policy
                and (resource_account or who.account_id) == who.account_id):
            # Nothing could deny (a root user has no identity policies): the common case of an
            # owner using its own resources skips building the request (see root_allowed).
            return root_allowed(who.arn, action, resource)
        policies = await self.identities.policies_for(who)
        keys = request_keys(ctx, through_network=direct)
        if policies.tag_keys:
            keys.update(policies.tag_keys)  # aws:PrincipalTag/*, loaded (and cached) with the policies
        if callable(resource_tags):
            in_play = (resource_policy, endpoint, policies.boundary, *policies.identity, *policies.session)
            resource_tags = (await resource_tags()) if any(
                policy is not None and policy.reads_resource_tags for policy in in_play) else None
        if resource_tags:
            keys.update(resource_tag_keys(resource_tags))
        if context:
            keys.update(context)
        request = Request(principal_of(who), action, resource, keys, encryption_context)
        return evaluate(
            request,
            identity_policies=policies.identity,
            resource_policy=resource_policy,
            resource_account=resource_account or who.account_id,
            session_policies=policies.session,
            permissions_boundary=policies.boundary,
            endpoint_policy=endpoint,
            grants=grants,
            key_policy_authority=key_policy,
            trust_policy=trust_policy,
        )

    def enforce(self, ctx: RequestContext, decision: Decision, error: type[AwsError] | None = None) -> None:
        """Raise unless ``decision`` allows: ``authz.enforce(ctx, await authz.decide(ctx, ...))``.

        Raises:
            AwsError: ``error`` if given, else the error ``ctx.service`` answers denials with.
        """
        if not decision.allowed:
            raise (error or self.denied.get(ctx.service, AccessDenied))(decision.message())
