"""The SQS provider: every handler group, background upkeep, and the internal API SNS uses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cipherpost.context import Caller, RequestContext
from cipherpost.services.sqs import contents, fifo
from cipherpost.services.sqs.admin_ops import AdminOperations
from cipherpost.services.sqs.attributes import int_attribute
from cipherpost.services.sqs.errors import QueueDoesNotExist
from cipherpost.services.sqs.message_ops import MessageOperations
from cipherpost.services.sqs.messages import NewMessage
from cipherpost.services.sqs.move_tasks import MoveTaskOperations
from cipherpost.services.sqs.names import parse_queue_arn
from cipherpost.services.sqs.queue_ops import QueueOperations
from cipherpost.services.sqs.queues import now_ms
from cipherpost.store import Step

log = logging.getLogger(__name__)

#: How often expired messages and deduplication records are swept.
SWEEP_SECONDS: Final = 60.0


def _arn_account(arn: str) -> str | None:
    """The account field of an ARN (``arn:aws:sns:us-east-1:123456789012:topic``)."""
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


class SqsProvider(QueueOperations, MessageOperations, AdminOperations, MoveTaskOperations):
    """Amazon SQS: queues, messages, long polling, FIFO, dead-letter queues, queue policies."""

    service = "sqs"
    _sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.broadcast.start()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="sqs-sweeper")
        await self.resume_move_tasks()

    async def stop(self) -> None:
        self.notifier.close()
        await self.stop_move_tasks()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.broadcast.stop()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception:
                log.exception("sqs: sweeping expired messages failed")

    async def sweep(self) -> None:
        """Delete messages past their queue's retention period and stale deduplication records."""
        now = now_ms()
        for row in await self.runtime.store.fetch_all("sqs_queue_ids"):
            retention = int_attribute(json.loads(row["attributes"]), "MessageRetentionPeriod")
            await self.messages.expire(str(row["queue_id"]), now - retention * 1000)
        await self.runtime.store.execute("sqs_dedup_sweep", now=now)
        await self.runtime.store.execute("sqs_deleted_sweep", before=now - 60_000)

    async def deliver_as_service(
        self,
        ctx: RequestContext,
        queue_arn: str,
        body: str,
        *,
        message_attributes: Mapping[str, Mapping[str, Any]] | None,
        source_arn: str,
        service_principal: str = "sns.amazonaws.com",
        message_group_id: str | None = None,
        message_deduplication_id: str | None = None,
        also: Sequence[Step] = (),
    ) -> str:
        """Send a message as a service principal (SNS delivering to a subscribed queue).

        The queue policy alone decides, with ``aws:SourceArn`` = ``source_arn`` and
        ``aws:SourceAccount`` = its account, as AWS evaluates SNS-to-SQS delivery. ``also``:
        the caller's steps, committed with the message (SNS: the delivery is done).

        Returns:
            The MessageId.
        Raises:
            QueueDoesNotExist: no queue with that ARN.
            AccessDenied: the queue policy does not allow the service principal.
            InvalidParameterValue, InvalidMessageContents, ...: the message is not acceptable.
        """
        parsed = parse_queue_arn(queue_arn)
        queue = await self.queues.get(parsed[1]) if parsed else None
        if queue is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        source_account = _arn_account(source_arn) or queue.ref.account_id
        caller = Caller.for_service(service_principal, source_account)
        await self.access.check_service(ctx, queue, caller, source_arn, source_account)
        params = {"MessageGroupId": message_group_id, "MessageDeduplicationId": message_deduplication_id}
        checked = contents.check_body(body)
        attributes = contents.check_message_attributes(message_attributes)
        group_id, dedup_id = fifo.message_ids(queue, {k: v for k, v in params.items() if v is not None}, checked)
        contents.check_size(contents.message_size(checked, attributes), queue.maximum_message_size)
        message = NewMessage(checked, attributes, {}, queue.delay_seconds, service_principal, group_id, dedup_id)
        (sent,) = await self.send(ctx, queue, [message], sender=caller, also=also)
        return sent.message_id
