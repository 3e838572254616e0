"""Cryptographic handlers over the ciphertext-blob recipe (:mod:`cipherpost.crypto.kms_blob`):
Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom.

Decrypt needs no KeyId: the blob names its key and backing-key version, and Decrypt
authorizes against *that* key ("Decrypt": the KeyId parameter only makes KMS check that it is
the key the blob names). Plaintext and key material never leave memory, and are never logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from cipherpost.context import Caller, RequestContext
from cipherpost.crypto import kms_blob
from cipherpost.crypto.errors import InvalidCiphertext
from cipherpost.errors import AwsError
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import (
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from cipherpost.services.kms.grants import check_grant_tokens
from cipherpost.services.kms.keys import KeyRecord
from cipherpost.services.kms.validate import check_length, check_range

SYMMETRIC_DEFAULT: Final = "SYMMETRIC_DEFAULT"
#: "Encrypt": at most 4,096 bytes of plaintext.
MAX_PLAINTEXT: Final = 4096
_KEY_SPEC_BYTES: Final = {"AES_256": 32, "AES_128": 16}


@dataclass(frozen=True, slots=True)
class DataKeyResult:
    """A data key from :meth:`CryptoOps.generate_data_key_for` (SNS and SQS use it)."""

    plaintext: bytes
    """The data key; keep it in memory only."""
    ciphertext_blob: bytes
    """The data key encrypted under the KMS key (store this with the data)."""
    key_arn: str
    key_id: str

    def __repr__(self) -> str:
        return f"DataKeyResult(key_arn={self.key_arn!r}, plaintext=<{len(self.plaintext)} bytes>)"


def check_algorithm(params: Params, member: str = "EncryptionAlgorithm") -> None:
    """:raises InvalidKeyUsageException: an algorithm other than SYMMETRIC_DEFAULT (RSA ones
    need an asymmetric key)."""
    algorithm = params.get(member, SYMMETRIC_DEFAULT)
    if algorithm != SYMMETRIC_DEFAULT:
        raise InvalidKeyUsageException(f"The encryption algorithm {algorithm} is not compatible with a "
                                       f"{SYMMETRIC_DEFAULT} KMS key.")


def data_key_size(params: Params) -> int:
    """The data key length from exactly one of KeySpec and NumberOfBytes (1..1024).

    :raises ValidationException: neither or both given, or NumberOfBytes out of range.
    """
    spec, count = params.get("KeySpec"), params.get("NumberOfBytes")
    if (spec is None) == (count is None):
        raise ValidationException("Please specify either number of bytes or key spec.")
    if count is not None:
        return check_range(int(count), "NumberOfBytes", 1, 1024)
    return _KEY_SPEC_BYTES[str(spec)]


def check_unsupported(params: Params) -> None:
    """:raises UnsupportedOperationException: Nitro Enclaves ``Recipient`` (not supported)."""
    if "Recipient" in params:
        raise UnsupportedOperationException("The Recipient parameter (AWS Nitro Enclaves) is not supported.")


def _context(params: Params, member: str = "EncryptionContext") -> dict[str, str]:
    context: Mapping[str, str] = params.get(member) or {}
    return dict(context)


class CryptoOps(KmsCore):
    """Cryptographic handlers and the internal API SNS and SQS call."""

    async def seal(self, key: KeyRecord, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        """Encrypt under the key's current backing-key version."""
        material = await self.keys.material(key.key_id, key.current_version)
        if material is None:
            raise NotFoundException(f"Key '{key.arn}' does not exist")
        try:
            return kms_blob.encrypt_blob(key_id=key.key_id, version=key.current_version, key_material=material,
                                         plaintext=plaintext, context=context, installation_id=self.installation_id)
        except ValueError:
            raise ValidationException("The encryption context is not valid UTF-8 text.") from None

    async def open_blob(
        self,
        ctx: RequestContext,
        blob: bytes,
        context: Mapping[str, str],
        *,
        operation_name: str,
        key_id: str | None = None,
        caller: Caller | None = None,
        dry_run: bool = False,
    ) -> tuple[KeyRecord, bytes]:
        """Authorize and decrypt a ciphertext blob; returns the key that made it and the plaintext.

        :raises InvalidCiphertextException: malformed, foreign, tampered, wrong context.
        :raises IncorrectKeyException: ``key_id`` names another key than the blob's.
        :raises NotFoundException: the blob's key no longer exists (deleted).
        """
        try:
            header = kms_blob.peek_header(blob)
        except InvalidCiphertext:
            raise InvalidCiphertextException from None
        if header.installation_id != self.installation_id:
            raise InvalidCiphertextException
        if key_id is not None:
            named = await self.resolve(ctx, key_id, aliases=True, cross_account=True, caller=caller)
            if named.key_id != header.key_id:
                raise IncorrectKeyException
        key = await self.keys.get(header.key_id)
        if key is None:
            raise NotFoundException(f"The KMS key {header.key_id} that encrypted this ciphertext does not exist.")
        await self.check_key(ctx, key, operation_name, caller=caller, encryption_context=context, dry_run=dry_run)
        material = await self.keys.material(key.key_id, header.key_version)
        if material is None:
            raise InvalidCiphertextException
        try:
            plaintext = kms_blob.decrypt_blob(blob, key_material=material, context=context,
                                              installation_id=self.installation_id)
        except InvalidCiphertext:
            raise InvalidCiphertextException from None
        return key, plaintext

    @operation("Encrypt")
    async def encrypt(self, ctx: RequestContext, params: Params) -> Result:
        """Encrypt up to 4 KiB under a key (id, ARN, alias, alias ARN)."""
        plaintext: bytes = params["Plaintext"]
        check_length(plaintext, "Plaintext", 1, MAX_PLAINTEXT)
        check_algorithm(params)
        check_grant_tokens(params.get("GrantTokens"))
        context = _context(params)
        key = await self.use_key(ctx, params["KeyId"], "Encrypt", aliases=True, cross_account=True,
                                 encryption_context=context, dry_run=bool(params.get("DryRun")))
        blob = await self.seal(key, plaintext, context)
        return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": SYMMETRIC_DEFAULT}

    @operation("Decrypt")
    async def decrypt(self, ctx: RequestContext, params: Params) -> Result:
        """Decrypt a blob; the key comes from the blob, KeyId (optional) must name the same key."""
        blob = _blob(params, "CiphertextBlob")
        check_algorithm(params)
        check_unsupported(params)
        check_grant_tokens(params.get("GrantTokens"))
        key, plaintext = await self.open_blob(ctx, blob, _context(params), operation_name="Decrypt",
                                              key_id=params.get("KeyId"), dry_run=bool(params.get("DryRun")))
        return {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": SYMMETRIC_DEFAULT}

    @operation("ReEncrypt")
    async def re_encrypt(self, ctx: RequestContext, params: Params) -> Result:
        """ReEncrypt: kms:ReEncryptFrom on the source key, kms:ReEncryptTo on the destination."""
        blob = _blob(params, "CiphertextBlob")
        check_algorithm(params, "SourceEncryptionAlgorithm")
        check_algorithm(params, "DestinationEncryptionAlgorithm")
        check_grant_tokens(params.get("GrantTokens"))
        dry_run = bool(params.get("DryRun"))
        destination_context = _context(params, "DestinationEncryptionContext")
        destination = await self.use_key(ctx, params["DestinationKeyId"], "ReEncryptTo", aliases=True,
                                         cross_account=True, encryption_context=destination_context)
        source, plaintext = await self.open_blob(ctx, blob, _context(params, "SourceEncryptionContext"),
                                                 operation_name="ReEncryptFrom", key_id=params.get("SourceKeyId"),
                                                 dry_run=dry_run)
        new_blob = await self.seal(destination, plaintext, destination_context)
        return {
            "CiphertextBlob": new_blob,
            "SourceKeyId": source.arn,
            "KeyId": destination.arn,
            "SourceEncryptionAlgorithm": SYMMETRIC_DEFAULT,
            "DestinationEncryptionAlgorithm": SYMMETRIC_DEFAULT,
        }

    async def _data_key(
        self, ctx: RequestContext, params: Params, operation_name: str
    ) -> tuple[KeyRecord, bytes, bytes]:
        """Shared part of GenerateDataKey and GenerateDataKeyWithoutPlaintext."""
        size = data_key_size(params)
        check_unsupported(params)
        check_grant_tokens(params.get("GrantTokens"))
        context = _context(params)
        key = await self.use_key(ctx, params["KeyId"], operation_name, aliases=True, cross_account=True,
                                 encryption_context=context, dry_run=bool(params.get("DryRun")))
        plaintext = secrets.token_bytes(size)
        return key, plaintext, await self.seal(key, plaintext, context)

    @operation("GenerateDataKey")
    async def generate_data_key(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateDataKey: a random data key, in plaintext and encrypted under the KMS key."""
        key, plaintext, blob = await self._data_key(ctx, params, "GenerateDataKey")
        return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": key.arn}

    @operation("GenerateDataKeyWithoutPlaintext")
    async def generate_data_key_without_plaintext(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateDataKeyWithoutPlaintext: only the encrypted data key."""
        key, _, blob = await self._data_key(ctx, params, "GenerateDataKeyWithoutPlaintext")
        return {"CiphertextBlob": blob, "KeyId": key.arn}

    @operation("GenerateRandom")
    async def generate_random(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateRandom: 1..1024 random bytes (an IAM-policy permission; no key involved)."""
        if "CustomKeyStoreId" in params:
            raise UnsupportedOperationException("Custom key stores are not supported by Cipherpost.")
        check_unsupported(params)
        if params.get("NumberOfBytes") is None:
            raise ValidationException("NumberOfBytes is required.")
        count = check_range(int(params["NumberOfBytes"]), "NumberOfBytes", 1, 1024)
        await self.authorize_iam(ctx, "kms:GenerateRandom")
        return {"Plaintext": secrets.token_bytes(count)}

    # --- The internal API: SNS and SQS call KMS for their callers, through the same checks. ---

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
                                     caller=caller, encryption_context=context)
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
            key, plaintext = await self.open_blob(ctx, ciphertext_blob, context, operation_name="Decrypt",
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


def _blob(params: Params, member: str) -> bytes:
    """A required blob member the model leaves optional (``CiphertextBlob`` of Decrypt, ReEncrypt)."""
    blob = params.get(member)
    if blob is None:
        raise ValidationException(f"1 validation error detected: Value null at '{member[0].lower() + member[1:]}' "
                                  "failed to satisfy constraint: Member must not be null")
    check_length(blob, member, 1, 6144)
    return bytes(blob)
