"""Naming rules: key ids, key ARNs, alias names, alias ARNs (pure functions, no I/O).

AWS KMS Developer Guide, "Key identifiers (KeyId)": a ``KeyId`` parameter takes a key id
(``1234abcd-12ab-34cd-56ef-1234567890ab``), a key ARN, and — for DescribeKey and the
cryptographic operations only — an alias name (``alias/ExampleAlias``) or an alias ARN.
A key id or alias name means "in the caller's account"; the ARN forms name an account, which
is how a key in another account is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cipherpost.services.kms.errors import (
    InvalidAliasNameException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)

KEY_ID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: A multi-Region key id: valid in form (AWS answers "Key '...' does not exist" for an unknown
#: one), though Cipherpost creates no multi-Region keys.
_MULTI_REGION_KEY_ID = re.compile(r"mrk-[0-9a-f]{32}")
_ARN = re.compile(r"arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)/(.+)")
#: botocore's model pattern for AliasName; a name outside it fails request validation.
_MODEL_ALIAS_PATTERN = re.compile(r"[a-zA-Z0-9:/_-]+")
#: What KMS itself accepts after the model check ("Aliases in AWS KMS": alias/ + name).
_ALIAS_PATTERN = re.compile(r"alias/[a-zA-Z0-9/_-]+")
ALIAS_PREFIX = "alias/"
RESERVED_ALIAS_PREFIX = "alias/aws/"
ALIAS_MAX_LENGTH = 256

RefKind = Literal["key_id", "key_arn", "alias", "alias_arn"]


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A parsed ``KeyId`` parameter."""

    kind: RefKind
    name: str
    """The key id (UUID) for key kinds, the alias name (``alias/...``) for alias kinds."""
    account: str | None = None
    """The account an ARN names; None means the caller's account."""
    region: str | None = None
    """The region an ARN names; None means this installation's region."""

    @property
    def is_alias(self) -> bool:
        """Whether the reference names an alias rather than a key."""
        return self.kind in ("alias", "alias_arn")


def key_arn(region: str, account: str, key_id: str) -> str:
    """``arn:aws:kms:REGION:ACCOUNT:key/KEY_ID``."""
    return f"arn:aws:kms:{region}:{account}:key/{key_id}"


def alias_arn(region: str, account: str, alias_name: str) -> str:
    """``arn:aws:kms:REGION:ACCOUNT:alias/NAME`` (``alias_name`` includes ``alias/``)."""
    return f"arn:aws:kms:{region}:{account}:{alias_name}"


def parse_key_ref(value: str, *, aliases: bool) -> KeyRef:
    """Parse a ``KeyId`` parameter.

    :param value: what the client sent.
    :param aliases: whether the operation accepts alias names and alias ARNs.
    :returns: the parsed reference (existence is not checked).
    :raises NotFoundException: the value is none of the accepted forms (AWS answers an
        unusable key identifier with NotFoundException, e.g. ``Invalid keyId 'foo'``).
    """
    if KEY_ID_PATTERN.fullmatch(value) or _MULTI_REGION_KEY_ID.fullmatch(value):
        return KeyRef("key_id", value)
    if value.startswith(ALIAS_PREFIX) and aliases:
        return KeyRef("alias", value)
    found = _ARN.fullmatch(value)
    if found is not None:
        _, region, account, kind, rest = found.groups()
        if kind == "key" and (KEY_ID_PATTERN.fullmatch(rest) or _MULTI_REGION_KEY_ID.fullmatch(rest)):
            return KeyRef("key_arn", rest, account, region)
        if kind == "alias" and aliases:
            return KeyRef("alias_arn", ALIAS_PREFIX + rest, account, region)
        if kind == "alias":
            raise NotFoundException(f"Invalid keyId '{value}': this operation does not accept an alias")
        raise NotFoundException(f"Invalid arn '{value}'")
    if value.startswith(ALIAS_PREFIX):
        raise NotFoundException(f"Invalid keyId '{value}': this operation does not accept an alias")
    raise NotFoundException(f"Invalid keyId '{value}'")


def check_alias_name(name: str, *, reserved_ok: bool = False) -> None:
    """Check an ``AliasName`` of CreateAlias, UpdateAlias or DeleteAlias.

    Order of checks, as AWS applies them: the model's length and pattern (request
    validation), the ``alias/`` prefix, KMS's own character rules, then the reserved
    ``alias/aws/`` prefix (AWS answers it with ``NotAuthorizedException``).

    :raises ValidationException: too long, outside the model pattern, or no ``alias/`` prefix.
    :raises InvalidAliasNameException: ``alias/`` followed by nothing or by a ``:``.
    :raises NotAuthorizedException: the name starts with ``alias/aws/`` and not ``reserved_ok``.
    """
    if not name or len(name) > ALIAS_MAX_LENGTH:
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: "
            f"Member must have length less than or equal to {ALIAS_MAX_LENGTH}"
        )
    if not _MODEL_ALIAS_PATTERN.fullmatch(name):
        raise ValidationException(
            f"1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )
    if not name.startswith(ALIAS_PREFIX):
        raise ValidationException('Alias must start with the prefix "alias/". Please see '
                                  'https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html')
    if not _ALIAS_PATTERN.fullmatch(name):
        raise InvalidAliasNameException(f"{name} contains invalid characters for an alias")
    if name.startswith(RESERVED_ALIAS_PREFIX) and not reserved_ok:
        raise NotAuthorizedException(f"Cannot use the reserved prefix {RESERVED_ALIAS_PREFIX} in alias {name}")
