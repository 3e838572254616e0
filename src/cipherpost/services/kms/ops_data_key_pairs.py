"""GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext.

"GenerateDataKeyPair": a fresh RSA or ECC key pair, its public key as DER
SubjectPublicKeyInfo, its private key as DER PKCS#8, and that private key encrypted under a
symmetric encryption KMS key, in our ciphertext-blob format, so Decrypt returns it.
"""

from __future__ import annotations

import asyncio

from cipherpost.context import RequestContext
from cipherpost.crypto import kms_keypairs
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms import keyspecs
from cipherpost.services.kms.crypto_ops import SYMMETRIC_ONLY, CryptoOps, check_unsupported, encryption_context
from cipherpost.services.kms.errors import UnsupportedOperationException
from cipherpost.services.kms.grants import check_grant_tokens
from cipherpost.services.kms.keys import current_material_id


class DataKeyPairOps(CryptoOps):
    """The data key pair handlers."""

    async def _data_key_pair(self, ctx: RequestContext, params: Params, operation_name: str) -> tuple[Result, bytes]:
        """The shared result (without PrivateKeyPlaintext) and the plaintext private key."""
        spec = str(params["KeyPairSpec"])
        if spec not in keyspecs.ASYMMETRIC_SPECS:
            raise UnsupportedOperationException(f"KeyPairSpec {spec} is not supported by Cipherpost.")
        check_unsupported(params)
        check_grant_tokens(params.get("GrantTokens"))
        context = encryption_context(params)
        key = await self.use_key(ctx, params["KeyId"], operation_name, aliases=True, cross_account=True,
                                 encryption_context=context, dry_run=bool(params.get("DryRun")),
                                 usage=keyspecs.ENCRYPT_DECRYPT, specs=SYMMETRIC_ONLY)
        # An RSA key pair takes up to seconds to generate: keep the event loop free.
        private_der, public = await asyncio.to_thread(kms_keypairs.generate_key_pair, spec)
        result: Result = {
            "PrivateKeyCiphertextBlob": await self.seal(key, private_der, context),
            "PublicKey": public,
            "KeyId": key.arn,
            "KeyPairSpec": spec,
            "KeyMaterialId": current_material_id(key),
        }
        return result, private_der

    @operation("GenerateDataKeyPair")
    async def generate_data_key_pair(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateDataKeyPair: the key pair, with the private key in plaintext and encrypted."""
        result, private_der = await self._data_key_pair(ctx, params, "GenerateDataKeyPair")
        return {**result, "PrivateKeyPlaintext": private_der}

    @operation("GenerateDataKeyPairWithoutPlaintext")
    async def generate_data_key_pair_without_plaintext(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateDataKeyPairWithoutPlaintext: the public key and the encrypted private key only."""
        result, _ = await self._data_key_pair(ctx, params, "GenerateDataKeyPairWithoutPlaintext")
        return result
