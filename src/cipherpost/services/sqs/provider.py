"""The SQS provider: every handler group, background upkeep, and the internal API SNS uses."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cipherpost.context import Caller, RequestContext
from cipherpost.services.base import cancel_task
from cipherpost.services.sqs import contents, fifo
from cipherpost.services.sqs.admin_ops import AdminOperations
from cipherpost.services.sqs.attributes import int_attribute
from cipherpost.services.sqs.errors import QueueDoesNotExist
from cipherpost.services.sqs.message_ops import MessageOperations
from cipherpost.services.sqs.messages import NewMessage, SendPlan
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
        await cancel_task(self._sweeper)
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

    async def plan_service_send(
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
        trace_header: str | None = None,
    ) -> SendPlan:
        """Plan a send as a service principal (SNS delivering to a subscribed queue): checks,
        authorizes and seals now; the caller commits the plan's steps (with its own, if it
        likes) and hands the results to :meth:`settle_send`.

        The queue policy alone decides, with ``aws:SourceArn`` = ``source_arn`` and
        ``aws:SourceAccount`` = its account, as AWS evaluates SNS-to-SQS delivery.
        ``trace_header``: the X-Ray trace header the message carries (``AWSTraceHeader``).

        Raises:
            QueueDoesNotExist: no queue with that ARN.
            AccessDenied: the queue policy does not allow the service principal.
            KmsAccessDenied, KmsDisabled, ...: the queue's key may not be used by the principal.
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
        system = contents.with_trace_header({}, trace_header)
        message = NewMessage(checked, attributes, system, queue.delay_seconds, service_principal, group_id, dedup_id)
        return await self.prepare_send(ctx, queue, [message], sender=caller)

    async def deliver_as_service(
        self,
        ctx: RequestContext,
        queue_arn: str,
        body: str,
        *,
        message_attributes: Mapping[str, Mapping[str, Any]] | None,
        source_arn: str,
        message_group_id: str | None = None,
        message_deduplication_id: str | None = None,
        also: Sequence[Step] = (),
        trace_header: str | None = None,
    ) -> str:
        """:meth:`plan_service_send` as ``sns.amazonaws.com``, committed at once, with the
        caller's ``also`` steps in the same write (committed even if the queue vanished at
        that moment, which then raises ``QueueDoesNotExist``). Returns the MessageId."""
        plan = await self.plan_service_send(
            ctx, queue_arn, body, message_attributes=message_attributes, source_arn=source_arn,
            message_group_id=message_group_id, message_deduplication_id=message_deduplication_id,
            trace_header=trace_header)
        results = await self.runtime.store.write([*plan.steps, *also])
        (sent,) = self.settle_send(plan, results[:len(plan.steps)])
        return sent.message_id
