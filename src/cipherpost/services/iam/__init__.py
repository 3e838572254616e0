"""IAM: users, groups, roles, access keys, inline and managed policies — and the source of
identity policies for every authorization decision."""

from __future__ import annotations

from cipherpost.services.iam.account import AccountHandlers
from cipherpost.services.iam.directory import IamPolicySource
from cipherpost.services.iam.entities import EntityHandlers
from cipherpost.services.iam.policies import PolicyHandlers

__all__ = ["IamPolicySource", "IamProvider"]


class IamProvider(EntityHandlers, PolicyHandlers, AccountHandlers):
    """The IAM API (Query protocol)."""
