"""The SNS provider: every handler group, the delivery worker, and what the gateway serves
outside the AWS API (the signing certificate and the subscribe / unsubscribe URLs)."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from cipherpost.services.base import cancel_task
from cipherpost.services.sns.core import now_ms
from cipherpost.services.sns.delivery import DeliveryWorker
from cipherpost.services.sns.publish_ops import PublishOperations
from cipherpost.services.sns.subscription_ops import SubscriptionOperations
from cipherpost.services.sns.topic_ops import TopicOperations

log = logging.getLogger(__name__)

#: How often expired FIFO deduplication records are swept.
SWEEP_SECONDS: Final = 60.0


class SnsProvider(TopicOperations, SubscriptionOperations, PublishOperations, DeliveryWorker):
    """Amazon SNS (Query protocol): topics, subscriptions, encrypted publish, durable fan-out."""

    service = "sns"
    _sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load the signing key, then start the topic cache's broadcast, the delivery worker and the sweeper."""
        await self.signing_key()
        await self.topics.start()
        await self.start_delivery()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sns-sweeper")

    async def stop(self) -> None:
        await cancel_task(self._sweeper)
        self._sweeper = None
        await self.stop_delivery()
        await self.topics.stop()
        await self.close_signing_key()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.store.execute("sns_dedup_sweep", now=now_ms())
                await self.store.execute("sns_unsubscribed_sweep", now=now_ms())
            except Exception:
                log.exception("sns: sweeping expired deduplication and unsubscribe records failed")

    def certificate_path(self) -> str:
        """The path part of ``SigningCertURL`` (``/SimpleNotificationService-<id>.pem``)."""
        return f"/SimpleNotificationService-{self.runtime.installation_id}.pem"
