"""The authorization decision: AWS's documented policy evaluation logic, as one pure function.

IAM User Guide, "Policy evaluation logic" (same account and cross-account) and AWS KMS
Developer Guide, "Key policies" / "Grants":

1. An explicit Deny in any applicable policy wins.
2. Service principals and anonymous callers have no identity policies: only a resource
   policy that names them (``Service`` or ``*``) can allow them.
3. Same account: an Allow in the identity policies (limited by a permissions boundary and
   session policies when present) OR a resource-policy Allow naming the caller suffices.
   A resource policy naming the caller's own ARN (user or session) is not limited by the
   boundary or session policy; one naming the session's role is; one naming only the
   account delegates to the account's identity policies and grants nothing by itself.
4. Cross-account: the resource policy must allow the caller (or its account) AND the
   caller's identity side must allow.
5. KMS (``key_policy_authority``): the key policy is authoritative. Identity policies count
   only when the key policy allows the caller's account (``arn:aws:iam::ACCOUNT:root``) for
   the action; grants allow on their own; without either, even the account root is denied.
6. Outside KMS, an account's root user may do anything in its own account.
7. A VPC endpoint policy, when present, must also allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cipherpost.policy.document import Policy, Statement
from cipherpost.policy.principals import Level
from cipherpost.policy.request import Request

#: Which source of permissions a decision came from (or which one was missing).
Layer = Literal["identity", "resource", "key", "boundary", "session", "endpoint", "grant"]
DecisionKind = Literal["explicit_deny", "allowed", "implicit_deny"]

_PHRASES: Mapping[Layer, str] = {
    "identity": "an identity-based policy",
    "resource": "a resource-based policy",
    "key": "a resource-based policy",  # AWS KMS words key-policy denials this way
    "boundary": "a permissions boundary",
    "session": "a session policy",
    "endpoint": "a VPC endpoint policy",
    "grant": "a grant",
}


@dataclass(frozen=True, slots=True)
class Grant:
    """A KMS grant: ``grantee`` may perform ``operations`` on the key it belongs to."""

    grantee: str
    """Principal ARN (a role ARN covers its sessions) or service principal name."""
    operations: frozenset[str]
    """``Decrypt``, ``GenerateDataKey``, ... (a ``kms:`` prefix is accepted)."""
    grant_id: str = ""
    encryption_context_equals: Mapping[str, str] | None = None
    """Constraint: the request's encryption context must be exactly this."""
    encryption_context_subset: Mapping[str, str] | None = None
    """Constraint: the request's encryption context must contain these pairs."""

    def permits(self, request: Request) -> bool:
        """Whether this grant covers the request's principal, operation and encryption context."""
        who = request.principal
        if self.grantee not in (who.arn, who.role_arn, who.service):
            return False
        operation = request.action.lower().removeprefix("kms:")
        if operation not in {name.lower().removeprefix("kms:") for name in self.operations}:
            return False
        context = dict(request.encryption_context or {})
        if self.encryption_context_equals is not None and context != dict(self.encryption_context_equals):
            return False
        subset = self.encryption_context_subset or {}
        return all(context.get(key) == value for key, value in subset.items())


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class Decision:
    """The outcome of ``evaluate`` and what decided it."""

    allowed: bool
    kind: DecisionKind
    layer: Layer | None
    """The policy kind that allowed or denied, or (implicit deny) the one that did not allow."""
    policy_name: str | None
    """The deciding policy's label, or the grant id."""
    sid: str | None
    statement_index: int | None
    principal: str
    """The caller as AWS names it in messages: ``User: arn:...`` / ``Service: sns.amazonaws.com``."""
    action: str
    resource: str

    def message(self) -> str:
        """An AWS-style explanation, e.g. ``User: arn:... is not authorized to perform: sns:Subscribe
        on resource: arn:... because no identity-based policy allows the sns:Subscribe action``."""
        target = f"perform: {self.action}" + (f" on resource: {self.resource}" if self.resource != "*" else "")
        if self.allowed:
            via = f" by {_PHRASES[self.layer]}" if self.layer is not None else " as the account root user"
            return f"{self.principal} is authorized to {target}{via}"
        phrase = _PHRASES[self.layer or "identity"]
        denied = f"{self.principal} is not authorized to {target}"
        if self.kind == "explicit_deny":
            return f"{denied} with an explicit deny in {phrase}"
        return f"{denied} because no {phrase.split(' ', 1)[1]} allows the {self.action} action"


@dataclass(frozen=True, slots=True)
class _Hit:
    layer: Layer
    policy: Policy
    statement: Statement
    level: Level


@dataclass(frozen=True, slots=True)
class _Scan:
    deny: _Hit | None
    allow: _Hit | None


def _scan(policies: Iterable[Policy], layer: Layer, request: Request, *, principals: bool) -> _Scan:
    """The first matching Deny, else the Allow that names the caller most directly."""
    best: _Hit | None = None
    none, direct = Level.NONE, Level.DIRECT
    for policy in policies:
        for statement in policy.statements:
            level = statement.principal_level(request.principal) if principals else direct
            if level == none or (statement.allow and best is not None and best.level >= level):
                continue
            if not statement.applies_to(request.action, request.resource, request.facts):
                continue
            hit = _Hit(layer, policy, statement, level)
            if not statement.allow:
                return _Scan(hit, None)
            best = hit
    return _Scan(None, best)


def evaluate(
    request: Request,
    *,
    identity_policies: Sequence[Policy] = (),
    resource_policy: Policy | None = None,
    resource_account: str | None = None,
    session_policies: Sequence[Policy] = (),
    permissions_boundary: Policy | None = None,
    endpoint_policy: Policy | None = None,
    grants: Sequence[Grant] = (),
    key_policy_authority: bool = False,
    trust_policy: bool = False,
) -> Decision:
    """Decide whether ``request`` is allowed.

    :param identity_policies: the caller's user, group and role policies (ignored for the
        root user, service principals and anonymous callers, which have none).
    :param resource_policy: the topic/queue policy, or the key policy in KMS mode.
    :param resource_account: the account owning the resource; defaults to the caller's.
    :param session_policies: session policies of an STS session; empty means none (no limit).
    :param permissions_boundary: the caller's permissions boundary, if any.
    :param endpoint_policy: the VPC endpoint policy the request came through, if any.
    :param grants: KMS grants on the key; each one that permits the request allows it.
    :param key_policy_authority: KMS mode: ``resource_policy`` is the authoritative key policy.
    :param trust_policy: role-trust mode (sts:AssumeRole): ``resource_policy`` must match the
        caller; where it only names the caller's account, an identity policy must allow too.
    :returns: the decision, with the deciding policy and statement.
    """
    who = request.principal
    resource_layer: Layer = "key" if key_policy_authority else "resource"
    scans: dict[Layer, _Scan] = {}
    if who.arn is not None and not who.is_root:
        scans["identity"] = _scan(identity_policies, "identity", request, principals=False)
        if permissions_boundary is not None:
            scans["boundary"] = _scan([permissions_boundary], "boundary", request, principals=False)
        if session_policies:
            scans["session"] = _scan(session_policies, "session", request, principals=False)
    if resource_policy is not None:
        scans[resource_layer] = _scan([resource_policy], resource_layer, request, principals=True)
    if endpoint_policy is not None:
        scans["endpoint"] = _scan([endpoint_policy], "endpoint", request, principals=True)
    for scan in scans.values():
        if scan.deny is not None:
            return _decided(request, "explicit_deny", scan.deny)
    if "endpoint" in scans and scans["endpoint"].allow is None:
        return _not_allowed(request, "endpoint")
    grant = next((grant for grant in grants if grant.permits(request)), None)
    if grant is not None:
        return _granted(request, grant)
    owner = resource_account or who.account
    return _authorize(request, scans, resource_layer, same_account=owner == who.account, trust=trust_policy)


def root_allowed(root_arn: str, action: str, resource: str) -> Decision:
    """The decision :func:`evaluate` reaches for an account's root user acting in its own
    account when no policy is in play (no resource, key, trust or endpoint policy): allowed,
    by the rule that the root may do anything in its own account unless a policy denies.
    A shortcut for callers that can see there is nothing to evaluate."""
    return Decision(True, "allowed", None, None, None, None, f"User: {root_arn}", action, resource)


def _authorize(
    request: Request, scans: Mapping[Layer, _Scan], resource_layer: Layer, *, same_account: bool, trust: bool = False
) -> Decision:
    who = request.principal
    resource = scans[resource_layer].allow if resource_layer in scans else None
    level = resource.level if resource is not None else Level.NONE
    kms = resource_layer == "key"
    if who.arn is None:  # service principals and anonymous callers: the resource policy alone
        return _allowed(request, resource) if level == Level.DIRECT else _not_allowed(request, resource_layer)
    if not same_account:
        return _cross_account(request, scans, resource, resource_layer)
    if who.is_root and not kms:
        return _allowed(request, None)
    if level == Level.DIRECT:
        return _allowed(request, resource)
    if who.is_root or ((kms or trust) and level == Level.NONE):
        # KMS: without a key-policy statement for the account, IAM policies do not count.
        # Role trust policies likewise: an identity policy alone never lets anyone assume a role.
        return _not_allowed(request, resource_layer)
    role_grant = resource if level == Level.ROLE else None
    return _identity_side(request, scans, role_grant)


def _cross_account(request: Request, scans: Mapping[Layer, _Scan], resource: _Hit | None, layer: Layer) -> Decision:
    # Both accounts must agree: any match in the resource policy (account delegation
    # included) on the owner's side, the caller's own identity side on the other.
    side = _allowed(request, None) if request.principal.is_root else _identity_side(request, scans, None)
    if not side.allowed:
        return side
    return _allowed(request, resource) if resource is not None else _not_allowed(request, layer)


def _identity_side(request: Request, scans: Mapping[Layer, _Scan], role_grant: _Hit | None) -> Decision:
    base = scans["identity"].allow or role_grant
    if base is None:
        return _not_allowed(request, "identity")
    for layer in ("boundary", "session"):
        if layer in scans and scans[layer].allow is None:
            return _not_allowed(request, layer)
    return _allowed(request, base)


def _decided(request: Request, kind: DecisionKind, hit: _Hit) -> Decision:
    statement = hit.statement
    return Decision(
        kind == "allowed",
        kind,
        hit.layer,
        hit.policy.name,
        statement.sid,
        statement.index,
        request.principal.describe(),
        request.action,
        request.resource,
    )


def _allowed(request: Request, hit: _Hit | None) -> Decision:
    if hit is not None:
        return _decided(request, "allowed", hit)
    return Decision(
        True,
        "allowed",
        None,
        None,
        None,
        None,
        request.principal.describe(),
        request.action,
        request.resource,
    )


def _granted(request: Request, grant: Grant) -> Decision:
    describe = request.principal.describe()
    return Decision(True, "allowed", "grant", grant.grant_id, None, None, describe, request.action, request.resource)


def _not_allowed(request: Request, layer: Layer) -> Decision:
    describe = request.principal.describe()
    return Decision(False, "implicit_deny", layer, None, None, None, describe, request.action, request.resource)
