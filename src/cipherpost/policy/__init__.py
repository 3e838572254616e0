"""The AWS access-policy language and its evaluator: pure logic, no I/O.

Typical use::

    policy = validate_policy(text, kind="resource")           # on Set*Attributes / PutKeyPolicy
    decision = evaluate(
        Request(Principal.from_arn(caller_arn), "sqs:SendMessage", queue_arn, {"aws:SourceArn": topic_arn}),
        identity_policies=[parse_policy(p) for p in caller_policies],
        resource_policy=parse_policy(queue_policy_text).named("queue-policy"),
        resource_account=queue_account,
    )
    if not decision.allowed:
        raise AccessDenied(decision.message())
"""

from __future__ import annotations

from cipherpost.policy.conditions import Condition
from cipherpost.policy.document import (
    IAM_GROUP_INLINE_MAX_CHARS,
    IAM_MANAGED_POLICY_MAX_CHARS,
    IAM_ROLE_INLINE_MAX_CHARS,
    IAM_TRUST_POLICY_MAX_CHARS,
    IAM_USER_INLINE_MAX_CHARS,
    KMS_KEY_POLICY_MAX_BYTES,
    STS_SESSION_POLICY_MAX_CHARS,
    VERSION_2008,
    VERSION_2012,
    Policy,
    PolicyKind,
    Statement,
    iam_policy_length,
    parse_policy,
    validate_policy,
)
from cipherpost.policy.errors import PolicySyntaxError
from cipherpost.policy.evaluate import Decision, DecisionKind, Grant, Layer, evaluate, root_allowed
from cipherpost.policy.principals import Principal, PrincipalSpec, root_arn
from cipherpost.policy.request import ContextValue, Request

__all__ = [
    "IAM_GROUP_INLINE_MAX_CHARS",
    "IAM_MANAGED_POLICY_MAX_CHARS",
    "IAM_ROLE_INLINE_MAX_CHARS",
    "IAM_TRUST_POLICY_MAX_CHARS",
    "IAM_USER_INLINE_MAX_CHARS",
    "KMS_KEY_POLICY_MAX_BYTES",
    "STS_SESSION_POLICY_MAX_CHARS",
    "VERSION_2008",
    "VERSION_2012",
    "Condition",
    "ContextValue",
    "Decision",
    "DecisionKind",
    "Grant",
    "Layer",
    "Policy",
    "PolicyKind",
    "PolicySyntaxError",
    "Principal",
    "PrincipalSpec",
    "Request",
    "Statement",
    "evaluate",
    "iam_policy_length",
    "parse_policy",
    "root_allowed",
    "root_arn",
    "validate_policy",
]
