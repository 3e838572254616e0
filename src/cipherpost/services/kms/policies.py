"""Key policy documents: AWS's default key policy, the AWS-managed key policies, and validation.

AWS KMS Developer Guide, "Default key policy": a key created without a policy gets one
statement, "Enable IAM User Permissions", letting the account (its root) do ``kms:*``,
which delegates the key to the account's IAM policies. "AWS managed keys" have a fixed
policy their service writes: every principal of the account may use the key, but only
through that service (``kms:ViaService``) and only from that account
(``kms:CallerAccount``); the account may read the key's metadata directly. No statement
names the service principal itself — so SNS acting as ``sns.amazonaws.com`` cannot use
``alias/aws/sqs``, the classic SNS-to-encrypted-queue mistake.
"""

from __future__ import annotations

import json
from typing import Final

from cipherpost.policy import KMS_KEY_POLICY_MAX_BYTES, Policy, PolicySyntaxError, validate_policy
from cipherpost.services.kms.errors import LimitExceededException, MalformedPolicyDocumentException

DEFAULT_POLICY_NAME: Final = "default"

#: The AWS-managed aliases Cipherpost creates on first use -> the service that owns them.
MANAGED_ALIASES: Final = {"alias/aws/sns": "sns", "alias/aws/sqs": "sqs"}
_MANAGED_TITLES: Final = {
    "sns": ("Simple Notification Service (SNS)", "SNS"),
    "sqs": ("Simple Queue Service (SQS)", "SQS"),
}
_MANAGED_DESCRIPTIONS: Final = {
    "sns": "Default master key that protects my SNS topics when no other key is defined",
    "sqs": "Default key that protects my SQS messages when no other key is defined",
}


def _dump(document: dict[str, object]) -> str:
    """Pretty-printed as AWS returns key policies from GetKeyPolicy."""
    return json.dumps(document, indent=2)


def default_key_policy(account: str) -> str:
    """The policy CreateKey gives a key when the request has none."""
    return _dump(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


def managed_key_policy(service: str, account: str, region: str) -> str:
    """The fixed policy of the AWS-managed key of ``service`` (``sns`` or ``sqs``)."""
    title, short = _MANAGED_TITLES[service]
    return _dump(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service}-1",
            "Statement": [
                {
                    "Sid": f"Allow access through {title} for all principals in the account "
                    f"that are authorized to use {short}",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:CallerAccount": account,
                            "kms:ViaService": f"{service}.{region}.amazonaws.com",
                        }
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                    "Resource": "*",
                },
            ],
        }
    )


def managed_key_description(service: str) -> str:
    """The Description AWS gives the managed key of ``service``."""
    return _MANAGED_DESCRIPTIONS[service]


def check_key_policy(document: str) -> Policy:
    """Validate a key policy from CreateKey or PutKeyPolicy.

    :returns: the parsed policy.
    :raises LimitExceededException: larger than the 32 KB key policy quota ("AWS KMS quotas").
    :raises MalformedPolicyDocumentException: not valid JSON or not a valid key policy.
    """
    if len(document.encode("utf-8")) > KMS_KEY_POLICY_MAX_BYTES:
        raise LimitExceededException(f"Policy exceeds the maximum size of {KMS_KEY_POLICY_MAX_BYTES} bytes.")
    try:
        return validate_policy(document, kind="key")
    except PolicySyntaxError as exc:
        raise MalformedPolicyDocumentException(exc.message) from None
