"""HMAC-key handlers: GenerateMac and VerifyMac (:mod:`cipherpost.crypto.kms_hmac`)."""

from __future__ import annotations

from typing import Final

from cipherpost.context import RequestContext
from cipherpost.crypto import kms_hmac
from cipherpost.errors import InternalFailure
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import KMSInvalidMacException
from cipherpost.services.kms.grants import check_grant_tokens
from cipherpost.services.kms.keys import KeyRecord
from cipherpost.services.kms.keyspecs import GENERATE_VERIFY_MAC
from cipherpost.services.kms.ops_asymmetric import check_algorithm_for
from cipherpost.services.kms.validate import check_length

#: "GenerateMac": the message is at most 4096 bytes.
MAX_MESSAGE: Final = 4096


class MacOps(KmsCore):
    """GenerateMac and VerifyMac."""

    async def _mac_key(self, ctx: RequestContext, params: Params, operation_name: str) -> tuple[KeyRecord, bytes]:
        """Validate the request, authorize, and return the HMAC key and its key bytes."""
        check_length(bytes(params["Message"]), "Message", 1, MAX_MESSAGE)
        algorithm = str(params["MacAlgorithm"])
        check_grant_tokens(params.get("GrantTokens"))
        key = await self.use_key(ctx, params["KeyId"], operation_name, aliases=True, cross_account=True,
                                 dry_run=bool(params.get("DryRun")), usage=GENERATE_VERIFY_MAC,
                                 check=lambda key: check_algorithm_for(key, algorithm))
        material = await self.keys.material(key.key_id, key.current_version)
        if material is None:
            raise InternalFailure(f"The key material of {key.key_id} is missing.")
        return key, material

    @operation("GenerateMac")
    async def generate_mac(self, ctx: RequestContext, params: Params) -> Result:
        """GenerateMac: the HMAC of a message under an HMAC key."""
        key, material = await self._mac_key(ctx, params, "GenerateMac")
        algorithm = str(params["MacAlgorithm"])
        mac = kms_hmac.generate_mac(material, algorithm, bytes(params["Message"]))
        return {"Mac": mac, "MacAlgorithm": algorithm, "KeyId": key.arn}

    @operation("VerifyMac")
    async def verify_mac(self, ctx: RequestContext, params: Params) -> Result:
        """VerifyMac: a MAC that does not verify is KMSInvalidMacException."""
        check_length(bytes(params["Mac"]), "Mac", 1, 6144)
        key, material = await self._mac_key(ctx, params, "VerifyMac")
        algorithm = str(params["MacAlgorithm"])
        if not kms_hmac.verify_mac(material, algorithm, bytes(params["Message"]), bytes(params["Mac"])):
            raise KMSInvalidMacException
        return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": algorithm}
