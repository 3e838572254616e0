"""What every group of SNS handlers shares: the SQS and KMS providers it calls, topic and
subscription lookups, authorization against topic policies, and internal request contexts."""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any, Final

from cipherpost.config import Listener
from cipherpost.context import Caller, RequestContext, TlsInfo
from cipherpost.errors import AwsError
from cipherpost.ids import random_uuid
from cipherpost.runtime import Runtime
from cipherpost.services.authz import Authorizer
from cipherpost.services.base import Provider
from cipherpost.services.kms import KmsProvider
from cipherpost.services.sns.cache import TopicCache
from cipherpost.services.sns.errors import InvalidParameter, NotFound
from cipherpost.services.sns.payloads import Payloads
from cipherpost.services.sns.signing import SigningKey
from cipherpost.services.sns.sse import TopicEncryption
from cipherpost.services.sns.subscriptions import Subscription
from cipherpost.services.sns.topics import Topic, check_arn_elements, parse_topic_arn, require_topic_arn
from cipherpost.services.sqs import SqsProvider
from cipherpost.store import Step, StepResult

SERVICE_PRINCIPAL: Final = "sns.amazonaws.com"
SIGNING_KEY_FILE: Final = "sns-signing-key"
SIGNING_PROCESSES_ENV: Final = "CIPHERPOST_SNS_SIGNING_PROCESSES"
_INTERNAL_LISTENER: Final = Listener("internal", "sns-delivery", 0)


def now_ms() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp() * 1000)


def encode_token(after: str) -> str:
    """An opaque NextToken continuing after ``after``."""
    return base64.urlsafe_b64encode(after.encode()).decode()


def decode_token(token: str | None) -> str:
    """What a NextToken continues after.

    :raises InvalidParameter: not a token we issued.
    """
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidParameter("Invalid parameter: NextToken") from None


class SnsCore(Provider):
    """State and helpers shared by the SNS handler groups."""

    service = "sns"

    def __init__(self, runtime: Runtime, authz: Authorizer, *, sqs: SqsProvider, kms: KmsProvider) -> None:
        super().__init__(runtime, authz)
        self.sqs = sqs
        self.kms = kms
        self.region = runtime.settings.region
        self.base_url = runtime.settings.base_url
        self.store = runtime.store
        self.encryption = TopicEncryption(kms, self.region)
        self.topics = TopicCache(runtime.store)
        #: Publish puts messages in SQS queues itself (:mod:`.publish_ops`); off on API-only nodes.
        self.direct_delivery = True
        self.payloads = Payloads(self.signing_key, base_url=self.base_url, signing_cert_url=self.signing_cert_url())
        self.wake = asyncio.Event()
        self._signing_key: SigningKey | None = None
        self._signing_lock = asyncio.Lock()

    # --- identities and contexts ---------------------------------------------------------

    def service_context(self, account_id: str, operation: str) -> RequestContext:
        """A request context for SNS acting as ``sns.amazonaws.com`` (deliveries)."""
        return RequestContext(
            request_id=random_uuid(), received_at=dt.datetime.now(dt.UTC), region=self.region, service="sns",
            operation=operation, caller=Caller.for_service(SERVICE_PRINCIPAL, account_id),
            listener=_INTERNAL_LISTENER, source_ip=None, tls=TlsInfo("TLSv1.3"), invoked_by=None)

    async def signing_key(self) -> SigningKey:
        """The installation's signing key, loaded (or created) once, off the event loop, with
        its signing processes (``CIPHERPOST_SNS_SIGNING_PROCESSES``, default 1; 0 signs in
        threads) started."""
        if self._signing_key is None:
            async with self._signing_lock:
                if self._signing_key is None:
                    host = _host_of(self.base_url)
                    key = await asyncio.to_thread(
                        SigningKey.load_or_create, self.runtime.settings.data_dir / SIGNING_KEY_FILE,
                        self.runtime.keyring, subject_host=host)
                    key.use_processes(env_int(SIGNING_PROCESSES_ENV, 1))
                    await key.start()
                    self._signing_key = key
        return self._signing_key

    async def open_as_sns(self, topic: Topic, sealed: bytes) -> bytes:
        """A stored body of an encrypted topic, decrypted as ``sns.amazonaws.com`` (what
        delivery needs: the topic key's policy must let SNS decrypt, as in AWS).

        :raises AwsError: SNS's ``KMS*`` error. :raises InvalidEnvelope: it does not open.
        """
        return await self.encryption.open(self._as_sns(topic), topic.arn, topic.account_id, sealed)

    async def check_sns_reads(self, topic: Topic, sealed: bytes) -> None:
        """That SNS could decrypt a body it sealed for an encrypted topic (what delivery needs),
        without decrypting it: the data key is fetched as for :meth:`open_as_sns`.

        :raises AwsError: SNS's ``KMS*`` error. :raises InvalidEnvelope: malformed.
        """
        await self.encryption.read_key(self._as_sns(topic), topic.arn, topic.account_id, sealed)

    def _as_sns(self, topic: Topic) -> Callable[[], RequestContext]:
        """Makes SNS's request context for the topic's KMS calls (only when KMS is called)."""
        return lambda: self.service_context(topic.account_id, "Decrypt")

    async def certificate_pem(self) -> bytes:
        """The PEM certificate served at every ``SigningCertURL``."""
        return (await self.signing_key()).cert_pem

    async def close_signing_key(self) -> None:
        """Stop the signing key's processes (the server is stopping)."""
        if self._signing_key is not None:
            await self._signing_key.close()

    def signing_cert_url(self) -> str:
        return f"{self.base_url}/SimpleNotificationService-{self.runtime.installation_id}.pem"

    # --- topics ----------------------------------------------------------------------------

    async def find_topic(self, arn: str, *, cached: bool = False) -> Topic | None:
        """The topic ``arn`` names, or None; ``cached``: as :mod:`.cache` holds it (hot paths)."""
        if cached:
            return await self.topics.topic(arn)
        row = await self.store.fetch_one("sns_topic_get", topic_arn=arn)
        return Topic.from_row(row) if row else None

    async def topic_for(self, ctx: RequestContext, arn: object, action: str, *, parameter: str = "TopicArn",
                        cached: bool = False) -> Topic:
        """The topic ``arn`` names, once the caller may perform ``sns:<action>`` on it.

        :raises InvalidParameter: not a topic ARN (:func:`.topics.require_topic_arn`).
        :raises NotFound: no such topic.
        :raises AuthorizationError: the policies do not allow the caller.
        """
        require_topic_arn(arn, parameter)
        topic = await self.find_topic(str(arn), cached=cached)
        if topic is None or parse_topic_arn(topic.arn) is None:
            raise NotFound("Topic does not exist")
        await self.authorize_topic(ctx, topic, action)
        return topic

    async def authorize_topic(self, ctx: RequestContext, topic: Topic, action: str) -> None:
        decision = await self.authz.decide(ctx, f"sns:{action}", topic.arn, resource_policy=topic.policy,
                                           resource_account=topic.account_id, resource_tags=topic.tags)
        self.authz.enforce(ctx, decision)

    async def authorize_account(self, ctx: RequestContext, action: str, resource: str) -> None:
        """An action on the caller's own account (CreateTopic, ListTopics, ListSubscriptions)."""
        decision = await self.authz.decide(ctx, f"sns:{action}", resource, resource_account=ctx.caller.account_id)
        self.authz.enforce(ctx, decision)

    # --- subscriptions ---------------------------------------------------------------------

    async def find_subscription(self, arn: str, *, cached: bool = False) -> Subscription | None:
        """The subscription ``arn`` names, or None; ``cached``: as :mod:`.cache` holds it."""
        if cached:
            return await self.topics.subscription(arn)
        row = await self.store.fetch_one("sns_subscription_get", subscription_arn=arn)
        return Subscription.from_row(row) if row else None

    async def write_topic(self, topic_arn: str, steps: list[Step]) -> list[StepResult]:
        """Change a topic or its subscriptions: one store write, then every node forgets the topic."""
        try:
            return await self.store.write(steps)
        finally:
            self.topics.changed(topic_arn)

    async def subscription_for(self, ctx: RequestContext, arn: object, action: str) -> tuple[Subscription, Topic]:
        """The subscription ``arn`` names and its topic, for its owner or the topic's.

        :raises InvalidParameter: not a subscription ARN (:func:`check_subscription_arn`).
        :raises NotFound: no such subscription. :raises AuthorizationError.
        """
        subscription = await self.find_subscription(check_subscription_arn(arn))
        if subscription is None:
            raise NotFound("Subscription does not exist")
        topic = await self.find_topic(subscription.topic_arn)
        if topic is None:
            raise NotFound("Subscription does not exist")
        await self.authorize_subscription(ctx, subscription.owner_account, topic, action)
        return subscription, topic

    async def authorize_subscription(self, ctx: RequestContext, owner_account: str, topic: Topic,
                                     action: str) -> None:
        """A subscription's owner in another account than the topic's acts on its own
        subscription under its own policies; anyone else under the topic's policy."""
        if ctx.caller.account_id == owner_account and ctx.caller.account_id != topic.account_id:
            decision = await self.authz.decide(ctx, f"sns:{action}", topic.arn, resource_account=owner_account)
            self.authz.enforce(ctx, decision)
        else:
            await self.authorize_topic(ctx, topic, action)

    def notify_worker(self) -> None:
        """Wake this node's delivery worker (other nodes poll)."""
        self.wake.set()


def check_subscription_arn(arn: object) -> str:
    """``arn`` once it is shaped as a subscription ARN (a topic ARN and an id).

    :raises InvalidParameter: AWS's texts: fewer than six elements
        (:func:`.topics.check_arn_elements`), ``Invalid parameter: SubscriptionId`` for a topic
        ARN without an id, else ``Invalid parameter: SubscriptionArn``.
    """
    text = check_arn_elements(arn, "SubscriptionArn")
    if len(text.split(":")) == 6:
        raise InvalidParameter("Invalid parameter: SubscriptionId")
    topic_arn, _, subscription_id = text.rpartition(":")
    if parse_topic_arn(topic_arn) is None or not subscription_id:
        raise InvalidParameter("Invalid parameter: SubscriptionArn")
    return text


def _host_of(base_url: str) -> str:
    from urllib.parse import urlsplit  # noqa: PLC0415 - tiny, only at start

    return urlsplit(base_url).hostname or "localhost"


def env_int(name: str, default: int, environ: Mapping[str, str] | None = None) -> int:
    """An integer setting from the environment (``CIPHERPOST_SNS_*``)."""
    value = (environ if environ is not None else os.environ).get(name)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def result_error(entry_id: str, error: AwsError) -> dict[str, Any]:
    """A PublishBatch ``Failed`` entry for ``error``."""
    from cipherpost.protocol import registry  # noqa: PLC0415 - the model's query code of the error

    code = registry.query_error_code("sns", error.code)
    return {"Id": entry_id, "Code": code, "Message": error.message, "SenderFault": error.sender_fault}
