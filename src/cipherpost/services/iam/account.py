"""Account-level IAM operations: GetAccountSummary (usage counts and IAM quotas)."""

from __future__ import annotations

from cipherpost.auth.credentials import root_caller
from cipherpost.context import RequestContext
from cipherpost.policy import (
    IAM_GROUP_INLINE_MAX_CHARS,
    IAM_MANAGED_POLICY_MAX_CHARS,
    IAM_ROLE_INLINE_MAX_CHARS,
    IAM_TRUST_POLICY_MAX_CHARS,
    IAM_USER_INLINE_MAX_CHARS,
)
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.iam.common import IamBase
from cipherpost.services.iam.entities import MAX_ACCESS_KEYS
from cipherpost.services.iam.policies import MAX_VERSIONS
from cipherpost.store import Row

#: IAM's quotas as GetAccountSummary reports them: the limits Cipherpost enforces come from the
#: constants that enforce them; the rest are AWS's default quotas (reported, not enforced).
QUOTAS: dict[str, int] = {
    "UsersQuota": 5000,
    "GroupsQuota": 300,
    "RolesQuota": 1000,
    "PoliciesQuota": 1500,
    "PolicySizeQuota": IAM_MANAGED_POLICY_MAX_CHARS,
    "PolicyVersionsInUseQuota": 10000,
    "VersionsPerPolicyQuota": MAX_VERSIONS,
    "UserPolicySizeQuota": IAM_USER_INLINE_MAX_CHARS,
    "GroupPolicySizeQuota": IAM_GROUP_INLINE_MAX_CHARS,
    "RolePolicySizeQuota": IAM_ROLE_INLINE_MAX_CHARS,
    "AssumeRolePolicySizeQuota": IAM_TRUST_POLICY_MAX_CHARS,
    "GroupsPerUserQuota": 10,
    "AttachedPoliciesPerUserQuota": 10,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "AccessKeysPerUserQuota": MAX_ACCESS_KEYS,
    "SigningCertificatesPerUserQuota": 2,
    "ServerCertificatesQuota": 20,
    "InstanceProfilesQuota": 1000,
}

#: Entities Cipherpost does not have (MFA devices, instance profiles, identity providers, server
#: and signing certificates, a root password): always none.
ABSENT: dict[str, int] = {
    "AccountMFAEnabled": 0,
    "AccountPasswordPresent": 0,
    "AccountSigningCertificatesPresent": 0,
    "MFADevices": 0,
    "MFADevicesInUse": 0,
    "InstanceProfiles": 0,
    "Providers": 0,
    "ServerCertificates": 0,
}

#: Summary key -> column of the ``iam_account_summary`` query.
_COUNTED = {
    "Users": "user_count",
    "Groups": "group_count",
    "Roles": "role_count",
    "Policies": "policy_count",
    "PolicyVersionsInUse": "attachment_count",
}


def summary_map(counts: Row) -> dict[str, int]:
    """GetAccountSummary's ``SummaryMap`` from the ``iam_account_summary`` row of an account."""
    summary = {key: int(counts[column]) for key, column in _COUNTED.items()}
    summary["AccountAccessKeysPresent"] = 1 if int(counts["root_key_count"]) else 0
    summary["GlobalEndpointTokenVersion"] = 1
    return {**summary, **ABSENT, **QUOTAS}


class AccountHandlers(IamBase):
    """Operations about the caller's account as a whole."""

    @operation("GetAccountSummary")
    async def get_account_summary(self, ctx: RequestContext, params: Params) -> Result:
        await self.allow(ctx, "GetAccountSummary", "*")
        account = ctx.caller.account_id
        counts = await self.runtime.store.fetch_one("iam_account_summary", account_id=account,
                                                    root_arn=root_caller(account).arn)
        assert counts is not None  # a SELECT of aggregates always has its one row
        return {"SummaryMap": summary_map(counts)}
