"""The one error the policy language raises."""

from __future__ import annotations


class PolicySyntaxError(Exception):
    """A policy document is not valid JSON or breaks the IAM policy grammar.

    ``message`` is a human sentence naming the problem. Services translate it at their own
    edge: IAM ``MalformedPolicyDocument``, SNS/SQS ``InvalidParameter`` /
    ``InvalidAttributeValue``, KMS ``MalformedPolicyDocumentException``.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)
