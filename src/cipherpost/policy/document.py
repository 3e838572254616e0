"""Policy documents: parsing, validation against the IAM grammar, and size limits.

IAM User Guide, "IAM JSON policy element reference" and "Grammar of the IAM JSON policy
language". A parsed ``Policy`` is immutable and shared: ``parse_policy`` is cached on the
document text, and every pattern in it is compiled once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from cipherpost.policy.conditions import Condition, parse_conditions
from cipherpost.policy.errors import PolicySyntaxError
from cipherpost.policy.matching import Matcher, SetTest, compile_any
from cipherpost.policy.principals import Level, Principal, PrincipalSpec, parse_principal
from cipherpost.policy.variables import Facts

#: "IAM and AWS STS quotas": IAM counts characters, ignoring white space.
IAM_MANAGED_POLICY_MAX_CHARS = 6144
IAM_USER_INLINE_MAX_CHARS = 2048
IAM_ROLE_INLINE_MAX_CHARS = 10240
IAM_GROUP_INLINE_MAX_CHARS = 5120
IAM_TRUST_POLICY_MAX_CHARS = 2048
STS_SESSION_POLICY_MAX_CHARS = 2048
#: "AWS KMS quotas": key policy document size, in bytes.
KMS_KEY_POLICY_MAX_BYTES = 32768

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
_VERSIONS = frozenset({VERSION_2012, VERSION_2008})
_TOP_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)

#: What a policy is for; decides which elements it must or must not have.
PolicyKind = Literal["identity", "resource", "trust", "key", "endpoint"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One parsed statement."""

    index: int
    """Position in the policy's Statement list (0-based)."""
    sid: str | None
    allow: bool
    """True for ``"Effect": "Allow"``, False for ``"Deny"``."""
    actions: tuple[Matcher, ...]
    not_action: bool
    """The patterns came from NotAction: the statement applies to every other action."""
    resources: tuple[Matcher, ...] | None
    """None when the statement has neither Resource nor NotResource (trust policies)."""
    not_resource: bool
    principal: PrincipalSpec | None
    not_principal: PrincipalSpec | None
    conditions: tuple[Condition, ...]
    _action_test: SetTest = field(init=False, repr=False, compare=False)
    _resource_test: SetTest | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        resources = None if self.resources is None else compile_any(self.resources)
        object.__setattr__(self, "_action_test", compile_any(self.actions))
        object.__setattr__(self, "_resource_test", resources)

    def applies_to(self, action: str, resource: str, facts: Facts) -> bool:
        """Action, resource and Condition all match (the Principal is checked separately)."""
        if self._action_test(action, facts) == self.not_action:
            return False
        if self._resource_test is not None and self._resource_test(resource, facts) == self.not_resource:
            return False
        return all(condition.holds(facts) for condition in self.conditions)

    def principal_level(self, who: Principal) -> Level:
        """How directly Principal/NotPrincipal names ``who``; NONE when neither is present."""
        if self.principal is not None:
            return self.principal.level(who)
        if self.not_principal is not None and not self.not_principal.excludes(who):
            return Level.DIRECT
        return Level.NONE


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed policy document."""

    version: str | None
    """``2012-10-17``, ``2008-10-17``, or None (absent: 2008 semantics)."""
    id: str | None
    statements: tuple[Statement, ...]
    name: str | None = None
    """Optional label for messages and audit (a policy ARN, ``inline:NAME``, a key id)."""
    reads_resource_tags: bool = False
    """Some element names ``aws:ResourceTag/...`` (so a decision needs the resource's tags)."""

    def named(self, name: str) -> Policy:
        """This policy with a label; cheap, the statements are shared."""
        return dataclasses.replace(self, name=name)


@functools.lru_cache(maxsize=2048)
def parse_policy(document: str) -> Policy:
    """Parse and check a policy document against the generic policy grammar.

    Element-presence rules that depend on where the policy is used (Principal required or
    forbidden, Resource required) are checked by ``validate_policy``.

    :param document: the JSON text.
    :returns: the parsed, precompiled policy (cached: the same text gives the same object).
    :raises PolicySyntaxError: naming the first problem found.
    """
    try:
        data = json.loads(document)
    except (ValueError, RecursionError):
        raise PolicySyntaxError("Syntax errors in policy: the document is not valid JSON") from None
    if not isinstance(data, dict):
        raise PolicySyntaxError("Syntax errors in policy: the document must be a JSON object")
    _no_unknown(data, _TOP_KEYS, "policy")
    version = _version(data.get("Version"))
    if "Statement" not in data:
        raise PolicySyntaxError("Missing required field Statement")
    raw = data["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise PolicySyntaxError("Statement must not be an empty list")
    variables = version == VERSION_2012
    statements = tuple(_statement(index, item, variables) for index, item in enumerate(items))
    # Read off the decoded document, so no JSON escape hides the key; case-insensitive, as keys are.
    reads_tags = "aws:resourcetag/" in json.dumps(data, ensure_ascii=False).lower()
    return Policy(version, _optional_str(data, "Id"), statements, reads_resource_tags=reads_tags)


def _version(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in _VERSIONS:
        raise PolicySyntaxError(f"The policy Version must be {VERSION_2012} or {VERSION_2008}, not {value!r}")
    return value


def _no_unknown(data: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PolicySyntaxError(f"Unknown field {unknown[0]} in {where}")


def _optional_str(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise PolicySyntaxError(f"{key} must be a string")
    return value


def _statement(index: int, raw: object, variables: bool) -> Statement:
    if not isinstance(raw, dict):
        raise PolicySyntaxError(f"Statement {index} must be a JSON object")
    _no_unknown(raw, _STATEMENT_KEYS, f"statement {index}")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicySyntaxError(f"Statement {index}: Effect must be Allow or Deny, not {effect!r}")
    actions, not_action = _pair(raw, "Action", index, required=True)
    resources, not_resource = _pair(raw, "Resource", index, required=False)
    principal, not_principal = _principals(raw, index)
    conditions = parse_conditions(raw["Condition"], variables=variables) if "Condition" in raw else ()
    return Statement(
        index,
        _optional_str(raw, "Sid"),
        effect == "Allow",
        tuple(_action(value, index) for value in actions or ()),
        not_action,
        None if resources is None else tuple(Matcher(value, variables=variables) for value in resources),
        not_resource,
        principal,
        not_principal,
        conditions,
    )


def _pair(raw: Mapping[str, object], element: str, index: int, *, required: bool) -> tuple[list[str] | None, bool]:
    negated = f"Not{element}"
    if element in raw and negated in raw:
        raise PolicySyntaxError(f"Statement {index} has both {element} and {negated}")
    if element not in raw and negated not in raw:
        if required:
            raise PolicySyntaxError(f"Policy statement {index} must contain actions (Action or NotAction)")
        return None, False
    key = element if element in raw else negated
    value = raw[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item.strip() for item in items):
        raise PolicySyntaxError(f"Statement {index}: {key} must be a non-empty string or list of strings")
    # Leading/trailing blanks are a copy-paste accident (the SNS encryption blog's identity
    # policy has one); they are stripped rather than made to match nothing.
    return [item.strip() for item in items], key == negated


def _action(value: str, index: int) -> Matcher:
    service, colon, name = value.partition(":")
    if value != "*" and not (colon and service and name):
        raise PolicySyntaxError(f"Statement {index}: action {value!r} must look like service:Action")
    return Matcher(value, ignore_case=True)


def _principals(raw: Mapping[str, object], index: int) -> tuple[PrincipalSpec | None, PrincipalSpec | None]:
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicySyntaxError(f"Statement {index} has both Principal and NotPrincipal")
    principal = parse_principal(raw["Principal"], "Principal") if "Principal" in raw else None
    not_principal = parse_principal(raw["NotPrincipal"], "NotPrincipal") if "NotPrincipal" in raw else None
    return principal, not_principal


def validate_policy(document: str, *, kind: PolicyKind) -> Policy:
    """Parse a document and check the element rules for where it will be used.

    - ``identity``: no Principal/NotPrincipal; Resource or NotResource required.
    - ``resource`` (topic/queue policy), ``key`` (KMS key policy), ``endpoint`` (VPC
      endpoint policy): Principal or NotPrincipal and Resource or NotResource required.
    - ``trust`` (role trust policy): Principal or NotPrincipal required, Resource forbidden.

    :raises PolicySyntaxError: naming the offending statement.
    """
    policy = parse_policy(document)
    for statement in policy.statements:
        _check_kind(statement, kind)
    if kind == "identity":
        _unique_sids(policy)
    return policy


def _check_kind(statement: Statement, kind: PolicyKind) -> None:
    index = statement.index
    has_principal = statement.principal is not None or statement.not_principal is not None
    if kind == "identity" and has_principal:
        raise PolicySyntaxError(f"Policy document should not specify a principal (statement {index})")
    if kind != "identity" and not has_principal:
        raise PolicySyntaxError(f"Missing required field Principal in statement {index}")
    if kind == "trust" and statement.resources is not None:
        raise PolicySyntaxError(f"Has prohibited field Resource in statement {index} of a trust policy")
    if kind != "trust" and statement.resources is None:
        raise PolicySyntaxError(f"Policy statement {index} must contain resources (Resource or NotResource)")


def _unique_sids(policy: Policy) -> None:
    sids = [statement.sid for statement in policy.statements if statement.sid is not None]
    if len(sids) != len(set(sids)):
        raise PolicySyntaxError("Statement IDs (SID) in a single policy must be unique")


def iam_policy_length(document: str) -> int:
    """The length IAM checks against its quotas: characters other than white space."""
    return sum(not char.isspace() for char in document)
