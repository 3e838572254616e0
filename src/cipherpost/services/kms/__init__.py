"""AWS KMS: keys, aliases, key policies, grants, rotation, envelope encryption.

Module map: ``provider`` (the provider class and its background task), ``core`` (resolve,
authorize, state checks), ``ops_*``/``crypto_ops`` (handlers, by concern), ``internal_api`` (what SNS and SQS call),
``keyspecs`` (key specs, usages and their algorithms), ``keys`` (records
and material), ``ids`` (KeyId and alias rules), ``states`` (the key state machine),
``policies`` (default and AWS-managed key policies), ``grants``, ``validate``, ``sweeper``,
``errors``.
"""

from __future__ import annotations

from cipherpost.services.kms.internal_api import DataKeyResult
from cipherpost.services.kms.provider import KmsProvider

__all__ = ["DataKeyResult", "KmsProvider"]
