"""Publish and PublishBatch: acceptance is atomic and durable.

One store write holds everything owed to the confirmed subscriptions whose filter policy
the message matches *at that moment*, and the MessageId is returned only after that write
is committed:

- on a standard topic, the message itself in every SQS queue SNS may deliver to right now
  (as ``sns.amazonaws.com``: the queue policy and the queue key's policy decided, the body
  sealed as the queue's SSE says) — so the common case costs no outbox row, no second
  write and no second read;
- the message row (its body sealed under the topic's KMS key when the topic has one) and
  one outbox row for each other delivery: HTTP/S endpoints, queues that refused (the
  delivery worker, :mod:`.delivery`, meets the same refusal and retries or dead-letters as
  AWS does), and on FIFO topics every delivery (the worker keeps each group in order).

The body is sealed under the topic's key even when nothing is stored, so the publisher's
KMS permissions and the key's state are checked on every Publish, as in AWS. Filter policies are
applied here, at acceptance, because the plaintext body is in hand (no decryption is
needed to filter a body of an encrypted topic) and a filtered-out subscription then costs
no outbox row; AWS likewise evaluates the policies in effect when the message is published.

FIFO topics: the message takes the topic's next sequence number and claims its
deduplication id (explicit, or the SHA-256 of the body with ContentBasedDeduplication)
for 5 minutes; a duplicate within that time is acknowledged with the first message's id
and sequence number and stored nowhere.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.crypto.errors import InvalidEnvelope
from cipherpost.errors import AwsError
from cipherpost.ids import random_uuid
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.sent_size import sent_size
from cipherpost.services.sns import messages
from cipherpost.services.sns.core import SnsCore, now_ms, result_error
from cipherpost.services.sns.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameter,
    TooManyEntriesInBatchRequest,
)
from cipherpost.services.sns.filter_policy import ParsedBody, parse_body
from cipherpost.services.sns.messages import Outgoing, sequence_number
from cipherpost.services.sns.payloads import Notice
from cipherpost.services.sns.sse import SSE_ENCODING
from cipherpost.services.sns.subscriptions import Subscription
from cipherpost.services.sns.topics import Topic, require_topic_arn
from cipherpost.services.sqs.messages import SendPlan
from cipherpost.store import Step, StepResult

log = logging.getLogger(__name__)

DEDUP_MS: Final = 5 * 60 * 1000
MAX_BATCH: Final = 10


class PublishOperations(SnsCore):
    """Publish handlers."""

    @operation("Publish")
    async def publish(self, ctx: RequestContext, params: Params) -> Result:
        topic_arn, target_arn = params.get("TopicArn"), params.get("TargetArn")
        if params.get("PhoneNumber") is not None:
            raise InvalidParameter("Invalid parameter: PhoneNumber Reason: Cipherpost does not send SMS")
        if topic_arn and target_arn:
            raise InvalidParameter("Invalid parameter: TopicArn Reason: Only one of TopicArn or TargetArn may be set")
        if topic_arn is None and target_arn is None:
            raise InvalidParameter("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
        if topic_arn is None:
            topic = await self._target_topic(ctx, target_arn)
        else:
            topic = await self.topic_for(ctx, topic_arn, "Publish", cached=True)
        outgoing = messages.check_message(params, fifo=topic.fifo, content_based_dedup=topic.content_based_dedup)
        return await self.accept(ctx, topic, outgoing)

    async def _target_topic(self, ctx: RequestContext, target_arn: object) -> Topic:
        """The topic a ``TargetArn`` names. Cipherpost has no platform endpoints, so an
        endpoint ARN (``...:endpoint/<platform>/<app>/<id>``) names nothing: AWS's answer for a
        missing endpoint is InvalidParameter, not NotFound."""
        require_topic_arn(target_arn, "TargetArn")
        if str(target_arn).split(":", 5)[5].startswith("endpoint/"):
            raise InvalidParameter("Invalid parameter: TargetArn Reason: No endpoint found for the target arn "
                                   "specified")
        return await self.topic_for(ctx, target_arn, "Publish", parameter="TargetArn", cached=True)

    @operation("PublishBatch")
    async def publish_batch(self, ctx: RequestContext, params: Params) -> Result:
        """Every entry checked and planned as Publish would, then all of them in ONE write (a
        FIFO duplicate within the batch is resolved by that write, in entry order).

        An entry that Publish would refuse (no MessageGroupId on a FIFO topic, a bad subject,
        attribute or message structure...) fails the whole request with that error, the first
        such entry's, and nothing is published: AWS answers these with a 400, not in ``Failed``.
        """
        entries = _check_batch(params.get("PublishBatchRequestEntries"))
        topic = await self.topic_for(ctx, params.get("TopicArn"), "Publish", cached=True)
        checked = [(str(entry["Id"]), messages.check_message(entry, fifo=topic.fifo,
                                                             content_based_dedup=topic.content_based_dedup))
                   for entry in entries]
        failed: list[dict[str, Any]] = []
        planned: list[tuple[str, _Acceptance]] = []
        for entry_id, outgoing in checked:
            try:
                planned.append((entry_id, await self._plan(ctx, topic, outgoing)))
            except AwsError as error:
                failed.append(result_error(entry_id, error))
        steps = [step for _, acceptance in planned for step in acceptance.steps]
        results = await self.store.write(steps) if steps else []
        successful: list[dict[str, Any]] = []
        offset = 0
        for entry_id, acceptance in planned:
            count = len(acceptance.steps)
            successful.append({"Id": entry_id, **await self._accepted(acceptance, results[offset:offset + count])})
            offset += count
        return {"Successful": successful, "Failed": failed}

    async def accept(self, ctx: RequestContext, topic: Topic, outgoing: Outgoing) -> Result:
        """Store the message and its deliveries in one write; the MessageId once committed."""
        acceptance = await self._plan(ctx, topic, outgoing)
        results = await self.store.write(acceptance.steps) if acceptance.steps else []
        return await self._accepted(acceptance, results)

    async def _plan(self, ctx: RequestContext, topic: Topic, outgoing: Outgoing) -> _Acceptance:
        """What accepting ``outgoing`` writes (see the module docstring), nothing written yet."""
        now = now_ms()
        if topic.fifo and outgoing.dedup_id is not None:
            duplicate = await self.store.fetch_one("sns_dedup_get", topic_arn=topic.arn, dedup_id=outgoing.dedup_id,
                                                   now=now)
            if duplicate is not None:
                return _Acceptance(topic, {}, now, [], [], [], {
                    "MessageId": str(duplicate["message_id"]),
                    "SequenceNumber": sequence_number(int(duplicate["seq"]))})
        targets = await self._matching(topic, outgoing)
        body = outgoing.message.encode("utf-8", "surrogatepass")
        encoding = "utf-8"
        if topic.kms_key_id:
            body = await self.encryption.seal(ctx, topic.arn, topic.account_id, topic.kms_key_id, body)
            encoding = SSE_ENCODING
        message_id = random_uuid()
        row = {
            "message_id": message_id, "topic_arn": topic.arn, "kind": "Notification", "body": body,
            "body_encoding": encoding, "subject": outgoing.subject,
            "message_attributes": messages.stored_attributes(outgoing.attributes),
            "message_structure": "json" if outgoing.structure is not None else None,
            "group_id": outgoing.group_id, "dedup_id": outgoing.dedup_id, "seq": 0,
            "signature_version": topic.signature_version, "published_at": now, "trace_header": ctx.trace_header,
        }
        direct: list[tuple[Subscription, SendPlan]] = []
        queued = targets
        if topic.fifo:  # (the sequence number and deduplication id are taken even with no delivery)
            steps = [*self._fifo_steps(topic, row, now), *_outbox_steps(message_id, queued, now),
                     Step("sns_message_delete_if_done", {"message_id": message_id})]
        else:
            direct_possible = self.direct_delivery and any(sub.protocol == "sqs" for sub in targets)
            if direct_possible and await self._sns_may_read(topic, body):
                direct, queued = await self._plan_direct(topic, outgoing, message_id, now, targets,
                                                         ctx.trace_header)
            steps = _stored_steps(row, queued, now) if queued else []
        for _, plan in direct:
            steps += plan.steps
        return _Acceptance(topic, row, now, steps, direct, queued)

    async def _accepted(self, acceptance: _Acceptance, results: Sequence[StepResult]) -> Result:
        """Publish's answer once ``acceptance.steps`` are committed (``results``: theirs)."""
        if acceptance.duplicate is not None:
            return acceptance.duplicate
        topic, row = acceptance.topic, acceptance.row
        message_id = str(row["message_id"])
        vanished = self._settle_direct(acceptance.direct, results[len(results) - acceptance.direct_steps:])
        if vanished:  # their queues went while we wrote: the worker dead-letters them as usual
            await self.store.write(_stored_steps(row, vanished, acceptance.now))
        if acceptance.queued or vanished:
            self.notify_worker()
        if not topic.fifo:
            return {"MessageId": message_id}
        inserted = results[4].rows
        if inserted:
            return {"MessageId": message_id, "SequenceNumber": sequence_number(int(inserted[0]["seq"]))}
        winner = await self.store.fetch_one("sns_dedup_get", topic_arn=topic.arn, dedup_id=row["dedup_id"],
                                            now=acceptance.now)
        if winner is None:  # the topic was deleted while we wrote
            return {"MessageId": message_id, "SequenceNumber": sequence_number(0)}
        return {"MessageId": str(winner["message_id"]), "SequenceNumber": sequence_number(int(winner["seq"]))}

    async def _plan_direct(self, topic: Topic, outgoing: Outgoing, message_id: str, now: int,
                           targets: list[Subscription], trace_header: str | None,
                           ) -> tuple[list[tuple[Subscription, SendPlan]], list[Subscription]]:
        """Split a standard topic's deliveries: SQS subscriptions SNS may send to now are
        planned into Publish's own write (direct); the rest (HTTP/S, and queues whose policy,
        key or limits refuse the message) go to the outbox, where the worker retries them or
        moves them to a dead-letter queue exactly as it would have. ``trace_header``: Publish's
        X-Amzn-Trace-Id, the queue messages' AWSTraceHeader."""
        notice = Notice(message_id, topic.arn, outgoing.subject, outgoing.message, outgoing.structure,
                        outgoing.attributes, now, "2" if topic.signature_version == "2" else "1")
        direct: list[tuple[Subscription, SendPlan]] = []
        queued: list[Subscription] = []
        ctx: RequestContext | None = None
        for subscription in targets:
            if subscription.protocol != "sqs":
                queued.append(subscription)
                continue
            ctx = ctx or self.service_context(topic.account_id, "Deliver")
            try:
                payload = await self.payloads.payload(notice, subscription)
                plan = await self.sqs.plan_service_send(
                    ctx, subscription.endpoint, payload, source_arn=topic.arn,
                    message_attributes=outgoing.attributes if subscription.raw else None, trace_header=trace_header,
                    message_group_id=outgoing.group_id)  # AWS passes it on to standard queues
            except AwsError:
                queued.append(subscription)  # the worker meets the same refusal and acts on it
                continue
            except Exception:
                log.exception("sns: planning delivery of %s to %s failed; queued for the worker", message_id,
                              subscription.arn)
                queued.append(subscription)
                continue
            direct.append((subscription, plan))
        return direct, queued

    async def _sns_may_read(self, topic: Topic, sealed: bytes) -> bool:
        """Whether SNS could read the stored body of an encrypted topic (the worker must, and
        AWS does: without ``kms:Decrypt`` for SNS in the topic key's policy nothing is
        delivered). Direct delivery asks the same question, answered from the same cache."""
        if not topic.kms_key_id:
            return True
        try:
            await self.check_sns_reads(topic, sealed)
        except (AwsError, InvalidEnvelope):
            return False  # the worker meets the same refusal
        return True

    def _settle_direct(self, direct: list[tuple[Subscription, SendPlan]],
                       results: Sequence[StepResult]) -> list[Subscription]:
        """Settle the committed direct deliveries; the subscriptions whose queue vanished."""
        vanished: list[Subscription] = []
        offset = 0
        for subscription, plan in direct:
            try:
                self.sqs.settle_send(plan, results[offset:offset + len(plan.steps)])
            except AwsError:
                vanished.append(subscription)
            offset += len(plan.steps)
        return vanished

    @staticmethod
    def _fifo_steps(topic: Topic, row: dict[str, Any], now: int) -> list[Step]:
        claim = {"topic_arn": topic.arn, "dedup_id": row["dedup_id"], "message_id": row["message_id"]}
        return [
            Step("sns_dedup_expire", {"topic_arn": topic.arn, "dedup_id": row["dedup_id"], "now": now}),
            Step("sns_dedup_claim", claim | {"expires_at": now + DEDUP_MS}),
            Step("sns_topic_next_seq_claimed", claim),
            Step("sns_dedup_set_seq", claim),
            Step("sns_message_insert_fifo", {k: v for k, v in row.items() if k != "seq"}),
        ]

    async def _matching(self, topic: Topic, outgoing: Outgoing) -> list[Subscription]:
        """The confirmed subscriptions of ``topic`` whose filter policy the message matches."""
        bodies: dict[str, ParsedBody | None] = {}
        matched: list[Subscription] = []
        for subscription in (await self.topics.subscriptions(topic.arn)).values():
            if not subscription.confirmed:
                continue
            policy = subscription.filter_policy()
            if policy is None:
                matched.append(subscription)
                continue
            if policy.scope == "MessageBody":
                text = messages.message_for(outgoing.message, outgoing.structure, subscription.protocol)
                if text not in bodies:
                    bodies[text] = parse_body(text)
                if policy.matches_body(bodies[text]):
                    matched.append(subscription)
            elif policy.matches_attributes(outgoing.attributes):
                matched.append(subscription)
        return matched


@dataclass(slots=True)
class _Acceptance:
    """One message planned for acceptance: the steps of its write (the direct deliveries' last)."""

    topic: Topic
    row: dict[str, Any]
    now: int
    steps: list[Step]
    direct: list[tuple[Subscription, SendPlan]]
    queued: list[Subscription]
    duplicate: Result | None = None
    """FIFO: the answer for a deduplication id already taken (nothing to write)."""

    @property
    def direct_steps(self) -> int:
        return sum(len(plan.steps) for _, plan in self.direct)


def _outbox_steps(message_id: str, subscriptions: list[Subscription], now: int) -> list[Step]:
    """One delivery per subscription, due at once (inserted only if the message row is)."""
    return [Step("sns_outbox_insert", {"delivery_id": random_uuid(), "message_id": message_id,
                                       "subscription_arn": sub.arn, "now": now, "target": None})
            for sub in subscriptions]


def _stored_steps(row: dict[str, Any], subscriptions: list[Subscription], now: int) -> list[Step]:
    """A standard topic's message row with its outbox deliveries (the row goes with the last)."""
    return [Step("sns_message_insert", row), *_outbox_steps(str(row["message_id"]), subscriptions, now),
            Step("sns_message_delete_if_done", {"message_id": row["message_id"]})]


def _check_batch(entries: object) -> list[dict[str, Any]]:
    """PublishBatch's checks on the whole request, before any entry is looked at."""
    items = [dict(item) for item in entries or ()] if isinstance(entries, list) else []
    if not items:
        raise EmptyBatchRequest("The batch request doesn't contain any entries.")
    if len(items) > MAX_BATCH:
        raise TooManyEntriesInBatchRequest("The batch request contains more entries than permissible.")
    ids = [str(item.get("Id", "")) for item in items]
    for entry_id in ids:
        _check_entry_id(entry_id)
    if len(set(ids)) != len(ids):
        raise BatchEntryIdsNotDistinct("Two or more batch entries in the request have the same Id.")
    # AWS counts every entry's message and message attributes (names, types, values) toward
    # the one limit a single Publish has.
    if sum(sent_size(item.get("Message"), item.get("MessageAttributes")) for item in items) > (
            messages.MAX_MESSAGE_BYTES):
        raise BatchRequestTooLong("The length of all the messages put together is more than the limit.")
    return items


def _check_entry_id(entry_id: str) -> None:
    """:raises InvalidBatchEntryId: AWS's texts, which quote the Id."""
    if not entry_id:
        raise InvalidBatchEntryId("The Id of a batch entry in a batch request doesn't abide by the specification.")
    if len(entry_id) > 80:
        raise InvalidBatchEntryId(f"The Id of a batch entry in the batch request is too long: {entry_id}")
    if not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in entry_id):
        raise InvalidBatchEntryId("The Id of a batch entry in the batch request contains an impermissible "
                                  f"character: {entry_id}")
