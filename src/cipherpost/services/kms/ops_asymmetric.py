"""Asymmetric-key handlers: GetPublicKey, Sign, Verify, DeriveSharedSecret, and the RSA
encryption helpers Encrypt, Decrypt and ReEncrypt use (:mod:`.crypto_ops`).

The private key never leaves this process: it is unwrapped from the root keyring
(:meth:`.keys.KeyStore.private_key`) and used through :mod:`cipherpost.crypto.kms_keypairs`.
"""

from __future__ import annotations

from typing import Final

from cipherpost.context import RequestContext
from cipherpost.crypto import kms_keypairs
from cipherpost.crypto.errors import InvalidCiphertext
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.kms import keyspecs
from cipherpost.services.kms.core import KmsCore
from cipherpost.services.kms.errors import (
    InvalidCiphertextException,
    InvalidKeyUsageException,
    KMSInvalidSignatureException,
    UnsupportedOperationException,
    ValidationException,
)
from cipherpost.services.kms.grants import check_grant_tokens
from cipherpost.services.kms.keys import KeyRecord
from cipherpost.services.kms.validate import check_length

#: "Sign": a RAW message is at most 4096 bytes.
MAX_MESSAGE: Final = 4096
_RAW: Final = "RAW"
_DIGEST: Final = "DIGEST"


def check_algorithm_for(key: KeyRecord, algorithm: str) -> None:
    """:raises InvalidKeyUsageException: ``algorithm`` is not one the key's spec and usage allow
    (AWS: "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.")."""
    allowed = keyspecs.algorithm_metadata(key.key_spec, key.key_usage)
    if not any(algorithm in algorithms for algorithms in allowed.values()):
        raise InvalidKeyUsageException(f"Algorithm {algorithm} is incompatible with key spec {key.key_spec}.")


def check_rsa_plaintext(key: KeyRecord, algorithm: str, plaintext: bytes) -> None:
    """:raises ValidationException: the plaintext is longer than RSAES-OAEP allows for the key
    (RSA_2048 with SHA-1: 214 bytes; with SHA-256: 190 bytes)."""
    limit = kms_keypairs.max_plaintext(kms_keypairs.RSA_BITS[key.key_spec], algorithm)
    if len(plaintext) > limit:
        raise ValidationException(f"Algorithm {algorithm} and key spec {key.key_spec} cannot encrypt data larger "
                                  f"than {limit} bytes.")


def _message(params: Params, algorithm: str) -> tuple[bytes, bool]:
    """The Message of Sign/Verify and whether it is a digest.

    :raises ValidationException: an empty or too long message, or a digest whose length is
        not the algorithm's digest length.
    """
    message = bytes(params["Message"])
    check_length(message, "Message", 1, MAX_MESSAGE)
    message_type = params.get("MessageType", _RAW)
    if message_type not in (_RAW, _DIGEST):
        raise UnsupportedOperationException(f"MessageType {message_type} is not supported by Cipherpost.")
    expected = kms_keypairs.digest_size(algorithm)
    # An algorithm no key here supports fails later, against the key (InvalidKeyUsageException).
    if message_type == _DIGEST and expected is not None and len(message) != expected:
        raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
    return message, message_type == _DIGEST


class AsymmetricOps(KmsCore):
    """Handlers and helpers for RSA and elliptic-curve keys."""

    async def rsa_encrypt(self, key: KeyRecord, algorithm: str, plaintext: bytes) -> bytes:
        """RSAES-OAEP under an RSA key (the caller checked usage, algorithm and size)."""
        private = await self.keys.private_key(key.key_id)
        return kms_keypairs.rsa_encrypt(private, algorithm, plaintext)

    async def rsa_decrypt(self, key: KeyRecord, algorithm: str, ciphertext: bytes) -> bytes:
        """:raises InvalidCiphertextException: not a ciphertext of this key and algorithm."""
        private = await self.keys.private_key(key.key_id)
        try:
            return kms_keypairs.rsa_decrypt(private, algorithm, ciphertext)
        except InvalidCiphertext:
            raise InvalidCiphertextException from None

    @operation("GetPublicKey")
    async def get_public_key(self, ctx: RequestContext, params: Params) -> Result:
        """GetPublicKey: the DER SubjectPublicKeyInfo of an RSA or ECC key, with its algorithms."""
        check_grant_tokens(params.get("GrantTokens"))
        key = await self.use_key(ctx, params["KeyId"], "GetPublicKey", aliases=True, cross_account=True)
        if key.key_spec not in keyspecs.ASYMMETRIC_SPECS:
            raise UnsupportedOperationException(f"{key.arn} key spec {key.key_spec} is not valid for GetPublicKey: "
                                                "only asymmetric keys have a public key.")
        private = await self.keys.private_key(key.key_id)
        return {
            "KeyId": key.arn,
            "PublicKey": kms_keypairs.public_key_der(private),
            "CustomerMasterKeySpec": key.key_spec,
            "KeySpec": key.key_spec,
            "KeyUsage": key.key_usage,
            **keyspecs.algorithm_metadata(key.key_spec, key.key_usage),
        }

    async def _signing_key(self, ctx: RequestContext, params: Params, operation_name: str) -> KeyRecord:
        algorithm = str(params["SigningAlgorithm"])
        check_grant_tokens(params.get("GrantTokens"))
        return await self.use_key(ctx, params["KeyId"], operation_name, aliases=True, cross_account=True,
                                  dry_run=bool(params.get("DryRun")), usage=keyspecs.SIGN_VERIFY,
                                  check=lambda key: check_algorithm_for(key, algorithm))

    @operation("Sign")
    async def sign(self, ctx: RequestContext, params: Params) -> Result:
        """Sign a message (RAW, hashed here) or its digest (DIGEST) with an asymmetric key."""
        algorithm = str(params["SigningAlgorithm"])
        message, prehashed = _message(params, algorithm)
        key = await self._signing_key(ctx, params, "Sign")
        private = await self.keys.private_key(key.key_id)
        signature = kms_keypairs.sign(private, algorithm, message, prehashed=prehashed)
        return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}

    @operation("Verify")
    async def verify(self, ctx: RequestContext, params: Params) -> Result:
        """Verify a signature; a signature that does not verify is KMSInvalidSignatureException."""
        algorithm = str(params["SigningAlgorithm"])
        message, prehashed = _message(params, algorithm)
        signature = bytes(params["Signature"])
        check_length(signature, "Signature", 1, 6144)
        key = await self._signing_key(ctx, params, "Verify")
        private = await self.keys.private_key(key.key_id)
        if not kms_keypairs.verify(private, algorithm, message, signature, prehashed=prehashed):
            raise KMSInvalidSignatureException
        return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}

    @operation("DeriveSharedSecret")
    async def derive_shared_secret(self, ctx: RequestContext, params: Params) -> Result:
        """DeriveSharedSecret: ECDH between a KEY_AGREEMENT key and the caller's public key."""
        if "Recipient" in params:
            raise UnsupportedOperationException("The Recipient parameter (AWS Nitro Enclaves) is not supported.")
        peer = bytes(params["PublicKey"])
        check_length(peer, "PublicKey", 1, 8192)
        check_grant_tokens(params.get("GrantTokens"))
        key = await self.use_key(ctx, params["KeyId"], "DeriveSharedSecret", aliases=True, cross_account=True,
                                 dry_run=bool(params.get("DryRun")), usage=keyspecs.KEY_AGREEMENT)
        private = await self.keys.private_key(key.key_id)
        try:
            secret = kms_keypairs.derive_shared_secret(private, peer)
        except ValueError:
            # AWS answers a malformed or wrong-curve public key with an empty-message ValidationException.
            raise ValidationException("") from None
        return {"KeyId": key.arn, "SharedSecret": secret, "KeyAgreementAlgorithm": params["KeyAgreementAlgorithm"],
                "KeyOrigin": key.origin}
