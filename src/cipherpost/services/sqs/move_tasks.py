"""Message move tasks: redrive messages out of a dead-letter queue.

"StartMessageMoveTask": the source must be a dead-letter queue of some queue; messages go
to ``DestinationArn``, or without one each back to the queue it was dead-lettered from;
``MaxNumberOfMessagesPerSecond`` (1..500) bounds the rate; one active task per source.
The task moves the messages that were in the queue when it started, then COMPLETED.
Task state is in the store; a task RUNNING at shutdown resumes on the next start.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.services.base import Params, Result, cancel_task, operation
from cipherpost.services.sqs.core import SqsCore, bounded, required
from cipherpost.services.sqs.errors import InvalidParameterValue, ResourceNotFoundException, UnsupportedOperation
from cipherpost.services.sqs.names import parse_queue_arn
from cipherpost.services.sqs.queues import Queue, now_ms
from cipherpost.store import Row

BATCH: Final = 10
ACTIVE: Final = ("RUNNING", "CANCELLING")


class Pace:
    """Spreads a task's moves evenly over each second at ``MaxNumberOfMessagesPerSecond``
    (small batches on a schedule kept from the start, not a burst then a sleep); 0: no limit."""

    def __init__(self, rate: int, started: float | None = None) -> None:
        self.rate = rate
        self.batch = max(1, min(BATCH, rate // 10)) if rate else BATCH
        """Messages per step: about ten steps a second, at least one message each."""
        self.started = time.monotonic() if started is None else started
        self.done = 0

    def delay(self, count: int, now: float) -> float:
        """Seconds to wait after moving ``count`` more messages at monotonic time ``now``."""
        if not self.rate:
            return 0.0
        self.done += count
        return max(0.0, self.started + self.done / self.rate - now)


def _handle(source_arn: str) -> str:
    raw = json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _entry(row: Row) -> Result:
    """One ListMessageMoveTasks result (TaskHandle only while running, as AWS)."""
    entry: dict[str, Any] = {
        "Status": row["status"], "SourceArn": row["source_arn"], "DestinationArn": row["destination_arn"],
        "MaxNumberOfMessagesPerSecond": row["max_per_second"], "ApproximateNumberOfMessagesMoved": row["moved"],
        "ApproximateNumberOfMessagesToMove": row["to_move"], "FailureReason": row["failure_reason"],
        "StartedTimestamp": row["started_at"],
    }
    if row["status"] == "RUNNING":
        entry["TaskHandle"] = row["task_handle"]
    return {key: value for key, value in entry.items() if value is not None}


class MoveTaskOperations(SqsCore):
    """StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask, and the task runners."""

    _runners: dict[str, asyncio.Task[None]]

    def _tasks(self) -> dict[str, asyncio.Task[None]]:
        if not hasattr(self, "_runners"):
            self._runners = {}
        return self._runners

    async def _queue_by_arn(self, ctx: RequestContext, arn: str, parameter: str, action: str) -> Queue:
        parsed = parse_queue_arn(arn)
        queue = await self.queues.get(parsed[1]) if parsed else None
        if queue is None:
            raise ResourceNotFoundException(f"The resource that you specified for the {parameter} parameter "
                                            f"doesn't exist.")
        await self.access.check(ctx, queue, operation=action)
        return queue

    @operation("StartMessageMoveTask")
    async def start_message_move_task(self, ctx: RequestContext, params: Params) -> Result:
        source = await self._queue_by_arn(ctx, str(required(params, "SourceArn")), "SourceArn",
                                          "StartMessageMoveTask")
        if not await self.queues.dead_letter_sources(source.arn):
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        destination = params.get("DestinationArn")
        if destination:
            await self._queue_by_arn(ctx, str(destination), "DestinationArn", "SendMessage")
        rate = bounded(params, "MaxNumberOfMessagesPerSecond", 1, 500, 0) or None
        recent = await self.runtime.store.fetch_all("sqs_move_tasks_for_source", source_arn=source.arn, limit=10)
        if any(row["status"] in ACTIVE for row in recent):
            raise InvalidParameterValue("There is already a task running. Only one active task is allowed for a "
                                        "source queue arn at a given time.")
        counts = await self.messages.counts(source, now_ms())
        handle = _handle(source.arn)
        await self.runtime.store.execute(
            "sqs_move_task_insert", task_handle=handle, source_queue_id=source.queue_id, source_arn=source.arn,
            destination_arn=destination, max_per_second=rate, to_move=int(counts["visible"]), started_at=now_ms())
        self._spawn(handle)
        return {"TaskHandle": handle}

    @operation("ListMessageMoveTasks")
    async def list_message_move_tasks(self, ctx: RequestContext, params: Params) -> Result:
        source = await self._queue_by_arn(ctx, str(required(params, "SourceArn")), "SourceArn",
                                          "ListMessageMoveTasks")
        limit = bounded(params, "MaxResults", 1, 10, 1)
        rows = await self.runtime.store.fetch_all("sqs_move_tasks_for_source", source_arn=source.arn, limit=limit)
        return {"Results": [_entry(row) for row in rows]}

    @operation("CancelMessageMoveTask")
    async def cancel_message_move_task(self, ctx: RequestContext, params: Params) -> Result:
        handle = str(required(params, "TaskHandle"))
        try:
            source_arn = str(json.loads(base64.urlsafe_b64decode(handle.encode()))["sourceArn"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise InvalidParameterValue("Value for parameter TaskHandle is invalid.") from None
        await self._queue_by_arn(ctx, source_arn, "SourceArn", "CancelMessageMoveTask")
        row = await self.runtime.store.fetch_one("sqs_move_task_get", task_handle=handle)
        if row is None:
            raise ResourceNotFoundException("Task does not exist.")
        if row["status"] != "RUNNING":
            raise UnsupportedOperation("Only active tasks can be cancelled.")
        runner = self._tasks().pop(handle, None)
        await cancel_task(runner)
        latest = await self.runtime.store.fetch_one("sqs_move_task_get", task_handle=handle)
        moved = int(latest["moved"]) if latest else int(row["moved"])
        await self._record(handle, "CANCELLED", moved)
        return {"ApproximateNumberOfMessagesMoved": moved}

    def _spawn(self, handle: str) -> None:
        self._tasks()[handle] = asyncio.create_task(self._run(handle), name=f"sqs-move-{handle[:12]}")

    async def resume_move_tasks(self) -> None:
        """Start runners for tasks that were running when the server last stopped."""
        for row in await self.runtime.store.fetch_all("sqs_move_tasks_running"):
            if row["status"] == "CANCELLING":
                await self._record(str(row["task_handle"]), "CANCELLED", int(row["moved"]))
            else:
                self._spawn(str(row["task_handle"]))

    async def stop_move_tasks(self) -> None:
        for runner in self._tasks().values():
            runner.cancel()
        for runner in list(self._tasks().values()):
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        self._tasks().clear()

    async def _record(self, handle: str, status: str, moved: int, reason: str | None = None) -> None:
        await self.runtime.store.execute("sqs_move_task_update", task_handle=handle, status=status, moved=moved,
                                         failure_reason=reason)

    async def _run(self, handle: str) -> None:
        """Move messages until the count present at the start has moved, or the source is empty."""
        row = await self.runtime.store.fetch_one("sqs_move_task_get", task_handle=handle)
        if row is None:
            return
        moved = int(row["moved"])
        try:
            status, reason, moved = await self._move_all(row, moved)
        except asyncio.CancelledError:
            await asyncio.shield(self._record(handle, "RUNNING", moved))
            raise
        await self._record(handle, status, moved, reason)
        self._tasks().pop(handle, None)

    async def _move_all(self, task: Mapping[str, Any], moved: int) -> tuple[str, str | None, int]:
        parsed = parse_queue_arn(str(task["source_arn"]))
        to_move = int(task["to_move"] or 0)
        pace = Pace(int(task["max_per_second"] or 0))
        while moved < to_move:
            source = await self.queues.get(parsed[1]) if parsed else None
            if source is None:
                return "FAILED", "The source queue no longer exists.", moved
            rows = await self.messages.movable(source, now_ms(), min(pace.batch, to_move - moved))
            if not rows:
                break
            failure, count = await self._move_batch(source, rows, task["destination_arn"])
            moved += count
            await self._record(str(task["task_handle"]), "RUNNING", moved)
            if failure is not None:
                return "FAILED", failure, moved
            await asyncio.sleep(pace.delay(len(rows), time.monotonic()))
        return "COMPLETED", None, moved

    async def _move_batch(self, source: Queue, rows: list[Row], destination: str | None) -> tuple[str | None, int]:
        by_target: dict[str, list[str]] = {}
        for row in rows:
            target = destination or row["dead_letter_source_arn"]
            if not target:
                return "A message has no original source queue; specify a DestinationArn.", 0
            by_target.setdefault(str(target), []).append(str(row["message_id"]))
        count = 0
        for arn, ids in by_target.items():
            parsed = parse_queue_arn(arn)
            target_queue = await self.queues.get(parsed[1]) if parsed else None
            if target_queue is None:
                return f"The destination queue {arn} does not exist.", count
            moved = await self.messages.move(source, target_queue, ids, now_ms(), min_receive_count=0,
                                             dead_letter_source_arn=None)
            count += moved
            self.wake(target_queue.queue_id)
            # Fewer moved: the queue may have been deleted since it was looked up (a move into a
            # deleted queue moves nothing and leaves the messages here).
            if moved < len(ids) and await self.queues.get(target_queue.ref, fresh=True) is None:
                return f"The destination queue {arn} does not exist.", count
        return None, count
