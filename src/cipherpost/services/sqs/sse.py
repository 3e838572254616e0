"""Server-side encryption of message bodies: SSE-KMS (``KmsMasterKeyId``) and SSE-SQS.

"Encryption at rest" (SQS Developer Guide): a body is sealed with AES-256-GCM under a data
key (:mod:`cipherpost.crypto.envelope`); message attributes and metadata stay clear.

- SSE-KMS: the data key comes from KMS GenerateDataKey with the encryption context
  ``{"aws:sqs:arn": <queue ARN>}``, requested *as the sender* (``kms:ViaService`` =
  ``sqs.amazonaws.com``), and is reused for ``KmsDataKeyReusePeriodSeconds`` per (queue,
  principal, key): every principal's first use of a data key is authorized by KMS for
  that principal. A receiver's ``kms:Decrypt`` is checked the same way, once per
  (principal, wrapped key) per reuse period.
- SSE-SQS (``SqsManagedSseEnabled``): data keys are wrapped under a service-owned key, one
  per installation, itself wrapped under the root keyring and stored in ``meta``; no KMS
  authorization is involved, as in AWS.

Every stored body says how it was sealed (``body_encoding``) and under which queue ARN
(``sealed_arn``: a dead-letter move keeps it), so enabling SSE is never retroactive and
disabling it leaves sealed bodies readable. The MD5 of a sealed body is not stored (it
would confirm guesses at the plaintext); it is recomputed after decryption.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from cipherpost.context import Caller, RequestContext
from cipherpost.crypto import aead, envelope, kms_blob
from cipherpost.crypto.datakey_cache import DataKeyCache, GenerationKey
from cipherpost.crypto.envelope import DataKey
from cipherpost.crypto.errors import DecryptionError, InvalidCiphertext, InvalidEnvelope
from cipherpost.crypto.keyring import Keyring
from cipherpost.errors import AwsError, InternalFailure
from cipherpost.services.sqs.attributes import int_attribute
from cipherpost.services.sqs.errors import (
    KmsAccessDenied,
    KmsDisabled,
    KmsInvalidKeyUsage,
    KmsInvalidState,
    KmsNotFound,
    KmsThrottled,
)
from cipherpost.services.sqs.messages import PLAINTEXT
from cipherpost.services.sqs.queues import Queue
from cipherpost.store import Row, Store

#: ``body_encoding`` values besides ``PLAINTEXT``: an SSE-KMS envelope, an SSE-SQS envelope.
SSE_KMS: Final = "sse-kms-1"
SSE_SQS: Final = "sse-sqs-1"
#: The encryption context SQS uses with KMS ("Key management", SQS Developer Guide).
CONTEXT_KEY: Final = "aws:sqs:arn"
#: ``kms:ViaService`` of SQS's calls to KMS.
SQS_PRINCIPAL: Final = "sqs.amazonaws.com"
#: The "KMS key" of SSE-SQS data keys, in cache keys and invalidations.
MANAGED_KEY: Final = "sqs-managed-sse"
_META_KEY: Final = "sqs_managed_sse_key"
_WRAP_PURPOSE: Final = "sqs-managed-sse-key"
_DATA_KEY_AAD: Final = b"cipherpost sqs-managed-sse data key v1"

#: KMS error code -> the SQS error SQS answers with (botocore's SQS model shapes).
_KMS_TO_SQS: Final[Mapping[str, type[AwsError]]] = {
    "NotFoundException": KmsNotFound,
    "DisabledException": KmsDisabled,
    "KMSInvalidStateException": KmsInvalidState,
    "AccessDeniedException": KmsAccessDenied,
    "InvalidKeyUsageException": KmsInvalidKeyUsage,
    "IncorrectKeyException": KmsInvalidKeyUsage,
    "LimitExceededException": KmsThrottled,
    "ThrottlingException": KmsThrottled,
}


class DataKeyResultLike(Protocol):
    """What KMS's ``generate_data_key_for`` returns (``DataKeyResult``)."""

    @property
    def plaintext(self) -> bytes: ...

    @property
    def ciphertext_blob(self) -> bytes: ...

    @property
    def key_id(self) -> str: ...


class KmsApi(Protocol):
    """The part of the KMS provider's internal API SQS uses."""

    key_listeners: list[Callable[[str], Awaitable[None]]]
    """Called with a key id when KMS disables a key or schedules its deletion."""

    async def generate_data_key_for(self, ctx: RequestContext, key_id: str, *, encryption_context: Mapping[str, str],
                                    caller: Caller | None = None) -> DataKeyResultLike: ...

    async def decrypt_for(self, ctx: RequestContext, ciphertext_blob: bytes, *,
                          encryption_context: Mapping[str, str], caller: Caller | None = None) -> bytes: ...


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class Sealed:
    """A body in its stored form."""

    body: bytes
    encoding: str
    sealed_arn: str | None


def translate(error: AwsError) -> AwsError:
    """The SQS error for a KMS error (its message, which names action and key, is kept)."""
    cls = _KMS_TO_SQS.get(error.code)
    if cls is None:
        return InternalFailure(f"KMS failed: {error.code}")
    return cls(error.message)


def sse_kind(queue: Queue) -> str:
    """How new bodies of ``queue`` are stored: ``SSE_KMS``, ``SSE_SQS`` or ``PLAINTEXT``."""
    if queue.attributes.get("KmsMasterKeyId"):
        return SSE_KMS
    return SSE_SQS if queue.attributes.get("SqsManagedSseEnabled") == "true" else PLAINTEXT


class BodyCodec:
    """Seals bodies for storage and opens them for receivers (see the module docstring).

    :param kms: the KMS provider's internal API; None leaves SSE-KMS queues unusable.
    """

    def __init__(self, store: Store, keyring: Keyring, kms: KmsApi | None, cache: DataKeyCache | None = None) -> None:
        self.store = store
        self.keyring = keyring
        self.kms = kms
        self.cache = cache or DataKeyCache()
        self._service_key: bytes | None = None

    # --- sealing ---

    async def seal(self, ctx: RequestContext, queue: Queue, body: str, sender: Caller) -> Sealed:
        """The stored form of ``body`` sent by ``sender`` to ``queue``.

        :raises KmsNotFound, KmsDisabled, KmsInvalidState, KmsAccessDenied, ...: KMS refused.
        """
        kind = sse_kind(queue)
        if kind == PLAINTEXT:
            return Sealed(body.encode("utf-8"), PLAINTEXT, None)
        period = int_attribute(queue.attributes, "KmsDataKeyReusePeriodSeconds")
        if kind == SSE_KMS:
            data_key = await self._kms_data_key(ctx, queue, queue.attributes["KmsMasterKeyId"], sender, period)
        else:
            data_key = await self.cache.get_or_create(GenerationKey(queue.arn, MANAGED_KEY, MANAGED_KEY), period,
                                                      self._new_managed_key)
        return Sealed(envelope.seal_body(data_key, body.encode("utf-8"), resource_arn=queue.arn), kind, queue.arn)

    async def _kms_data_key(self, ctx: RequestContext, queue: Queue, key_id: str, sender: Caller,
                            period: int) -> DataKey:
        kms = self._kms()

        async def generate() -> DataKey:
            result = await kms.generate_data_key_for(dataclasses.replace(ctx, invoked_by=SQS_PRINCIPAL), key_id,
                                                     encryption_context={CONTEXT_KEY: queue.arn}, caller=sender)
            return DataKey(result.plaintext, result.ciphertext_blob, result.key_id)

        try:
            return await self.cache.get_or_create(GenerationKey(queue.arn, sender.arn, key_id), period, generate)
        except AwsError as error:
            raise translate(error) from None

    # --- opening ---

    async def open(self, ctx: RequestContext, queue: Queue, row: Row) -> str:
        """A stored body as text, decrypted for the receiving principal if it is sealed.

        :raises KmsNotFound, KmsDisabled, KmsInvalidState, KmsAccessDenied: KMS refused.
        :raises InternalFailure: the stored body does not open (corrupt or tampered).
        """
        encoding = str(row["body_encoding"])
        data = bytes(row["body"])
        if encoding == PLAINTEXT:
            return data.decode("utf-8")
        arn = str(row.get("sealed_arn") or queue.arn)
        period = int_attribute(queue.attributes, "KmsDataKeyReusePeriodSeconds")
        try:
            blob = envelope.read_wrapped_key(data)
            if encoding == SSE_KMS:
                data_key = await self._kms_decrypted(ctx, blob, arn, period)
            elif encoding == SSE_SQS:
                data_key = await self.cache.get_or_decrypt(blob, MANAGED_KEY, period,
                                                           lambda: self._open_managed_key(blob))
            else:
                raise InternalFailure(f"A stored message body has an unknown encoding {encoding!r}.")
            return envelope.open_with(data_key, data, resource_arn=arn).decode("utf-8")
        except (InvalidEnvelope, UnicodeError):
            raise InternalFailure("A stored message body could not be decrypted.") from None

    async def _kms_decrypted(self, ctx: RequestContext, blob: bytes, arn: str, period: int) -> DataKey:
        kms = self._kms()

        async def decrypt() -> DataKey:
            plaintext = await kms.decrypt_for(dataclasses.replace(ctx, invoked_by=SQS_PRINCIPAL), blob,
                                              encryption_context={CONTEXT_KEY: arn})
            try:
                key_id = kms_blob.peek_header(blob).key_id
            except InvalidCiphertext:
                raise InvalidEnvelope from None
            return DataKey(plaintext, blob, key_id)

        try:
            return await self.cache.get_or_decrypt(blob, ctx.caller.arn, period, decrypt)
        except AwsError as error:
            if error.code == "InvalidCiphertextException":
                raise InvalidEnvelope from None
            raise translate(error) from None

    def _kms(self) -> KmsApi:
        if self.kms is None:
            raise InternalFailure("SSE-KMS is not available: this server runs SQS without KMS.")
        return self.kms

    # --- the SSE-SQS service key ---

    async def _managed_key(self) -> bytes:
        """The installation's SSE-SQS key (created, wrapped, on first use; every node shares it)."""
        if self._service_key is None:
            wrapped = self.keyring.wrap(secrets.token_bytes(aead.KEY_SIZE), purpose=_WRAP_PURPOSE)
            await self.store.execute("meta_put_new", key=_META_KEY, value=base64.b64encode(wrapped).decode("ascii"))
            row = await self.store.fetch_one("meta_get", key=_META_KEY)
            assert row is not None
            self._service_key = self.keyring.unwrap(base64.b64decode(str(row["value"])), purpose=_WRAP_PURPOSE)
        return self._service_key

    async def _new_managed_key(self) -> DataKey:
        plaintext = secrets.token_bytes(envelope.DATA_KEY_SIZE)
        blob = aead.seal(await self._managed_key(), plaintext, _DATA_KEY_AAD)
        return DataKey(plaintext, blob, MANAGED_KEY)

    async def _open_managed_key(self, blob: bytes) -> DataKey:
        try:
            return DataKey(aead.unseal(await self._managed_key(), blob, _DATA_KEY_AAD), blob, MANAGED_KEY)
        except (DecryptionError, ValueError):
            raise InvalidEnvelope from None

    def invalidate_key(self, key_id: str) -> None:
        """A KMS key was disabled or scheduled for deletion: its cached data keys stop working."""
        self.cache.invalidate_key(key_id)
