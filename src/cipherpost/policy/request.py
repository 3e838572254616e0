"""The facts a request is judged on: who, what action, which resource, which context keys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cipherpost.policy.principals import Principal
from cipherpost.policy.variables import Facts

#: A condition key's value as callers supply it: one string, several, or None for "absent".
ContextValue = str | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class Request:
    """One authorization question: may ``principal`` perform ``action`` on ``resource``?"""

    principal: Principal
    action: str
    """``service:Operation``, e.g. ``sns:Publish`` (compared case-insensitively)."""
    resource: str
    """The resource ARN, or ``*`` for actions that have none (``sqs:ListQueues``)."""
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    """Condition keys (``aws:SourceArn``, ``aws:SourceIp``, ``aws:CurrentTime``, ...)."""
    encryption_context: Mapping[str, str] | None = None
    """KMS encryption context; exposed as ``kms:EncryptionContext:KEY`` and checked by grants."""
    facts: Facts = field(init=False, repr=False, compare=False)
    """Lower-cased key -> values, including keys derived from the principal."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "facts", build_facts(self.principal, self.context, self.encryption_context))


def build_facts(
    principal: Principal, context: Mapping[str, ContextValue], encryption_context: Mapping[str, str] | None
) -> Facts:
    """Normalize caller-supplied keys and add the ones the principal and context imply.

    Keys the caller supplies win over derived ones. Derived keys follow "AWS global
    condition context keys": ``aws:PrincipalArn`` is the role ARN for a role session,
    ``aws:username`` exists only for IAM users.
    """
    facts: dict[str, tuple[str, ...]] = {}
    for key, value in _derived(principal, encryption_context).items():
        facts[key.lower()] = (value,) if isinstance(value, str) else value
    for key, raw in context.items():
        lowered = key.lower()
        if raw is None:
            facts.pop(lowered, None)
        else:
            facts[lowered] = (raw,) if isinstance(raw, str) else tuple(raw)
    return facts


def _derived(principal: Principal, encryption_context: Mapping[str, str] | None) -> dict[str, str | tuple[str, ...]]:
    derived: dict[str, str | tuple[str, ...]] = {
        "aws:PrincipalType": principal.kind,
        "aws:PrincipalIsAWSService": "true" if principal.service is not None else "false",
    }
    if principal.service is not None:
        derived["aws:PrincipalServiceName"] = principal.service
    if principal.arn is not None:
        derived["aws:PrincipalArn"] = principal.role_arn or principal.arn
    if principal.account is not None:
        derived["aws:PrincipalAccount"] = principal.account
    if principal.user_id is not None:
        derived["aws:userid"] = principal.user_id
    if principal.kind == "User" and principal.arn is not None:
        derived["aws:username"] = principal.arn.rsplit("/", 1)[-1]
    if encryption_context is not None:
        for name, value in encryption_context.items():
            derived[f"kms:EncryptionContext:{name}"] = value
        derived["kms:EncryptionContextKeys"] = tuple(encryption_context)
    return derived
