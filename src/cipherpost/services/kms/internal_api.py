"""The internal API SNS and SQS call: :meth:`InternalApi.generate_data_key_for`,
:meth:`InternalApi.decrypt_for` and :meth:`InternalApi.resolve_key_arn`.

They run the same authorization as a client's request, raise the KMS error classes of
:mod:`.errors`, and are audited as KMS calls made on the caller's behalf.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cipherpost.context import Caller, RequestContext
from cipherpost.errors import AwsError
from cipherpost.services.base import Params
from cipherpost.services.kms.crypto_ops import SYMMETRIC_ONLY, CryptoOps
from cipherpost.services.kms.keyspecs import ENCRYPT_DECRYPT


@dataclass(frozen=True, slots=True)
class DataKeyResult:
    """A data key from :meth:`InternalApi.generate_data_key_for` (SNS and SQS use it)."""

    plaintext: bytes
    """The data key; keep it in memory only."""
    ciphertext_blob: bytes
    """The data key encrypted under the KMS key (store this with the data)."""
    key_arn: str
    key_id: str

    def __repr__(self) -> str:
        return f"DataKeyResult(key_arn={self.key_arn!r}, plaintext=<{len(self.plaintext)} bytes>)"


class InternalApi(CryptoOps):
    """The internal API SNS and SQS call (see the module docstring)."""

    async def generate_data_key_for(
        self,
        ctx: RequestContext,
        key_id: str,
        *,
        encryption_context: Mapping[str, str],
        caller: Caller | None = None,
    ) -> DataKeyResult:
        """GenerateDataKey (AES_256) on behalf of ``caller`` (default: the request's caller).

        The calling service sets ``ctx.invoked_by`` (``dataclasses.replace``) so that
        ``kms:ViaService`` applies; ``caller`` lets it act as its service principal.

        :raises AwsError: a KMS error class (NotFoundException, AccessDeniedException,
            DisabledException, KMSInvalidStateException, ...).
        """
        context = dict(encryption_context)
        request = {"KeyId": key_id, "EncryptionContext": context, "KeySpec": "AES_256"}
        try:
            key = await self.use_key(ctx, key_id, "GenerateDataKey", aliases=True, cross_account=True,
                                     caller=caller, encryption_context=context, usage=ENCRYPT_DECRYPT,
                                     specs=SYMMETRIC_ONLY)
            plaintext = secrets.token_bytes(32)
            blob = await self.seal(key, plaintext, context)
        except AwsError as error:
            self._audit(ctx, caller, "GenerateDataKey", request, None, error)
            raise
        self._audit(ctx, caller, "GenerateDataKey", request, {"KeyId": key.arn}, None)
        return DataKeyResult(plaintext=plaintext, ciphertext_blob=blob, key_arn=key.arn, key_id=key.key_id)

    async def decrypt_for(
        self,
        ctx: RequestContext,
        ciphertext_blob: bytes,
        *,
        encryption_context: Mapping[str, str],
        caller: Caller | None = None,
    ) -> bytes:
        """Decrypt on behalf of ``caller``; see :meth:`generate_data_key_for`."""
        context = dict(encryption_context)
        request = {"EncryptionContext": context, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        try:
            key, plaintext, _ = await self.open_blob(ctx, ciphertext_blob, context, operation_name="Decrypt",
                                                     caller=caller)
        except AwsError as error:
            self._audit(ctx, caller, "Decrypt", request, None, error)
            raise
        self._audit(ctx, caller, "Decrypt", {**request, "KeyId": key.arn}, {"KeyId": key.arn}, None)
        return plaintext

    def _audit(self, ctx: RequestContext, caller: Caller | None, operation: str, params: Params,
               result: Params | None, error: AwsError | None) -> None:
        """Record a KMS call another service made for a caller (CloudTrail shows invokedBy)."""
        trail = self.runtime.audit
        if trail is None:
            return
        event_ctx = replace(ctx, service="kms", operation=operation, caller=caller or ctx.caller, protocol="json")
        trail.record_call(event_ctx, params=params, result=result, error=error, event_time=datetime.now(UTC))

    async def resolve_key_arn(self, ctx: RequestContext, key_id: str) -> str:
        """The key ARN a ``KmsMasterKeyId`` names (creating alias/aws/sns or alias/aws/sqs on first use).

        :raises NotFoundException: no such key or alias.
        """
        key = await self.resolve(ctx, key_id, aliases=True, cross_account=True)
        return key.arn
