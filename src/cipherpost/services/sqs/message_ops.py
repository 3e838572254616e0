"""Message handlers: send, receive (with long polling), delete, change visibility; and batches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from cipherpost.context import Caller, RequestContext
from cipherpost.errors import AwsError
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.sent_size import sent_size
from cipherpost.services.sqs import contents, fifo
from cipherpost.services.sqs.core import SqsCore, bounded, check_batch, required
from cipherpost.services.sqs.errors import (
    BatchRequestTooLong,
    InvalidParameterValue,
    MessageNotInflight,
    QueueDoesNotExist,
)
from cipherpost.services.sqs.messages import UNLIMITED_RECEIVES, NewMessage, SendPlan, Sent, decode_receipt
from cipherpost.services.sqs.names import parse_queue_arn
from cipherpost.services.sqs.queues import Queue, now_ms
from cipherpost.services.sqs.render import render_message, system_names
from cipherpost.store import Row, StepResult

MAX_VISIBILITY: Final = 43200
MAX_WAIT: Final = 20
#: A SendMessageBatch's entries together: the largest MaximumMessageSize, whatever the queue's.
MAX_BATCH_BYTES: Final = 1_048_576
#: "ReceiveRequestAttemptId": a retry within 5 minutes returns the same messages.
ATTEMPT_TTL: Final = 300.0


def _sent_result(sent: Sent) -> Result:
    return {
        "MessageId": sent.message_id,
        "MD5OfMessageBody": sent.md5_body,
        "MD5OfMessageAttributes": sent.md5_message_attributes,
        "MD5OfMessageSystemAttributes": sent.md5_system_attributes,
        "SequenceNumber": sent.sequence_number,
    }


def _expired(handle: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle "
                                 f"has expired.")


def _batch_result(successful: list[Result], failed: list[Result]) -> Result:
    """A batch operation's result. AWS's JSON answers leave out an empty list (recorded for a
    SendMessageBatch without failures; the SDKs tell "no failures" from an absent member, e.g.
    the Java SDK v2's ``hasFailed()``); the Query protocol's XML has no element for either way."""
    result: Result = {}
    if successful:
        result["Successful"] = successful
    if failed:
        result["Failed"] = failed
    return result


def _failure(entry_id: str, error: AwsError) -> Result:
    return {"Id": entry_id, "SenderFault": error.sender_fault, "Code": error.code, "Message": error.message}


class MessageOperations(SqsCore):
    """SendMessage(+Batch), ReceiveMessage, DeleteMessage(+Batch), ChangeMessageVisibility(+Batch)."""

    def new_message(self, queue: Queue, params: Mapping[str, Any], sender_id: str,
                    trace_header: str | None = None, *, in_batch: bool = False) -> tuple[NewMessage, int]:
        """A validated message and its size, from SendMessage parameters or a batch entry.

        ``trace_header``: the request's ``X-Amzn-Trace-Id``, stored as ``AWSTraceHeader``;
        ``in_batch``: a SendMessageBatch entry (AWS words some failures differently there).
        """
        body = contents.check_body(params.get("MessageBody"))
        attributes = contents.check_message_attributes(params.get("MessageAttributes"))
        system = contents.with_trace_header(
            contents.check_system_attributes(params.get("MessageSystemAttributes")), trace_header)
        group_id, dedup_id = fifo.message_ids(queue, params, body)
        delay = fifo.delay_seconds(queue, params.get("DelaySeconds"))
        size = contents.message_size(body, attributes)
        contents.check_size(size, queue.maximum_message_size, in_batch=in_batch)
        return NewMessage(body, attributes, system, delay, sender_id, group_id, dedup_id), size

    async def prepare_send(self, ctx: RequestContext, queue: Queue, batch: list[NewMessage],
                           sender: Caller | None = None) -> SendPlan:
        """Seal bodies as the queue's SSE setting says and plan their store write.

        ``sender`` (default: the caller) is the principal KMS authorizes for SSE-KMS. The
        plan's steps may share a write with others'; :meth:`settle_send` reads the outcome.
        """
        who = sender or ctx.caller
        sealed = [await self.codec.seal(ctx, queue, message.body, who) for message in batch]
        batch = [message.stored_as(item.body, item.encoding, item.sealed_arn)
                 for message, item in zip(batch, sealed, strict=True)]
        return self.messages.plan(queue, batch, now_ms())

    def settle_send(self, plan: SendPlan, results: Sequence[StepResult]) -> list[Sent]:
        """What a committed plan stored (``results``: its steps'); wakes long polls.

        :raises QueueDoesNotExist: the queue vanished before the write.
        """
        sent = plan.outcome(results)
        if any(item is None for item in sent):
            self.queues.invalidate(plan.queue.ref)
            raise QueueDoesNotExist("The specified queue does not exist.")
        if plan.visible_now:
            self.wake(plan.queue.queue_id)
        return [item for item in sent if item is not None]

    async def send(self, ctx: RequestContext, queue: Queue, batch: list[NewMessage]) -> list[Sent]:
        """Seal, store (committed before this returns) and wake long polls."""
        plan = await self.prepare_send(ctx, queue, batch)
        return self.settle_send(plan, await self.runtime.store.write(plan.steps))

    @operation("SendMessage")
    async def send_message(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        message, _ = self.new_message(queue, params, ctx.caller.principal_id, ctx.trace_header)
        (sent,) = await self.send(ctx, queue, [message])
        return _sent_result(sent)

    @operation("SendMessageBatch")
    async def send_message_batch(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        entries = check_batch(params.get("Entries"), "SendMessageBatch")
        total = sum(sent_size(entry.get("MessageBody"), entry.get("MessageAttributes")) for entry in entries)
        if total > MAX_BATCH_BYTES:
            raise BatchRequestTooLong(f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. "
                                      f"You have sent {total} bytes.")
        fifo.check_batch_ids(queue, entries)
        good: list[tuple[str, NewMessage]] = []
        failed: list[Result] = []
        for entry in entries:
            try:
                message, _ = self.new_message(queue, entry, ctx.caller.principal_id, ctx.trace_header, in_batch=True)
            except AwsError as error:
                failed.append(_failure(str(entry["Id"]), error))
                continue
            good.append((str(entry["Id"]), message))
        sent = await self.send(ctx, queue, [message for _, message in good]) if good else []
        successful = [{"Id": entry_id, **_sent_result(item)} for (entry_id, _), item in zip(good, sent, strict=True)]
        return _batch_result(successful, failed)

    @operation("ReceiveMessage")
    async def receive_message(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        count = bounded(params, "MaxNumberOfMessages", 1, 10, 1)
        visibility = bounded(params, "VisibilityTimeout", 0, MAX_VISIBILITY, queue.visibility_timeout)
        wait = bounded(params, "WaitTimeSeconds", 0, MAX_WAIT, queue.wait_time_seconds,
                       reason=f"Must be >= 0 and <= {MAX_WAIT}")
        attempt = params.get("ReceiveRequestAttemptId") if queue.fifo else None
        if attempt is not None:
            fifo.check_id("ReceiveRequestAttemptId", str(attempt))
        token, rows = await self._receive_waiting(queue, count, visibility, wait, attempt)
        if not rows:
            return {}
        bodies = await self._open_bodies(ctx, queue, token, rows)
        system = system_names(params.get("AttributeNames"), params.get("MessageSystemAttributeNames"))
        names = params.get("MessageAttributeNames")
        return {"Messages": [render_message(row, body, queue_id=queue.queue_id, token=token, fifo=queue.fifo,
                                            system=system, attribute_names=names)
                             for row, body in zip(rows, bodies, strict=True)]}

    async def _open_bodies(self, ctx: RequestContext, queue: Queue, token: str, rows: list[Row]) -> list[str]:
        """The bodies as text, decrypted for the caller; if KMS refuses, the messages are
        put back (visible, that receive uncounted) and the KMS error is raised."""
        try:
            return [await self.codec.open(ctx, queue, row) for row in rows]
        except AwsError:
            await self.messages.release(queue, token, now_ms())
            self.wake(queue.queue_id)
            raise

    async def _receive_waiting(self, queue: Queue, count: int, visibility: int, wait: int,
                               attempt: str | None) -> tuple[str, list[Row]]:
        """Receive, long-polling up to ``wait`` seconds: returns as soon as messages arrive."""
        deadline = time.monotonic() + wait
        with self.notifier.listen(queue.queue_id) as listener:
            while True:
                listener.arm()
                token, rows = await self._receive_once(queue, count, visibility, attempt)
                remaining = deadline - time.monotonic()
                if rows or remaining <= 0 or self.notifier.closed:
                    return token, rows
                now = now_ms()
                next_at = await self.messages.next_visible(queue, now)
                if next_at is not None:
                    remaining = min(remaining, (next_at - now) / 1000 + 0.005)
                await listener.wait(remaining)

    async def _receive_once(self, queue: Queue, count: int, visibility: int,
                            attempt: str | None) -> tuple[str, list[Row]]:
        now = now_ms()
        if attempt is not None:
            repeated = await self._repeat_attempt(queue, attempt, now)
            if repeated is not None:
                return repeated
        limit = await self.redrive(queue, now)
        token, rows = await self.messages.receive(queue, n=count, visibility_timeout=visibility, now=now,
                                                  max_receive_count=limit)
        if attempt is not None and rows:
            self._remember_attempt(queue, attempt, token)
        return token, rows

    async def redrive(self, queue: Queue, now: int) -> int:
        """Move messages past maxReceiveCount to the dead-letter queue; the receive limit to use.

        "Using dead-letter queues": a message received maxReceiveCount times moves on the
        next receive attempt once it is visible again. If the dead-letter queue is gone,
        messages stay and are delivered as usual.
        """
        policy = queue.redrive_policy
        if policy is None:
            return UNLIMITED_RECEIVES
        target = await self.dead_letter_queue(policy.dead_letter_target_arn)
        if target is None:
            return UNLIMITED_RECEIVES
        while True:
            ids = await self.messages.over_limit(queue, policy.max_receive_count, now, 100)
            if not ids:
                return policy.max_receive_count
            moved = await self.messages.move(queue, target, ids, now, min_receive_count=policy.max_receive_count,
                                             dead_letter_source_arn=queue.arn)
            if moved:
                self.wake(target.queue_id)
            if len(ids) < 100:
                return policy.max_receive_count

    async def dead_letter_queue(self, arn: str) -> Queue | None:
        """The queue an ARN names, if it exists (no authorization: the source's owner set it)."""
        parsed = parse_queue_arn(arn)
        return await self.queues.get(parsed[1]) if parsed else None

    def _remember_attempt(self, queue: Queue, attempt: str, token: str) -> None:
        attempts = self.attempts
        clock = time.monotonic()
        if len(attempts) > 10_000:
            for key in [key for key, (at, _) in attempts.items() if clock - at > ATTEMPT_TTL]:
                del attempts[key]
        attempts[(queue.queue_id, attempt)] = (clock, token)

    async def _repeat_attempt(self, queue: Queue, attempt: str, now: int) -> tuple[str, list[Row]] | None:
        """The messages an earlier receive with this ReceiveRequestAttemptId took, if still in flight."""
        found = self.attempts.get((queue.queue_id, attempt))
        if found is None or time.monotonic() - found[0] > ATTEMPT_TTL:
            return None
        rows = await self.messages.received_under(queue, found[1], now)
        return (found[1], rows) if rows else None

    @operation("DeleteMessage")
    async def delete_message(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        await self._delete(queue, str(required(params, "ReceiptHandle")))
        return {}

    async def _delete(self, queue: Queue, handle: str) -> None:
        """Delete the message ``handle`` names; on a FIFO queue that may unlock its message
        group, so long polls wake (they would otherwise sleep until their wait ends).

        :raises InvalidParameterValue: FIFO queues: the handle's visibility timeout has ended
            (the message may have been received again), as AWS answers; a message already
            gone is no error.
        """
        receipt = decode_receipt(handle, queue)
        if await self.messages.delete(queue, receipt, now_ms()):
            if queue.fifo:
                self.wake(queue.queue_id)
        elif queue.fifo and await self.messages.state(queue, receipt.message_id) is not None:
            raise _expired(handle)

    @operation("DeleteMessageBatch")
    async def delete_message_batch(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        entries = check_batch(params.get("Entries"), "DeleteMessageBatch")

        async def one(entry: Mapping[str, Any]) -> Result:
            await self._delete(queue, str(entry.get("ReceiptHandle", "")))
            return {"Id": entry["Id"]}

        return await self._batch(entries, one)

    @operation("ChangeMessageVisibility")
    async def change_message_visibility(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        await self._change_visibility(queue, params)
        return {}

    @operation("ChangeMessageVisibilityBatch")
    async def change_message_visibility_batch(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        entries = check_batch(params.get("Entries"), "ChangeMessageVisibilityBatch")

        async def one(entry: Mapping[str, Any]) -> Result:
            await self._change_visibility(queue, entry)
            return {"Id": entry["Id"]}

        return await self._batch(entries, one)

    @staticmethod
    async def _batch(entries: list[Mapping[str, Any]], one: Any) -> Result:
        """Run ``one`` per entry concurrently (their writes share a group commit)."""
        outcomes = await asyncio.gather(*(one(entry) for entry in entries), return_exceptions=True)
        successful: list[Result] = []
        failed: list[Result] = []
        for entry, outcome in zip(entries, outcomes, strict=True):
            if isinstance(outcome, AwsError):
                failed.append(_failure(str(entry["Id"]), outcome))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                successful.append(outcome)
        return _batch_result(successful, failed)

    async def _change_visibility(self, queue: Queue, params: Mapping[str, Any]) -> None:
        handle = str(required(params, "ReceiptHandle"))
        receipt = decode_receipt(handle, queue)
        timeout = params.get("VisibilityTimeout")
        if timeout is None:
            raise InvalidParameterValue("The request must contain the parameter VisibilityTimeout.")
        if not 0 <= timeout <= MAX_VISIBILITY:
            raise InvalidParameterValue(f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must "
                                        f"be between 0 and {MAX_VISIBILITY}, if provided.")
        now = now_ms()
        if await self.messages.change_visibility(queue, receipt, int(timeout), now):
            if timeout == 0:
                self.wake(queue.queue_id)
            return
        state = await self.messages.state(queue, receipt.message_id)
        if state is None:
            raise InvalidParameterValue(f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message "
                                        f"does not exist or is not available for visibility timeout change.")
        if int(state["visible_at"]) <= now or int(state["receive_count"]) == 0:
            raise MessageNotInflight("Message is not in flight.")
        raise _expired(handle)
