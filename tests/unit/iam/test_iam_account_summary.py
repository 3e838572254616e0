"""GetAccountSummary's SummaryMap: botocore's keys exactly, counts where they belong, quotas as enforced."""

from __future__ import annotations

import botocore.session

from cipherpost.policy import IAM_MANAGED_POLICY_MAX_CHARS, IAM_TRUST_POLICY_MAX_CHARS
from cipherpost.services.iam.account import QUOTAS, summary_map
from cipherpost.services.iam.entities import MAX_ACCESS_KEYS
from cipherpost.services.iam.policies import MAX_VERSIONS

COUNTS = {"user_count": 3, "group_count": 2, "role_count": 4, "policy_count": 5, "attachment_count": 7,
          "root_key_count": 2}


def _model_keys() -> set[str]:
    model = botocore.session.get_session().get_service_model("iam")
    return set(model.shape_for("summaryKeyType").enum)


def test_keys_are_exactly_the_models() -> None:
    assert set(summary_map(COUNTS)) == _model_keys()


def test_counts_land_on_their_keys() -> None:
    summary = summary_map(COUNTS)
    assert (summary["Users"], summary["Groups"], summary["Roles"]) == (3, 2, 4)
    assert (summary["Policies"], summary["PolicyVersionsInUse"]) == (5, 7)
    assert summary["AccountAccessKeysPresent"] == 1
    assert summary["GlobalEndpointTokenVersion"] == 1
    for absent in ("AccountMFAEnabled", "MFADevices", "MFADevicesInUse", "InstanceProfiles", "Providers",
                   "ServerCertificates", "AccountSigningCertificatesPresent", "AccountPasswordPresent"):
        assert summary[absent] == 0


def test_no_root_keys_means_absent() -> None:
    assert summary_map({**COUNTS, "root_key_count": 0})["AccountAccessKeysPresent"] == 0


def test_enforced_quotas_come_from_their_constants() -> None:
    assert QUOTAS["AccessKeysPerUserQuota"] == MAX_ACCESS_KEYS == 2
    assert QUOTAS["VersionsPerPolicyQuota"] == MAX_VERSIONS == 5
    assert QUOTAS["PolicySizeQuota"] == IAM_MANAGED_POLICY_MAX_CHARS == 6144
    assert QUOTAS["AssumeRolePolicySizeQuota"] == IAM_TRUST_POLICY_MAX_CHARS
    assert (QUOTAS["UserPolicySizeQuota"], QUOTAS["GroupPolicySizeQuota"], QUOTAS["RolePolicySizeQuota"]) == (
        2048, 5120, 10240)
    assert (QUOTAS["UsersQuota"], QUOTAS["GroupsQuota"], QUOTAS["RolesQuota"], QUOTAS["PoliciesQuota"]) == (
        5000, 300, 1000, 1500)
