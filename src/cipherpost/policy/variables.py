"""Policy variables: ``${aws:username}`` placeholders in Resource and Condition values.

IAM User Guide, "IAM policy elements: Variables and tags": variables are substituted only
when the policy's Version is 2012-10-17 (under 2008-10-17 or no Version, ``${...}`` is plain
text); ``${*}``, ``${?}`` and ``${$}`` stand for the literal characters; ``${key, 'default'}``
supplies a value when the key is absent from the request context; a variable whose key is
absent and has no default makes the element that contains it match nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

#: The request facts a policy is evaluated against: lower-cased condition key -> values.
Facts = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Lit:
    """Text taken literally: ``*`` and ``?`` in it are not wildcards."""

    text: str


@dataclass(frozen=True, slots=True)
class Var:
    """A ``${key}`` or ``${key, 'default'}`` placeholder."""

    key: str
    """Lower-cased condition key (keys are case-insensitive)."""
    default: str | None


#: Raw policy text (``*``/``?`` are wildcards where the element allows them), literal text, or a variable.
Token = str | Lit | Var
#: A token sequence after substitution: no variables left.
Resolved = tuple[str | Lit, ...]

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_BODY = re.compile(r"\s*([^\s,'}]+)\s*(?:,\s*'([^']*)'\s*)?")
_ESCAPES = frozenset({"*", "?", "$"})


def tokenize(text: str, *, variables: bool) -> tuple[Token, ...]:
    """Split policy text into raw text, escapes and variables.

    :param text: the policy element value as written.
    :param variables: whether the policy version substitutes variables (2012-10-17 only).
    :returns: a non-empty token tuple; ``(text,)`` when there is nothing to substitute.
    """
    if not variables or "${" not in text:
        return (text,)
    tokens: list[Token] = []
    pos = 0
    for found in _PLACEHOLDER.finditer(text):
        if found.start() > pos:
            tokens.append(text[pos : found.start()])
        tokens.append(_placeholder(found.group(1), found.group(0)))
        pos = found.end()
    if pos < len(text):
        tokens.append(text[pos:])
    return tuple(tokens)


def _placeholder(body: str, whole: str) -> Token:
    if body in _ESCAPES:
        return Lit(body)
    parsed = _BODY.fullmatch(body)
    if parsed is None:
        return whole  # not a well-formed variable: keep the text as written
    return Var(parsed.group(1).lower(), parsed.group(2))


def has_variables(tokens: tuple[Token, ...]) -> bool:
    """Whether any token needs the request context to be resolved."""
    return any(isinstance(token, Var) for token in tokens)


def resolve(tokens: tuple[Token, ...], facts: Facts) -> Resolved | None:
    """Substitute variables from ``facts``; ``None`` when one cannot be resolved.

    A multi-valued key cannot be used as a variable (IAM: "use only single-valued
    keys"), so it resolves like an absent key: to its default, else to nothing.
    """
    out: list[str | Lit] = []
    for token in tokens:
        if not isinstance(token, Var):
            out.append(token)
            continue
        values = facts.get(token.key)
        if values is not None and len(values) == 1:
            out.append(Lit(values[0]))
        elif token.default is not None:
            out.append(Lit(token.default))
        else:
            return None
    return tuple(out)


def joined(tokens: Resolved) -> str:
    """The resolved tokens as one literal string."""
    return "".join(token.text if isinstance(token, Lit) else token for token in tokens)
