"""AWS KMS: keys, aliases, key policies, grants, rotation, envelope encryption.

Module map: ``provider`` (the provider class and its background task), ``core`` (resolve,
authorize, state checks), ``ops_*``/``crypto_ops`` (handlers, by concern), ``keys`` (records
and material), ``ids`` (KeyId and alias rules), ``states`` (the key state machine),
``policies`` (default and AWS-managed key policies), ``grants``, ``validate``, ``sweeper``,
``errors``.
"""

from __future__ import annotations

from cipherpost.services.kms.crypto_ops import DataKeyResult
from cipherpost.services.kms.provider import KmsProvider

__all__ = ["DataKeyResult", "KmsProvider"]
