"""Cryptographic handlers over the ciphertext-blob recipe (:mod:`cipherpost.crypto.kms_blob`):
Encrypt, Decrypt, ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom.
Encrypt, Decrypt and ReEncrypt also take RSA encryption keys (RSAES-OAEP, :mod:`.ops_asymmetric`).

Decrypt needs no KeyId: the blob names its key and backing-key version, and Decrypt
authorizes against *that* key ("Decrypt": the KeyId parameter only makes KMS check that it is
the key the blob names). Plaintext and key material never leave memory, and are never logged.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Final

from cipherpost.context import Caller, RequestContext
from cipherpost.crypto import kms_blob
from cipherpost.crypto.errors import InvalidCiphertext
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import check_usage
from cipherpost.services.kms.errors import (
    INCORRECT_KEY,
    IncorrectKeyException,
    InvalidCiphertextException,
    InvalidKeyUsageException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from cipherpost.services.kms.grants import check_grant_tokens
from cipherpost.services.kms.keys import KeyRecord, current_material_id, key_material_id
from cipherpost.services.kms.keyspecs import ENCRYPT_DECRYPT, RSA_SPECS, SYMMETRIC_DEFAULT
from cipherpost.services.kms.ops_asymmetric import AsymmetricOps, check_algorithm_for, check_rsa_plaintext
from cipherpost.services.kms.validate import check_length, check_range

#: GenerateDataKey* need a symmetric encryption key.
SYMMETRIC_ONLY: Final = frozenset({SYMMETRIC_DEFAULT})
#: "Encrypt": at most 4,096 bytes of plaintext.
MAX_PLAINTEXT: Final = 4096
_KEY_SPEC_BYTES: Final = {"AES_256": 32, "AES_128": 16}


def _check_encrypt(key: KeyRecord, algorithm: str, plaintext: bytes) -> None:
    """The algorithm fits the key; an RSA plaintext fits the key size and algorithm."""
    check_algorithm_for(key, algorithm)
    if key.key_spec in RSA_SPECS:
        check_rsa_plaintext(key, algorithm, plaintext)


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


def encryption_context(params: Params, member: str = "EncryptionContext") -> dict[str, str]:
    """The encryption context member of a request (empty when absent)."""
    context: Mapping[str, str] = params.get(member) or {}
    return dict(context)


class CryptoOps(AsymmetricOps):
    """Encryption handlers (symmetric keys and RSA encryption keys)."""

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
        named: KeyRecord | None = None,
        caller: Caller | None = None,
        dry_run: bool = False,
    ) -> tuple[KeyRecord, bytes, int]:
        """Authorize and decrypt a ciphertext blob; returns the key that made it, the plaintext and
        the backing-key version that encrypted it.

        :raises InvalidCiphertextException: malformed, foreign, tampered, wrong context.
        :raises IncorrectKeyException: ``named`` (the request's KeyId, resolved) is another key
            than the blob's.
        :raises NotFoundException: the blob's key no longer exists (deleted).
        """
        try:
            header = kms_blob.peek_header(blob)
        except InvalidCiphertext:
            raise InvalidCiphertextException from None
        if header.installation_id != self.installation_id:
            raise InvalidCiphertextException
        if named is not None and named.key_id != header.key_id:
            raise IncorrectKeyException(INCORRECT_KEY)
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
        return key, plaintext, header.key_version

    @operation("Encrypt")
    async def encrypt(self, ctx: RequestContext, params: Params) -> Result:
        """Encrypt up to 4 KiB under a symmetric key, or a few hundred bytes under an RSA key."""
        plaintext: bytes = params["Plaintext"]
        check_length(plaintext, "Plaintext", 1, MAX_PLAINTEXT)
        algorithm = str(params.get("EncryptionAlgorithm", SYMMETRIC_DEFAULT))
        check_grant_tokens(params.get("GrantTokens"))
        context = encryption_context(params)
        key = await self.use_key(ctx, params["KeyId"], "Encrypt", aliases=True, cross_account=True,
                                 encryption_context=context, dry_run=bool(params.get("DryRun")),
                                 usage=ENCRYPT_DECRYPT, check=lambda key: _check_encrypt(key, algorithm, plaintext))
        return {"CiphertextBlob": await self._encrypt_under(key, algorithm, plaintext, context), "KeyId": key.arn,
                "EncryptionAlgorithm": algorithm}

    async def _encrypt_under(self, key: KeyRecord, algorithm: str, plaintext: bytes,
                             context: Mapping[str, str]) -> bytes:
        if key.key_spec == SYMMETRIC_DEFAULT:
            return await self.seal(key, plaintext, context)
        return await self.rsa_encrypt(key, algorithm, plaintext)

    async def _open_rsa(self, ctx: RequestContext, key: KeyRecord, blob: bytes, algorithm: str,
                        operation_name: str, dry_run: bool) -> bytes:
        """Authorize and decrypt an RSAES-OAEP ciphertext with the RSA key the request named."""
        await self.check_key(ctx, key, operation_name, dry_run=dry_run, usage=ENCRYPT_DECRYPT,
                             check=lambda key: check_algorithm_for(key, algorithm))
        return await self.rsa_decrypt(key, algorithm, blob)

    async def _decrypt_any(self, ctx: RequestContext, blob: bytes, context: Mapping[str, str], *, key_id: str | None,
                           algorithm: str, operation_name: str,
                           dry_run: bool) -> tuple[KeyRecord, bytes, str | None]:
        """Decrypt a ciphertext of either kind: an RSA ciphertext when ``key_id`` names an RSA key
        (AWS: asymmetric Decrypt needs KeyId), else one of our ciphertext blobs.

        :returns: the key, the plaintext, and the key material id (symmetric keys only).
        """
        named = None if key_id is None else await self.resolve(ctx, key_id, aliases=True, cross_account=True)
        if named is not None and named.key_spec in RSA_SPECS:
            return named, await self._open_rsa(ctx, named, blob, algorithm, operation_name, dry_run), None
        if algorithm != SYMMETRIC_DEFAULT:
            raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec "
                                           f"{SYMMETRIC_DEFAULT}.")
        key, plaintext, version = await self.open_blob(ctx, blob, context, operation_name=operation_name,
                                                       named=named, dry_run=dry_run)
        return key, plaintext, key_material_id(key.key_id, version)

    @operation("Decrypt")
    async def decrypt(self, ctx: RequestContext, params: Params) -> Result:
        """Decrypt: a blob names its key (KeyId optional, must name the same key); an RSA
        ciphertext needs KeyId and its EncryptionAlgorithm."""
        blob = _blob(params, "CiphertextBlob")
        algorithm = str(params.get("EncryptionAlgorithm", SYMMETRIC_DEFAULT))
        check_unsupported(params)
        check_grant_tokens(params.get("GrantTokens"))
        key, plaintext, material_id = await self._decrypt_any(
            ctx, blob, encryption_context(params), key_id=params.get("KeyId"), algorithm=algorithm,
            operation_name="Decrypt", dry_run=bool(params.get("DryRun")))
        result = {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
        return result if material_id is None else {**result, "KeyMaterialId": material_id}

    @operation("ReEncrypt")
    async def re_encrypt(self, ctx: RequestContext, params: Params) -> Result:
        """ReEncrypt: kms:ReEncryptFrom on the source key, kms:ReEncryptTo on the destination."""
        blob = _blob(params, "CiphertextBlob")
        source_algorithm = str(params.get("SourceEncryptionAlgorithm", SYMMETRIC_DEFAULT))
        destination_algorithm = str(params.get("DestinationEncryptionAlgorithm", SYMMETRIC_DEFAULT))
        check_grant_tokens(params.get("GrantTokens"))
        destination_context = encryption_context(params, "DestinationEncryptionContext")
        destination = await self.use_key(ctx, params["DestinationKeyId"], "ReEncryptTo", aliases=True,
                                         cross_account=True, encryption_context=destination_context)
        source, plaintext, source_material = await self._decrypt_any(
            ctx, blob, encryption_context(params, "SourceEncryptionContext"), key_id=params.get("SourceKeyId"),
            algorithm=source_algorithm, operation_name="ReEncryptFrom", dry_run=bool(params.get("DryRun")))
        # The destination's usage is checked once the source is known good: AWS answers a wrong
        # source key (IncorrectKeyException) first.
        check_usage(destination, "ReEncrypt", ENCRYPT_DECRYPT)
        _check_encrypt(destination, destination_algorithm, plaintext)
        result: Result = {
            "CiphertextBlob": await self._encrypt_under(destination, destination_algorithm, plaintext,
                                                        destination_context),
            "SourceKeyId": source.arn,
            "KeyId": destination.arn,
            "SourceEncryptionAlgorithm": source_algorithm,
            "DestinationEncryptionAlgorithm": destination_algorithm,
        }
        # Present only for symmetric keys (botocore's model documents both members so).
        if source_material is not None:
            result["SourceKeyMaterialId"] = source_material
        if destination.key_spec == SYMMETRIC_DEFAULT:
            result["DestinationKeyMaterialId"] = current_material_id(destination)
        return result

    async def _data_key(
        self, ctx: RequestContext, params: Params, operation_name: str
    ) -> tuple[KeyRecord, bytes, bytes]:
        """Shared part of GenerateDataKey and GenerateDataKeyWithoutPlaintext."""
        size = data_key_size(params)
        check_unsupported(params)
        check_grant_tokens(params.get("GrantTokens"))
        context = encryption_context(params)
        key = await self.use_key(ctx, params["KeyId"], operation_name, aliases=True, cross_account=True,
                                 encryption_context=context, dry_run=bool(params.get("DryRun")),
                                 usage=ENCRYPT_DECRYPT, specs=SYMMETRIC_ONLY)
        plaintext = secrets.token_bytes(size)
        return key, plaintext, await self.seal(key, plaintext, context)

    @operation("GenerateDataKey")
    async def generate_data_key(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateDataKey: a random data key, in plaintext and encrypted under the KMS key."""
        key, plaintext, blob = await self._data_key(ctx, params, "GenerateDataKey")
        return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": key.arn,
                "KeyMaterialId": current_material_id(key)}

    @operation("GenerateDataKeyWithoutPlaintext")
    async def generate_data_key_without_plaintext(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateDataKeyWithoutPlaintext: only the encrypted data key."""
        key, _, blob = await self._data_key(ctx, params, "GenerateDataKeyWithoutPlaintext")
        return {"CiphertextBlob": blob, "KeyId": key.arn, "KeyMaterialId": current_material_id(key)}

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


def _blob(params: Params, member: str) -> bytes:
    """A required blob member the model leaves optional (``CiphertextBlob`` of Decrypt, ReEncrypt)."""
    blob = params.get(member)
    if blob is None:
        raise ValidationException(f"1 validation error detected: Value null at '{member[0].lower() + member[1:]}' "
                                  "failed to satisfy constraint: Member must not be null")
    check_length(blob, member, 1, 6144)
    return bytes(blob)
