"""The delivery worker: drains the outbox that Publish and Subscribe fill.

Publish on a standard topic puts the message into the SQS queues that accept it itself
(:mod:`.publish_ops`); the outbox holds the rest: HTTP/S deliveries, refused ones, FIFO
topics' deliveries, and confirmations. Each node runs one worker
(``CIPHERPOST_SNS_DELIVERY_CONCURRENCY`` deliveries at a time, default 64; ``0`` makes the
node API-only, leaving delivery to other nodes sharing the PostgreSQL store: its Publish
then puts every delivery in the outbox, none in a queue). It leases due outbox rows (a
lease of :data:`LEASE_MS`: a row whose node died mid-delivery becomes due again when its
lease ends), groups them by message, and for each message:

1. reads it once (decrypting the body once, as ``sns.amazonaws.com``, for encrypted topics);
2. builds each subscription's payload: the raw message (``RawMessageDelivery``) or the
   signed JSON envelope — signed once per message text (the signed fields are the same for
   every subscription), in a worker thread;
3. sends it: to SQS through ``deliver_as_service`` (the queue policy and the queue key's
   policy decide, with ``aws:SourceArn`` = the topic), the outbox row's removal committed in
   the same write as the message it puts in the queue; or by HTTP POST;
4. records any other outcome in one write: delivered -> the row goes; failed -> retried
   per the delivery policy, or moved to the subscription's dead-letter queue when the policy
   is exhausted or the error is the client's (AWS: "client-side errors" such as a queue
   policy that does not allow SNS, a deleted queue, or a queue key SNS may not use, are not
   retried). A message row goes with its last delivery.

Topics and subscriptions come from :mod:`.cache` (an unsubscribed or deleted one gets
nothing more, as in AWS). FIFO topics: a delivery waits until the earlier deliveries of its
message group to the same subscription are done, so a FIFO queue receives each group in
order.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import logging
import random
from collections.abc import Sequence
from typing import Any, Final

from cipherpost.crypto.errors import InvalidEnvelope
from cipherpost.errors import AwsError
from cipherpost.services.base import cancel_task
from cipherpost.services.sns import delivery_policy, notification
from cipherpost.services.sns.core import SnsCore, env_int, now_ms
from cipherpost.services.sns.http_delivery import HttpSender, sns_headers
from cipherpost.services.sns.payloads import Notice, quoted
from cipherpost.services.sns.signing import SignatureVersion
from cipherpost.services.sns.sse import SSE_ENCODING
from cipherpost.services.sns.subscriptions import Subscription
from cipherpost.services.sns.topics import Topic
from cipherpost.store import Row, Step

log = logging.getLogger(__name__)

LEASE_MS: Final = 60_000
POLL_SECONDS: Final = 1.0
CONCURRENCY_ENV: Final = "CIPHERPOST_SNS_DELIVERY_CONCURRENCY"
_SIGNATURES: Final = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class Attempt:
    """What one delivery attempt came to."""

    delivered: bool
    client_error: bool = False
    detail: str = ""
    payload: str | None = None
    attributes: dict[str, Any] | None = None
    recorded: bool = False
    """The outcome is already in the store (committed with the message sent to a queue)."""


class DeliveryWorker(SnsCore):
    """The outbox drain (see the module docstring)."""

    _worker: asyncio.Task[None] | None = None
    _http: HttpSender | None = None

    def _init_delivery(self) -> None:
        self._running: set[asyncio.Task[None]] = set()
        self._in_flight = 0

    async def start_delivery(self) -> None:
        self._init_delivery()
        concurrency = env_int(CONCURRENCY_ENV, 64)
        if concurrency <= 0:
            log.info("sns: delivery worker disabled on this node (%s=0)", CONCURRENCY_ENV)
            self.direct_delivery = False  # an API-only node delivers nothing itself
            return
        self._http = HttpSender()
        self._worker = asyncio.create_task(self._drain_forever(concurrency), name="sns-delivery")

    async def stop_delivery(self) -> None:
        await cancel_task(self._worker)
        self._worker = None
        for task in list(self._running):
            task.cancel()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    async def _drain_forever(self, concurrency: int) -> None:
        while True:
            self.wake.clear()
            try:
                claimed = await self._claim(concurrency - self._in_flight)
            except Exception:
                log.exception("sns: leasing deliveries failed")
                claimed = []
            by_message: dict[str, list[Row]] = {}
            for row in claimed:
                by_message.setdefault(str(row["message_id"]), []).append(row)
            for message_id, rows in by_message.items():
                self._in_flight += len(rows)
                task = asyncio.create_task(self._run_message(message_id, rows))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if len(claimed) == 0 or self._in_flight >= concurrency:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), POLL_SECONDS)

    async def _claim(self, room: int) -> list[Row]:
        if room <= 0:
            return []
        now = now_ms()
        result = await self.store.execute("sns_outbox_claim", now=now, lease_until=now + LEASE_MS, n=room)
        return result.rows

    async def _run_message(self, message_id: str, rows: list[Row]) -> None:
        try:
            await self.deliver_message(message_id, rows)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sns: delivering message %s failed unexpectedly; retrying later", message_id)
        finally:
            self._in_flight -= len(rows)
            self.wake.set()

    # --- one message -----------------------------------------------------------------------

    async def deliver_message(self, message_id: str, rows: list[Row]) -> None:
        """Attempt the leased deliveries ``rows`` of one message and record their outcomes."""
        message = await self.store.fetch_one("sns_message_get", message_id=message_id)
        if message is None:
            await self.store.write([step for row in rows for step in _done_steps(row)])
            return
        if message["kind"] != "Notification":
            for row in rows:
                await self._confirmation(row, message)
            return
        topic = await self.find_topic(str(message["topic_arn"]), cached=True)
        if topic is None:  # deleted since: AWS stops too
            await self.store.write([step for row in rows for step in _done_steps(row)])
            return
        try:
            notice: Notice | Attempt = Notice.from_row(message, await self._plaintext(message, topic))
        except AwsError as exc:
            notice = Attempt(False, detail=f"{exc.code}: {exc.message}")
        except InvalidEnvelope:
            notice = Attempt(False, client_error=True, detail="stored body does not decrypt")
        results = await asyncio.gather(*(self._deliver(row, message, topic, notice) for row in rows),
                                       return_exceptions=True)
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
            if isinstance(result, Exception):
                log.error("sns: delivery %s failed unexpectedly; retrying later", row["delivery_id"],
                          exc_info=result)

    async def _deliver(self, row: Row, message: Row, topic: Topic, notice: Notice | Attempt) -> None:
        subscription = await self.find_subscription(str(row["subscription_arn"]), cached=True)
        if subscription is None:  # unsubscribed since: AWS stops too
            await self._finish(row)
            return
        attempt = notice if isinstance(notice, Attempt) else await self._notify(row, notice, subscription, topic)
        if attempt.delivered:
            if not attempt.recorded:
                await self._finish(row)
            return
        retry = (delivery_policy.MANAGED_RETRY if subscription.protocol == "sqs" else
                 delivery_policy.http_policy(topic.attributes.get("DeliveryPolicy"),
                                             subscription.attributes.get("DeliveryPolicy")).retry)
        delay = None if attempt.client_error else retry.delay(int(row["attempts"]))
        if delay is not None:
            _log_failure(row, subscription, attempt, delay)
            await self._retry(row, delay)
            return
        await self._dead_letter(row, message, subscription, attempt)

    async def _notify(self, row: Row, notice: Notice, subscription: Subscription, topic: Topic) -> Attempt:
        payload = await self.payloads.payload(notice, subscription)
        if subscription.protocol == "sqs":
            ctx = self.service_context(topic.account_id, "Deliver")
            return await self._to_queue(ctx, subscription.endpoint, payload,
                                        notice.attributes if subscription.raw else None, topic.arn,
                                        (notice.group_id, notice.queue_dedup_id), also=_done_steps(row),
                                        trace_header=notice.trace_header)
        assert self._http is not None
        policy = delivery_policy.http_policy(topic.attributes.get("DeliveryPolicy"),
                                             subscription.attributes.get("DeliveryPolicy"))
        await self._http.throttle.wait(subscription.arn, policy.max_receives_per_second)
        headers = sns_headers("Notification", notice.message_id, topic.arn, subscription.arn,
                              content_type=policy.content_type, raw=subscription.raw)
        outcome = await self._http.post(subscription.endpoint, payload, headers)
        return Attempt(outcome.delivered, detail=outcome.detail, payload=payload)

    async def _plaintext(self, message: Row, topic: Topic) -> str:
        body = bytes(message["body"])
        if message["body_encoding"] == SSE_ENCODING:
            body = await self.open_as_sns(topic, body)
        return body.decode("utf-8", "surrogatepass")

    async def _to_queue(self, ctx: Any, queue_arn: str, payload: str, attributes: dict[str, Any] | None,
                        topic_arn: str, fifo_ids: tuple[str | None, str], also: Sequence[Step] = (),
                        trace_header: str | None = None) -> Attempt:
        """Send to a queue as SNS; ``fifo_ids``: (group, deduplication id) of the message;
        both go to a FIFO queue; a standard queue gets the group of a standard topic's message
        (SQS fair queues) but not of a FIFO topic's (both recorded against AWS);
        ``also``: steps committed with the message (they are committed too if the queue
        vanished at that very moment: the delivery then fails as a client error, its outbox
        row already gone); ``trace_header``: Publish's X-Amzn-Trace-Id (AWSTraceHeader)."""
        fifo_queue = queue_arn.endswith(".fifo")
        try:
            await self.sqs.deliver_as_service(
                ctx, queue_arn, payload, message_attributes=attributes or None, source_arn=topic_arn,
                message_group_id=fifo_ids[0] if fifo_queue or not topic_arn.endswith(".fifo") else None,
                message_deduplication_id=fifo_ids[1] if fifo_queue else None, also=also, trace_header=trace_header)
        except AwsError as exc:
            return Attempt(False, client_error=exc.sender_fault, detail=f"{exc.code}: {exc.message}",
                           payload=payload, attributes=attributes)
        return Attempt(True, recorded=bool(also))

    # --- outcomes --------------------------------------------------------------------------

    async def _finish(self, row: Row) -> None:
        await self.store.write(_done_steps(row))

    async def _retry(self, row: Row, delay: float) -> None:
        jitter = delay * random.uniform(0.0, 0.1)
        await self.store.execute("sns_outbox_retry", delivery_id=row["delivery_id"],
                                 next_attempt_at=now_ms() + int((delay + jitter) * 1000))

    async def _dead_letter(self, row: Row, message: Row, subscription: Subscription, attempt: Attempt) -> None:
        target = subscription.dead_letter_arn
        if target is None or attempt.payload is None:
            log.warning("sns: gave up delivering message %s to %s after %s attempt(s): %s", message["message_id"],
                        subscription.arn, row["attempts"], attempt.detail)
        else:
            ctx = self.service_context(subscription.owner_account, "DeadLetter")
            moved = await self._to_queue(ctx, target, attempt.payload, attempt.attributes,
                                         str(message["topic_arn"]), _fifo_ids(message),
                                         trace_header=message.get("trace_header"))
            outcome = "moved to" if moved.delivered else f"could not be moved ({moved.detail}) to"
            log.warning("sns: message %s for %s %s dead-letter queue %s: %s", message["message_id"],
                        subscription.arn, outcome, target, attempt.detail)
        await self._finish(row)

    # --- confirmations ---------------------------------------------------------------------

    async def _confirmation(self, row: Row, message: Row) -> None:
        target = json.loads(row["target"] or "{}")
        topic_arn = str(message["topic_arn"])
        version: SignatureVersion = "2" if message["signature_version"] == "2" else "1"
        subscribe_url = (f"{self.base_url}/?Action=ConfirmSubscription&TopicArn={quoted(topic_arn)}"
                         f"&Token={target['token']}")
        build = (notification.subscription_confirmation_body if message["kind"] == "SubscriptionConfirmation"
                 else functools.partial(notification.unsubscribe_confirmation_body,
                                        subscription_arn=str(row["subscription_arn"])))
        key = await self.signing_key()
        body = await asyncio.to_thread(
            build, message_id=str(message["message_id"]), topic_arn=topic_arn, token=target["token"],
            subscribe_url=subscribe_url, timestamp=dt.datetime.fromtimestamp(message["published_at"] / 1000, dt.UTC),
            signature_version=version, signing_cert_url=self.signing_cert_url(), signer=key)
        if target["protocol"] == "sqs":
            ctx = self.service_context(topic_arn.split(":")[4], "Confirm")
            attempt = await self._to_queue(ctx, target["endpoint"], body, None, topic_arn, _fifo_ids(message))
        else:
            assert self._http is not None
            subscription_arn = None if message["kind"] == "SubscriptionConfirmation" else row["subscription_arn"]
            headers = sns_headers(str(message["kind"]), str(message["message_id"]), topic_arn, subscription_arn,
                                  content_type=delivery_policy.DEFAULT_CONTENT_TYPE)
            outcome = await self._http.post(target["endpoint"], body, headers)
            attempt = Attempt(outcome.delivered, detail=outcome.detail)
        delay = None if attempt.delivered or attempt.client_error else delivery_policy.RetryPolicy().delay(
            int(row["attempts"]))
        if delay is None:
            if not attempt.delivered:
                log.warning("sns: gave up sending %s to %s: %s", message["kind"], target["endpoint"], attempt.detail)
            await self._finish(row)
        else:
            await self._retry(row, delay)


def _fifo_ids(message: Row) -> tuple[str | None, str]:
    """(MessageGroupId, MessageDeduplicationId) for a FIFO queue, from a stored message."""
    return message["group_id"], str(message["dedup_id"] or message["message_id"])


def _done_steps(row: Row) -> list[Step]:
    """A delivery is finished (delivered, dead-lettered, given up); its message goes with the last."""
    return [Step("sns_outbox_done", {"delivery_id": row["delivery_id"]}),
            Step("sns_message_delete_if_done", {"message_id": row["message_id"]})]


def _log_failure(row: Row, subscription: Subscription, attempt: Attempt, delay: float) -> None:
    attempts = int(row["attempts"])
    level = logging.WARNING if attempts in (1, 5, 15) or attempts % 1000 == 0 else logging.DEBUG
    log.log(level, "sns: delivery of %s to %s failed (attempt %d: %s); retrying in %.1fs", row["message_id"],
            subscription.arn, attempts, attempt.detail, delay)
