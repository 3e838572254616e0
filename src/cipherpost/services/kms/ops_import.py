"""Imported key material (keys of origin EXTERNAL): GetParametersForImport, ImportKeyMaterial,
DeleteImportedKeyMaterial.

"Importing key material for AWS KMS keys": GetParametersForImport makes an RSA wrapping key
pair and an import token, valid 24 hours; the customer wraps the material under the public
key; ImportKeyMaterial unwraps it and makes the key usable, until it expires (``ValidTo``)
or DeleteImportedKeyMaterial removes it. A key takes only the material it had before (its
ciphertexts are bound to it): a digest of the material, wrapped under the root keyring,
stays with the key. The wrapping private key and the material are wrapped under the root
keyring like any key material; neither is ever stored in plaintext.

Not implemented: rotation of imported material (``ImportType=NEW_KEY_MATERIAL``), SM2.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import datetime
from typing import Final

from cipherpost.context import RequestContext
from cipherpost.crypto import kms_import, kms_keypairs
from cipherpost.crypto.errors import InvalidCiphertext, UnwrapError
from cipherpost.errors import InternalFailure
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import (
    ConflictException,
    ExpiredImportTokenException,
    IncorrectKeyMaterialException,
    InvalidCiphertextException,
    InvalidImportTokenException,
    NotFoundException,
    UnsupportedOperationException,
    ValidationException,
)
from cipherpost.services.kms.keys import DAY_MS, EXTERNAL, KeyRecord, key_material_id, material_purpose, now_ms
from cipherpost.services.kms.keys import to_datetime as as_datetime
from cipherpost.services.kms.states import PENDING_IMPORT
from cipherpost.store import Step, UniqueViolation

EXPIRES: Final = "KEY_MATERIAL_EXPIRES"
DOES_NOT_EXPIRE: Final = "KEY_MATERIAL_DOES_NOT_EXPIRE"
#: An imported key has one material, in backing-key version 1.
_VERSION: Final = 1


def _external(key: KeyRecord) -> None:
    """:raises UnsupportedOperationException: a key whose material KMS made (AWS's message, as
    recorded by LocalStack's test_get_parameters_for_import_raises_for_non_external_kms_keys)."""
    if key.origin != EXTERNAL:
        raise UnsupportedOperationException(f"{key.arn} origin is {key.origin} which is not valid for this operation.")


def _token_purpose(key_id: str, token: str) -> str:
    return f"kms-import-wrapping-key:{key_id}:{token}"


def _digest_purpose(key_id: str) -> str:
    return f"kms-imported-material-digest:{key_id}"


def _expiration(params: Params, now: int) -> tuple[str, int | None]:
    """ImportKeyMaterial's ExpirationModel (default KEY_MATERIAL_EXPIRES) and ValidTo (epoch ms).

    :raises ValidationException: ValidTo missing for expiring material, given for material
        that does not expire, or not in the future.
    """
    model = str(params.get("ExpirationModel", EXPIRES))
    valid_to: datetime | None = params.get("ValidTo")
    if model == EXPIRES and valid_to is None:
        raise ValidationException("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES")
    if model == DOES_NOT_EXPIRE and valid_to is not None:
        raise ValidationException("A validTo date must not be set if the ExpirationModel is "
                                  "KEY_MATERIAL_DOES_NOT_EXPIRE")
    if valid_to is None:
        return model, None
    millis = int(valid_to.timestamp() * 1000)
    if millis <= now:
        raise ValidationException("The validTo date must be in the future.")
    return model, millis


class ImportOps(KmsCore):
    """Imported key material handlers."""

    @operation("GetParametersForImport")
    async def get_parameters_for_import(self, ctx: RequestContext, params: Params) -> Result:
        """GetParametersForImport: an RSA wrapping public key and an import token, valid 24 hours."""
        algorithm, spec = str(params["WrappingAlgorithm"]), str(params["WrappingKeySpec"])
        if algorithm not in kms_import.WRAPPING_ALGORITHMS or spec not in kms_keypairs.RSA_BITS:
            raise UnsupportedOperationException(f"WrappingAlgorithm {algorithm} with WrappingKeySpec {spec} is not "
                                                "supported by Cipherpost.")
        key = await self.use_key(ctx, params["KeyId"], "GetParametersForImport", check=_external)
        private_der, public_der = await asyncio.to_thread(kms_keypairs.generate_key_pair, spec)
        token = secrets.token_bytes(32)
        now = now_ms()
        valid_to = now + DAY_MS
        wrapped = self.keys.keyring.wrap(private_der, purpose=_token_purpose(key.key_id, token.hex()))
        await self.runtime.store.write([
            Step("kms_import_tokens_expire", {"key_id": key.key_id, "now": now}),
            Step("kms_import_token_insert", {"token": token.hex(), "key_id": key.key_id,
                                             "wrapping_algorithm": algorithm, "wrapping_key": wrapped,
                                             "valid_to": valid_to}),
        ])
        return {"KeyId": key.arn, "ImportToken": token, "PublicKey": public_der,
                "ParametersValidTo": as_datetime(valid_to)}

    async def _unwrap(self, key: KeyRecord, token: bytes, encrypted: bytes, now: int) -> bytes:
        """The material an import token's wrapping key unwraps, checked against the key spec.

        :raises InvalidImportTokenException, ExpiredImportTokenException, InvalidCiphertextException,
            IncorrectKeyMaterialException: in that order.
        """
        row = await self.runtime.store.fetch_one("kms_import_token_get", token=token.hex())
        if row is None or row["key_id"] != key.key_id:
            raise InvalidImportTokenException(f"The import token is not valid for {key.arn}.")
        if int(row["valid_to"]) < now:
            raise ExpiredImportTokenException
        try:
            wrapping_der = self.keys.keyring.unwrap(bytes(row["wrapping_key"]),
                                                    purpose=_token_purpose(key.key_id, token.hex()))
        except UnwrapError:
            raise InternalFailure("The wrapping key of this import token could not be unwrapped.") from None
        try:
            material = kms_import.unwrap_material(kms_keypairs.load_private_key(wrapping_der),
                                                  str(row["wrapping_algorithm"]), encrypted)
            return kms_import.check_material(key.key_spec, material)
        except InvalidCiphertext:
            raise InvalidCiphertextException from None
        except kms_import.IncorrectMaterial as exc:
            raise IncorrectKeyMaterialException(f"The key material is not valid for key spec {key.key_spec}: "
                                                f"{exc}.") from None

    def _check_same_material(self, key: KeyRecord, digest: bytes) -> bytes:
        """The wrapped digest to store; :raises IncorrectKeyMaterialException: the key had other material."""
        if key.material_digest is not None:
            try:
                previous = self.keys.keyring.unwrap(key.material_digest, purpose=_digest_purpose(key.key_id))
            except UnwrapError:
                raise InternalFailure(f"The material digest of {key.key_id} could not be unwrapped.") from None
            if not secrets.compare_digest(previous, digest):
                raise IncorrectKeyMaterialException(f"The key material is not the key material previously imported "
                                                    f"into {key.arn}.")
            return key.material_digest
        return self.keys.keyring.wrap(digest, purpose=_digest_purpose(key.key_id))

    @operation("ImportKeyMaterial")
    async def import_key_material(self, ctx: RequestContext, params: Params) -> Result:
        """ImportKeyMaterial: PendingImport -> Enabled with the unwrapped material; on a key that has
        material, the same material again (to change its expiration)."""
        now = now_ms()
        model, valid_to = _expiration(params, now)
        if params.get("ImportType", "EXISTING_KEY_MATERIAL") != "EXISTING_KEY_MATERIAL":
            raise UnsupportedOperationException("Rotating imported key material (ImportType NEW_KEY_MATERIAL) is "
                                                "not supported by Cipherpost.")
        key = await self.use_key(ctx, params["KeyId"], "ImportKeyMaterial", check=_external)
        material = await self._unwrap(key, bytes(params["ImportToken"]), bytes(params["EncryptedKeyMaterial"]), now)
        digest = self._check_same_material(key, hashlib.sha256(material).digest())
        steps = []
        if key.key_state == PENDING_IMPORT:
            wrapped = self.keys.keyring.wrap(material, purpose=material_purpose(key.key_id, _VERSION))
            steps.append(Step("kms_key_version_insert", {"key_id": key.key_id, "version": _VERSION,
                                                         "material": wrapped, "created_at": now,
                                                         "rotation_type": None}))
        steps.append(Step("kms_key_material_import", {"key_id": key.key_id, "expiration_model": model,
                                                      "valid_to": valid_to, "material_digest": digest,
                                                      "from_state": key.key_state}))
        try:
            results = await self.runtime.store.write(steps)
        except UniqueViolation:
            raise ConflictException(f"Key material is being imported into {key.arn}; retry the request.") from None
        if results[-1].rowcount == 0:
            raise ConflictException(f"The state of {key.arn} is changing; retry the request.")
        self.keys.forget(key.key_id)
        return {"KeyId": key.arn, "KeyMaterialId": key_material_id(key.key_id, _VERSION)}

    @operation("DeleteImportedKeyMaterial")
    async def delete_imported_key_material(self, ctx: RequestContext, params: Params) -> Result:
        """DeleteImportedKeyMaterial: the key goes back to PendingImport; its ciphertexts wait for
        the same material to be imported again."""
        key = await self.use_key(ctx, params["KeyId"], "DeleteImportedKeyMaterial", check=_external)
        material_id = key_material_id(key.key_id, _VERSION)
        if params.get("KeyMaterialId") not in (None, material_id):
            raise NotFoundException(f"Key material {params['KeyMaterialId']} does not exist for {key.arn}.")
        if not await self.keys.remove_material(key):
            raise ConflictException(f"The state of {key.arn} is changing; retry the request.")
        await self.key_unusable(key.key_id)
        return {"KeyId": key.arn, "KeyMaterialId": material_id}
