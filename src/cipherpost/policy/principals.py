"""Who is asking (``Principal``) and whom a policy names (``PrincipalSpec``).

IAM User Guide, "AWS JSON policy elements: Principal": a 12-digit account id means that
account's root ARN, and naming an account *delegates* to it (its administrators still grant
its identities through identity-based policies); ``"*"`` and ``{"AWS": "*"}`` mean everyone,
anonymous callers and service principals included; a role ARN matches every session of the
role; wildcards inside a principal name are not allowed.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cipherpost.policy.errors import PolicySyntaxError

_ACCOUNT_ID = re.compile(r"\d{12}")
_IAM_ARN = re.compile(
    r"arn:aws[a-z-]*:(?:iam::(\d{12}):(?:root|(?:user|role|federated-user)/.+)"
    r"|sts::(\d{12}):(?:assumed-role/[^/]+/.+|federated-user/.+))"
)
_SESSION_ARN = re.compile(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+")
_PRINCIPAL_KEYS = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})


class Level(enum.IntEnum):
    """How directly a policy's Principal names the caller (IAM evaluation cares, see evaluate.py)."""

    NONE = 0
    ACCOUNT = 1
    """Named through its account: a delegation, not a grant to the identity itself."""
    ROLE = 2
    """Named through the role a session belongs to: limited by boundaries and session policies."""
    DIRECT = 3
    """Named by its own ARN, its service name, or ``*``."""


_NONE, _ACCOUNT, _ROLE, _DIRECT = Level.NONE, Level.ACCOUNT, Level.ROLE, Level.DIRECT  # hot-path aliases


def root_arn(account: str, partition: str = "aws") -> str:
    """The account root principal ARN, ``arn:aws:iam::ACCOUNT:root``."""
    return f"arn:{partition}:iam::{account}:root"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request; all ``None`` for an anonymous caller."""

    arn: str | None = None
    """User, role-session, federated-user or root ARN; ``None`` for anonymous and services."""
    account: str | None = None
    """The 12-digit account the principal belongs to."""
    service: str | None = None
    """Service principal name (``sns.amazonaws.com``) when an AWS service acts."""
    role_arn: str | None = None
    """For an assumed-role session, the role's ARN (``arn:aws:iam::ACCOUNT:role/NAME``)."""
    user_id: str | None = None
    """The unique id ``aws:userid`` reports (``AIDA...``, ``AROA...:session``)."""
    _root: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        root = self.arn is not None and self.account is not None and self.arn.endswith(f"::{self.account}:root")
        object.__setattr__(self, "_root", root)

    @classmethod
    def from_arn(cls, arn: str, *, user_id: str | None = None, role_arn: str | None = None) -> Principal:
        """A principal from its ARN; the account and, for a session, the role ARN are derived.

        A session ARN does not carry the role's path, so pass ``role_arn`` for a role with one.
        """
        parts = arn.split(":", 5)
        account = parts[4] if len(parts) == 6 and parts[4] else None
        session = _SESSION_ARN.fullmatch(arn)
        if role_arn is None and session is not None:
            role_arn = f"arn:{session.group(1)}:iam::{session.group(2)}:role/{session.group(3)}"
        return cls(arn=arn, account=account, role_arn=role_arn, user_id=user_id)

    @classmethod
    def for_service(cls, service: str) -> Principal:
        """An AWS service principal, e.g. ``sns.amazonaws.com`` acting on a caller's behalf."""
        return cls(service=service.lower())

    @property
    def is_anonymous(self) -> bool:
        """Neither an IAM identity nor a service."""
        return self.arn is None and self.service is None

    @property
    def is_root(self) -> bool:
        """Whether this is an account's root user."""
        return self._root

    @property
    def kind(self) -> str:
        """``aws:PrincipalType``: Account, User, AssumedRole, FederatedUser, Anonymous, Service."""
        if self.service is not None:
            return "Service"
        if self.arn is None:
            return "Anonymous"
        if self.is_root:
            return "Account"
        if self.role_arn is not None or ":assumed-role/" in self.arn:
            return "AssumedRole"
        return "FederatedUser" if ":federated-user/" in self.arn else "User"

    def describe(self) -> str:
        """How AWS names the caller at the start of an access-denied message."""
        if self.service is not None:
            return f"Service: {self.service}"
        return f"User: {self.arn or 'anonymous'}"


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """The value of a Principal or NotPrincipal element, normalized."""

    everyone: bool = False
    arns: frozenset[str] = frozenset()
    """User, role, session and federated-user ARNs named (never root ARNs)."""
    accounts: frozenset[str] = frozenset()
    """Accounts named by id or by root ARN."""
    services: frozenset[str] = frozenset()
    """Service principal names, lower-cased."""
    federated: frozenset[str] = frozenset()
    """Federated and canonical-user principals: parsed, never matched."""

    def level(self, who: Principal) -> Level:
        """How directly this Principal element names ``who`` (_NONE if not at all)."""
        if self.everyone:
            return _DIRECT
        if who.service is not None:
            return _DIRECT if who.service in self.services else _NONE
        if who.arn is None:
            return _NONE
        if who.arn in self.arns or (who.is_root and who.account in self.accounts):
            return _DIRECT
        if who.role_arn is not None and who.role_arn in self.arns:
            return _ROLE
        return _ACCOUNT if who.account in self.accounts else _NONE

    def excludes(self, who: Principal) -> bool:
        """NotPrincipal: whether ``who`` is exempt, i.e. every identity it acts as is named.

        IAM evaluates a session as its session ARN, its role and its account, and a user as
        itself and its account, so NotPrincipal exempts a caller only when all of those are
        listed ("AWS JSON policy elements: NotPrincipal").
        """
        if self.everyone:
            return True
        if who.service is not None:
            return who.service in self.services
        if who.arn is None or who.account is None:
            return False
        named_account = who.account in self.accounts
        if who.is_root:
            return named_account
        named_role = who.role_arn is None or who.role_arn in self.arns
        return named_account and named_role and who.arn in self.arns


def parse_principal(value: object, element: str) -> PrincipalSpec:
    """Parse a Principal/NotPrincipal element value.

    :raises PolicySyntaxError: for anything but ``"*"`` or a map of AWS/Service/Federated/
        CanonicalUser to a string or list of strings, or for an invalid AWS principal.
    """
    if value == "*":
        return PrincipalSpec(everyone=True)
    if not isinstance(value, Mapping) or not value:
        raise PolicySyntaxError(f'{element} must be "*" or a map such as {{"AWS": ...}}')
    unknown = set(value) - _PRINCIPAL_KEYS
    if unknown:
        raise PolicySyntaxError(f"Invalid principal type in {element}: {sorted(map(str, unknown))[0]}")
    aws = _strings(value.get("AWS", ()), element)
    arns, accounts = _aws_principals(aws)
    services = frozenset(name.lower() for name in _strings(value.get("Service", ()), element))
    federated = _strings(value.get("Federated", ()), element) + _strings(value.get("CanonicalUser", ()), element)
    return PrincipalSpec("*" in aws, frozenset(arns), frozenset(accounts), services, frozenset(federated))


def _strings(value: object, element: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) and item for item in items):
        raise PolicySyntaxError(f"{element} values must be non-empty strings or lists of them")
    return tuple(items)


def _aws_principals(values: Iterable[str]) -> tuple[set[str], set[str]]:
    arns: set[str] = set()
    accounts: set[str] = set()
    for value in values:
        if value == "*":
            continue
        if _ACCOUNT_ID.fullmatch(value):
            accounts.add(value)
        elif "*" in value or "?" in value or not (found := _IAM_ARN.fullmatch(value)):
            raise PolicySyntaxError(f"Invalid principal in policy: {value!r}")
        elif value.endswith(":root") and found.group(1):
            accounts.add(found.group(1))
        else:
            arns.add(value)
    return arns, accounts
