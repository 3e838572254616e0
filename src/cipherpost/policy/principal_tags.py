"""Principal tags: which tags a principal carries, and the ``aws:PrincipalTag/<key>`` keys.

IAM User Guide, "Pass session tags in AWS STS" and "Controlling access to and for IAM
users and roles using tags": an IAM user carries its IAM tags; a role session carries the
role's IAM tags, except that a session tag (passed to AssumeRole, or inherited as a
transitive tag in a role chain) overrides a role tag with the same key. Tag keys compare
case-insensitively there (STS refuses two session tags whose keys differ only in case).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cipherpost.policy.request import ContextValue

#: Tags as (key, value) pairs, in the order they were given.
Tags = tuple[tuple[str, str], ...]

PRINCIPAL_TAG = "aws:PrincipalTag/"


def session_principal_tags(role_tags: Iterable[tuple[str, str]], session_tags: Iterable[tuple[str, str]]) -> Tags:
    """The tags of a role session: the role's tags, each overridden by a session tag whose key
    is the same ignoring case (the session tag's spelling of the key is kept)."""
    merged: dict[str, tuple[str, str]] = {key.lower(): (key, value) for key, value in role_tags}
    for key, value in session_tags:
        merged[key.lower()] = (key, value)
    return tuple(merged.values())


def principal_tag_keys(tags: Iterable[tuple[str, str]]) -> Mapping[str, ContextValue]:
    """``aws:PrincipalTag/<key>`` condition keys for a principal's tags (none for no tags)."""
    return {f"{PRINCIPAL_TAG}{key}": value for key, value in tags}
