"""Publish and PublishBatch: acceptance is atomic and durable.

One store write holds the message (its body sealed under the topic's KMS key when the
topic has one) and one outbox row per confirmed subscription whose filter policy the
message matches *at that moment*; the MessageId is returned only after that write is
committed, and the delivery worker (:mod:`.delivery`) does the rest. Filter policies are
applied here, at acceptance, because the plaintext body is in hand (no decryption is
needed to filter a body of an encrypted topic) and a filtered-out subscription then costs
no outbox row; AWS likewise evaluates the policies in effect when the message is published.

FIFO topics: the message takes the topic's next sequence number and claims its
deduplication id (explicit, or the SHA-256 of the body with ContentBasedDeduplication)
for 5 minutes; a duplicate within that time is acknowledged with the first message's id
and sequence number and stored nowhere.
"""

from __future__ import annotations

from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.errors import AwsError
from cipherpost.ids import random_uuid
from cipherpost.services.base import Params, Result, operation
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
from cipherpost.services.sns.messages import Outgoing
from cipherpost.services.sns.sse import SSE_ENCODING
from cipherpost.services.sns.subscriptions import Subscription
from cipherpost.services.sns.topics import Topic
from cipherpost.store import Step

DEDUP_MS: Final = 5 * 60 * 1000
MAX_BATCH: Final = 10


def sequence_number(seq: int) -> str:
    """A FIFO SequenceNumber: 20 digits, as AWS prints them."""
    return f"{seq:020d}"


class PublishOperations(SnsCore):
    """Publish handlers."""

    @operation("Publish")
    async def publish(self, ctx: RequestContext, params: Params) -> Result:
        topic_arn, target_arn = params.get("TopicArn"), params.get("TargetArn")
        if params.get("PhoneNumber") is not None:
            raise InvalidParameter("Invalid parameter: PhoneNumber Reason: Cipherpost does not send SMS")
        if topic_arn and target_arn:
            raise InvalidParameter("Invalid parameter: TopicArn Reason: Only one of TopicArn or TargetArn may be set")
        if not (topic_arn or target_arn):
            raise InvalidParameter("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
        topic = await self.topic_for(ctx, topic_arn or target_arn, "Publish",
                                     parameter="TopicArn" if topic_arn else "TargetArn", cached=True)
        outgoing = messages.check_message(params, fifo=topic.fifo, content_based_dedup=topic.content_based_dedup)
        return await self.accept(ctx, topic, outgoing)

    @operation("PublishBatch")
    async def publish_batch(self, ctx: RequestContext, params: Params) -> Result:
        entries = _check_batch(params.get("PublishBatchRequestEntries"))
        topic = await self.topic_for(ctx, params.get("TopicArn"), "Publish", cached=True)
        successful: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for entry in entries:
            entry_id = str(entry["Id"])
            try:
                outgoing = messages.check_message(entry, fifo=topic.fifo,
                                                  content_based_dedup=topic.content_based_dedup)
                accepted = await self.accept(ctx, topic, outgoing)
            except AwsError as error:
                failed.append(result_error(entry_id, error))
                continue
            successful.append({"Id": entry_id, **accepted})
        return {"Successful": successful, "Failed": failed}

    async def accept(self, ctx: RequestContext, topic: Topic, outgoing: Outgoing) -> Result:
        """Store the message and its deliveries in one write; the MessageId once committed."""
        now = now_ms()
        if topic.fifo and outgoing.dedup_id is not None:
            duplicate = await self.store.fetch_one("sns_dedup_get", topic_arn=topic.arn, dedup_id=outgoing.dedup_id,
                                                   now=now)
            if duplicate is not None:
                return {"MessageId": str(duplicate["message_id"]),
                        "SequenceNumber": sequence_number(int(duplicate["seq"]))}
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
            "signature_version": topic.signature_version, "published_at": now,
        }
        steps = self._fifo_steps(topic, row, now) if topic.fifo else [Step("sns_message_insert", row)]
        steps += [Step("sns_outbox_insert", {"delivery_id": random_uuid(), "message_id": message_id,
                                             "subscription_arn": sub.arn, "now": now, "target": None})
                  for sub in targets]
        steps.append(Step("sns_message_delete_if_done", {"message_id": message_id}))
        results = await self.store.write(steps)
        if targets:
            self.notify_worker()
        if not topic.fifo:
            return {"MessageId": message_id}
        inserted = results[4].rows
        if inserted:
            return {"MessageId": message_id, "SequenceNumber": sequence_number(int(inserted[0]["seq"]))}
        winner = await self.store.fetch_one("sns_dedup_get", topic_arn=topic.arn, dedup_id=outgoing.dedup_id,
                                            now=now)
        if winner is None:  # the topic was deleted while we wrote
            return {"MessageId": message_id, "SequenceNumber": sequence_number(0)}
        return {"MessageId": str(winner["message_id"]), "SequenceNumber": sequence_number(int(winner["seq"]))}

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


def _check_batch(entries: object) -> list[dict[str, Any]]:
    """PublishBatch's checks on the whole request, before any entry is looked at."""
    items = [dict(item) for item in entries or ()] if isinstance(entries, list) else []
    if not items:
        raise EmptyBatchRequest("The batch request doesn't contain any entries.")
    if len(items) > MAX_BATCH:
        raise TooManyEntriesInBatchRequest("The batch request contains more entries than permissible.")
    ids = [str(item.get("Id", "")) for item in items]
    for entry_id in ids:
        if not entry_id or len(entry_id) > 80 or not all(ch.isalnum() or ch in "-_" for ch in entry_id):
            raise InvalidBatchEntryId("The Id of a batch entry in a batch request doesn't abide by the "
                                      "specification.")
    if len(set(ids)) != len(ids):
        raise BatchEntryIdsNotDistinct("Two or more batch entries in the request have the same Id.")
    total = sum(len(str(item.get("Message") or "").encode()) for item in items)
    if total > messages.MAX_MESSAGE_BYTES:
        raise BatchRequestTooLong("The length of all the batch messages put together is more than the limit.")
    return items
