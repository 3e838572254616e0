"""AWS managed policies that users attach by ARN (``arn:aws:iam::aws:policy/...``).

Only the policies that matter for SNS, SQS, KMS, IAM and STS are provided, each with the
permissions its name promises, written as data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AwsManagedPolicy:
    name: str
    path: str
    policy_id: str
    document: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::aws:policy{self.path}{self.name}"


def _document(actions: list[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    )


_TABLE: list[tuple[str, str, list[str]]] = [
    ("AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK", ["*"]),
    ("IAMFullAccess", "ANPAI7XKCFMBPM3QQRRVQ", ["iam:*"]),
    ("IAMReadOnlyAccess", "ANPAJKSO7NDY4T57MWDSQ", ["iam:Get*", "iam:List*"]),
    ("AmazonSNSFullAccess", "ANPAJWEKLCXXUNT2SOLSG", ["sns:*"]),
    ("AmazonSNSReadOnlyAccess", "ANPAIZGQCQTFOFPMHSB6W", ["sns:GetTopicAttributes", "sns:List*"]),
    ("AmazonSQSFullAccess", "ANPAI65L554VRJ33ECQS6", ["sqs:*"]),
    ("AmazonSQSReadOnlyAccess", "ANPAIUGSSQY362XGCM6KW", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                                                         "sqs:ListDeadLetterSourceQueues", "sqs:ListQueues",
                                                         "sqs:ListMessageMoveTasks", "sqs:ListQueueTags"]),
    ("AWSKeyManagementServicePowerUser", "ANPAJNPP7PPPPMJRV2SA4", [
        "kms:CreateAlias", "kms:CreateKey", "kms:DeleteAlias", "kms:Describe*", "kms:GenerateRandom",
        "kms:Get*", "kms:List*", "kms:TagResource", "kms:UntagResource"]),
]

AWS_MANAGED: dict[str, AwsManagedPolicy] = {
    policy.arn: policy
    for policy in (AwsManagedPolicy(name, "/", policy_id, _document(actions)) for name, policy_id, actions in _TABLE)
}
