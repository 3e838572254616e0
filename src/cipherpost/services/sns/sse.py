"""Server-side encryption of message bodies of topics with ``KmsMasterKeyId``.

Publishing (the blog's promises): SNS asks KMS for a data key on the *publisher's* behalf
(``kms:ViaService`` = sns), with encryption context ``{"aws:sns:topicArn": <topic>}``, and
reuses it for 5 minutes per (topic, publisher, key); the first use for a publisher also
checks its ``kms:Decrypt`` permission, since AWS requires both of a publisher. The key's
state is re-read at most once a second, so a disabled or deleted key stops publishing at
once although data keys are cached. Any KMS failure becomes SNS's ``KMS*`` error.

Delivering: SNS decrypts a stored body as its service principal ``sns.amazonaws.com``,
which the key policy must allow (as the blog's policy does). The AWS-managed key
``alias/aws/sns`` names no service principal; SNS uses it through the service on the
topic owner's behalf (``kms:CallerAccount`` + ``kms:ViaService``), as AWS does.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Final

from cipherpost.context import Caller, RequestContext
from cipherpost.crypto import envelope
from cipherpost.crypto.datakey_cache import DataKeyCache, GenerationKey
from cipherpost.crypto.errors import InvalidCiphertext
from cipherpost.crypto.kms_blob import peek_header
from cipherpost.errors import AwsError
from cipherpost.services.kms import KmsProvider
from cipherpost.services.kms.states import check_state
from cipherpost.services.sns.errors import KmsAccessDenied, KmsDisabled, KmsInvalidState, KmsNotFound, KmsThrottling

#: "Amazon SNS ... reuses this DEK to encrypt your published messages for 5 minutes".
REUSE_SECONDS: Final = 300.0
_STATE_TTL: Final = 1.0
SSE_ENCODING: Final = "sse-v1"
SERVICE_PRINCIPAL: Final = "sns.amazonaws.com"
_KMS_ERRORS: Final[dict[str, type[AwsError]]] = {
    "NotFoundException": KmsNotFound,
    "AccessDeniedException": KmsAccessDenied,
    "DisabledException": KmsDisabled,
    "KMSInvalidStateException": KmsInvalidState,
    "KeyUnavailableException": KmsInvalidState,
    "ThrottlingException": KmsThrottling,
    "LimitExceededException": KmsThrottling,
}


def sns_error(exc: AwsError) -> AwsError:
    """SNS's error for a KMS failure, keeping KMS's message as AWS does."""
    kind = _KMS_ERRORS.get(exc.code, KmsAccessDenied)
    return kind(f"{exc.message} (Service: AWSKMS; Status Code: 400; Error Code: {exc.code})")


def encryption_context(topic_arn: str) -> dict[str, str]:
    return {"aws:sns:topicArn": topic_arn}


def qualify_key_id(key_id: str, *, region: str, account_id: str) -> str:
    """A ``KmsMasterKeyId`` as an ARN in the topic's account (key ids and aliases are the owner's)."""
    if key_id.startswith("arn:"):
        return key_id
    if key_id.startswith("alias/"):
        return f"arn:aws:kms:{region}:{account_id}:{key_id}"
    return f"arn:aws:kms:{region}:{account_id}:key/{key_id}"


def via_sns(ctx: RequestContext) -> RequestContext:
    """``ctx`` as KMS sees a call SNS makes for the caller (kms:ViaService)."""
    return dataclasses.replace(ctx, invoked_by=SERVICE_PRINCIPAL)


class TopicEncryption:
    """Data keys for sealing (per publisher) and opening (as SNS) topic message bodies."""

    def __init__(self, kms: KmsProvider, region: str, cache: DataKeyCache | None = None) -> None:
        self.kms = kms
        self.region = region
        self.cache = cache or DataKeyCache()
        self._states: dict[str, tuple[float, str, str]] = {}
        listeners = getattr(kms, "key_listeners", None)
        if listeners is not None:
            listeners.append(self._key_unusable)

    async def _key_unusable(self, key_id: str) -> None:
        """KMS disabled a key or scheduled its deletion on this node: forget it at once
        (other nodes notice within the state check's second)."""
        bare = key_id.rpartition("/")[2]
        for ref, (_, _, arn) in list(self._states.items()):
            if arn.rpartition("/")[2] == bare:
                self._states.pop(ref, None)
        self.cache.invalidate_key(bare)

    async def _check_key(self, ctx: RequestContext, key_ref: str) -> None:
        """Resolve the key (as SNS for the caller) and check its state (cached for a second)."""
        seen = self._states.get(key_ref)
        now = time.monotonic()
        if seen is None or now - seen[0] > _STATE_TTL:
            key = await self.kms.resolve(via_sns(ctx), key_ref, aliases=True, cross_account=True)
            seen = (now, key.key_state, key.arn)
            self._states[key_ref] = seen
        check_state("GenerateDataKey", seen[1], seen[2])

    async def seal(self, ctx: RequestContext, topic_arn: str, account_id: str, key_id: str, body: bytes) -> bytes:
        """The stored form of ``body`` for an encrypted topic.

        :raises KmsAccessDenied, KmsDisabled, KmsInvalidState, KmsNotFound, KmsThrottling.
        """
        key_ref = qualify_key_id(key_id, region=self.region, account_id=account_id)
        context = encryption_context(topic_arn)

        async def generate() -> envelope.DataKey:
            via = via_sns(ctx)
            result = await self.kms.generate_data_key_for(via, key_ref, encryption_context=context,
                                                          caller=ctx.caller)
            await self.kms.decrypt_for(via, result.ciphertext_blob, encryption_context=context, caller=ctx.caller)
            return envelope.DataKey(result.plaintext, result.ciphertext_blob, result.key_arn)

        try:
            await self._check_key(ctx, key_ref)
            data_key = await self.cache.get_or_create(GenerationKey(topic_arn, ctx.caller.arn, key_ref),
                                                      REUSE_SECONDS, generate)
        except AwsError as exc:
            self._states.pop(key_ref, None)
            raise sns_error(exc) from None
        return envelope.seal_body(data_key, body, resource_arn=topic_arn)

    async def open(self, make_ctx: Callable[[], RequestContext], topic_arn: str, account_id: str,
                   sealed: bytes) -> bytes:
        """Decrypt a stored body as SNS (see the module docstring; ``make_ctx`` as for
        :meth:`read_key`).

        :raises AwsError: the KMS failure, as SNS's ``KMS*`` error.
        :raises InvalidEnvelope: the stored body does not open (tampered or foreign).
        """
        data_key = await self.read_key(make_ctx, topic_arn, account_id, sealed)
        return envelope.open_with(data_key, sealed, resource_arn=topic_arn)

    async def read_key(self, make_ctx: Callable[[], RequestContext], topic_arn: str, account_id: str,
                       sealed: bytes) -> envelope.DataKey:
        """The data key of a stored body, as SNS gets it: KMS Decrypt for ``sns.amazonaws.com``
        once per reuse period (``make_ctx`` makes the request context only then).

        :raises AwsError: the KMS failure, as SNS's ``KMS*`` error.
        :raises InvalidEnvelope: the stored form is malformed.
        """
        blob = envelope.read_wrapped_key(sealed)

        async def decrypt() -> envelope.DataKey:
            ctx = make_ctx()
            context = encryption_context(topic_arn)
            service = Caller.for_service(SERVICE_PRINCIPAL, account_id)
            try:
                plaintext = await self.kms.decrypt_for(ctx, blob, encryption_context=context, caller=service)
            except AwsError as exc:
                if exc.code != "AccessDeniedException" or not await self._managed(blob):
                    raise
                owner = Caller(account_id=account_id, arn=f"arn:aws:iam::{account_id}:root",
                               principal_id=account_id, kind="Root")
                plaintext = await self.kms.decrypt_for(via_sns(ctx), blob, encryption_context=context, caller=owner)
            return envelope.DataKey(plaintext, blob, _blob_key_id(blob))

        try:
            return await self.cache.get_or_decrypt(blob, SERVICE_PRINCIPAL, REUSE_SECONDS, decrypt)
        except AwsError as exc:
            raise sns_error(exc) from None

    async def _managed(self, blob: bytes) -> bool:
        key = await self.kms.keys.get(_blob_key_id(blob))
        return key is not None and key.is_managed


def _blob_key_id(blob: bytes) -> str:
    try:
        return peek_header(blob).key_id
    except InvalidCiphertext:
        return "unknown"
