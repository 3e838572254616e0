"""IAM naming rules, identifiers and ARNs (pure)."""

from __future__ import annotations

import re
import secrets

from cipherpost.services.iam.errors import ValidationError

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

#: Entity kinds, their ARN resource type and the unique-id prefix AWS uses.
KINDS: dict[str, tuple[str, str]] = {
    "user": ("user", "AIDA"),
    "group": ("group", "AGPA"),
    "role": ("role", "AROA"),
}

# IAM's documented character rules: names of users, groups and roles are [\w+=,.@-];
# paths are "/" or "/.../" of printable ASCII; policy names are [\w+=,.@-] too.
_NAME = re.compile(r"^[\w+=,.@-]+$", re.ASCII)
_PATH = re.compile(r"^/([\x21-\x7e]*/)?$")
_MAX_NAME = {"user": 64, "group": 128, "role": 64, "policy": 128}
_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)


def unique_id(prefix: str) -> str:
    """A 21-character IAM unique id (``AIDA…``, ``AROA…``, ``ANPA…``)."""
    return prefix + "".join(secrets.choice(_BASE32) for _ in range(17))


def check_name(kind: str, name: str | None, member: str) -> str:
    """Validate an IAM name; returns it.

    Raises:
        ValidationError: with IAM's constraint message naming the member.
    """
    limit = _MAX_NAME[kind]
    if not name or len(name) > limit or not _NAME.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {limit}"
        )
    return name


def check_path(path: str | None, member: str = "path") -> str:
    """Validate an IAM path (default ``/``)."""
    value = path or "/"
    if len(value) > 512 or not _PATH.match(value):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            "Member must begin and end with / and contain printable ASCII characters"
        )
    return value


def check_session_name(name: str) -> str:
    """Validate an STS RoleSessionName (2..64 of [\\w+=,.@-])."""
    if not _SESSION_NAME.match(name):
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64"
        )
    return name


def check_federated_name(name: str) -> str:
    """Validate a GetFederationToken Name (2..32 of [\\w+=,.@-])."""
    if not 2 <= len(name) <= 32 or not _NAME.match(name):
        if len(name) > 32:
            rule = "Member must have length less than or equal to 32"
        elif len(name) < 2:
            rule = "Member must have length greater than or equal to 2"
        else:
            rule = "Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        raise ValidationError(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: {rule}"
        )
    return name


def federated_user_arn(account_id: str, name: str) -> str:
    """The ARN of a federated user session (GetFederationToken)."""
    return f"arn:aws:sts::{account_id}:federated-user/{name}"


def entity_arn(account_id: str, kind: str, path: str, name: str) -> str:
    """``arn:aws:iam::ACCOUNT:user/path/name`` (and group/, role/)."""
    return f"arn:aws:iam::{account_id}:{KINDS[kind][0]}{path}{name}"


def policy_arn(account_id: str, path: str, name: str) -> str:
    """A customer managed policy's ARN."""
    return f"arn:aws:iam::{account_id}:policy{path}{name}"


def assumed_role_arn(account_id: str, role_name: str, session_name: str) -> str:
    """The ARN of a role session (the role's path is not part of it)."""
    return f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"


def parse_policy_arn(arn: str) -> tuple[str, str, str] | None:
    """(account, path, name) of a managed-policy ARN (account ``aws`` for AWS managed), or None."""
    match = re.match(r"^arn:aws:iam::(\d{12}|aws):policy(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]+)$", arn, re.ASCII)
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3)
