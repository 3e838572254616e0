"""The KMS provider: every handler (from the mixins) plus the background sweeper.

SNS and SQS use the internal API on this class — :meth:`generate_data_key_for`,
:meth:`decrypt_for`, :meth:`resolve_key_arn` (see :mod:`.internal_api`) — which runs the same
authorization as a client's request and raises the KMS error classes of :mod:`.errors`.
"""

from __future__ import annotations

import asyncio

from cipherpost.services.base import cancel_task
from cipherpost.services.kms.internal_api import InternalApi
from cipherpost.services.kms.ops_aliases import AliasOps
from cipherpost.services.kms.ops_data_key_pairs import DataKeyPairOps
from cipherpost.services.kms.ops_grants import GrantOps
from cipherpost.services.kms.ops_import import ImportOps
from cipherpost.services.kms.ops_keys import KeyOps
from cipherpost.services.kms.ops_mac import MacOps
from cipherpost.services.kms.ops_tags_rotation import TagRotationOps
from cipherpost.services.kms.sweeper import SweepSettings, run_sweeper


class KmsProvider(KeyOps, AliasOps, InternalApi, DataKeyPairOps, MacOps, GrantOps, TagRotationOps, ImportOps):
    """AWS KMS (JSON 1.1, ``TrentService``): symmetric, RSA, ECC and HMAC keys with real cryptography
    and enforced policy."""

    service = "kms"
    _sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the sweeper (due deletions, expiries of imported material, rotations)."""
        self._sweeper = asyncio.create_task(
            run_sweeper(self.keys, SweepSettings.from_env(), on_unusable=self.key_unusable), name="kms-sweeper")

    async def stop(self) -> None:
        """Stop the sweeper."""
        await cancel_task(self._sweeper)
        self._sweeper = None
