"""Cipherpost: self-hosted, AWS-wire-compatible SNS + SQS + KMS."""

__version__ = "0.1.0"
