"""Queue handlers: create, find, list, delete, attributes, purge, tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cipherpost.context import RequestContext
from cipherpost.protocol.validation import is_xml_text
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.sqs import attributes as attrs
from cipherpost.services.sqs.core import SqsCore, bounded, decode_token, encode_token, required
from cipherpost.services.sqs.errors import (
    InvalidAttributeValue,
    InvalidParameterValue,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
)
from cipherpost.services.sqs.names import FIFO_SUFFIX, QueueRef, check_queue_name, parse_queue_arn, queue_arn
from cipherpost.services.sqs.queues import Queue, now_ms
from cipherpost.services.sqs.redrive import parse_redrive_policy
from cipherpost.store import UniqueViolation

#: "You must wait 60 seconds after deleting a queue before you can create another with the same name."
DELETED_WAIT_MS: Final = 60_000
#: "Only one PurgeQueue operation on a queue is allowed every 60 seconds."
PURGE_WAIT_MS: Final = 60_000
MAX_TAGS: Final = 50
LIST_LIMIT: Final = 1000


def check_tags(tags: Mapping[str, str]) -> None:
    """"Amazon SQS cost allocation tags": keys 1..128 characters, values up to 256; text that
    an XML answer (ListQueueTags over the Query protocol) can carry."""
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or len(value) > 256 or not (is_xml_text(key) and is_xml_text(value)):
            raise InvalidParameterValue(f"Tag key or value is invalid: {key[:128]!r}.")


class QueueOperations(SqsCore):
    """CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, Get/SetQueueAttributes, PurgeQueue, tags."""

    @operation("CreateQueue")
    async def create_queue(self, ctx: RequestContext, params: Params) -> Result:
        name = str(required(params, "QueueName"))
        given_raw: Mapping[str, str] = params.get("Attributes") or {}
        fifo = given_raw.get("FifoQueue", "").lower() == "true"
        check_queue_name(name, fifo=fifo or name.endswith(FIFO_SUFFIX))
        if name.endswith(FIFO_SUFFIX) and not fifo:
            check_queue_name(name, fifo=False)
        ref = QueueRef(ctx.caller.account_id, name)
        await self.access.check_account(ctx, queue_arn(self.region, ref))
        given = attrs.validate_attributes(given_raw, fifo=fifo, creating=True)
        tags: Mapping[str, str] = params.get("tags") or {}
        check_tags(tags)
        existing = await self.queues.get(ref, fresh=True)
        if existing is None:
            await self._create(ref, given, tags)
            existing = await self.queues.get(ref, fresh=True)
            assert existing is not None
        else:
            self._same_attributes(existing, given)
        return {"QueueUrl": existing.url}

    async def _create(self, ref: QueueRef, given: Mapping[str, str], tags: Mapping[str, str]) -> None:
        deleted_at = await self.queues.deleted_at(ref)
        if deleted_at is not None and now_ms() - deleted_at < DELETED_WAIT_MS:
            raise QueueDeletedRecently("You must wait 60 seconds after deleting a queue before you can create "
                                       "another with the same name.")
        values = attrs.initial_attributes(given, fifo=ref.fifo)
        await self._check_redrive(queue_arn(self.region, ref), ref, values)
        redrive = values.get("RedrivePolicy")
        target = parse_redrive_policy(redrive).dead_letter_target_arn if redrive else None
        try:
            await self.queues.create(ref, values, tags, target)
        except UniqueViolation:
            existing = await self.queues.get(ref, fresh=True)
            if existing is None:
                raise
            self._same_attributes(existing, given)

    @staticmethod
    def _same_attributes(existing: Queue, given: Mapping[str, str]) -> None:
        differing = attrs.differing_attribute(existing.attributes, given, fifo=existing.fifo)
        if differing is not None:
            raise QueueNameExists(f"A queue already exists with the same name and a different value for "
                                  f"attribute {differing}")

    async def _check_redrive(self, source_arn: str, source: QueueRef, values: Mapping[str, str]) -> None:
        """A RedrivePolicy must name an existing queue of the same type, account and region
        whose RedriveAllowPolicy admits the source ("Using dead-letter queues")."""
        text = values.get("RedrivePolicy")
        if not text:
            return
        target_arn = parse_redrive_policy(text).dead_letter_target_arn
        parsed = parse_queue_arn(target_arn)
        reason = None
        target = await self.queues.get(parsed[1]) if parsed else None
        if parsed is None or target is None or parsed[0] != self.region:
            reason = "Dead letter target does not exist."
        elif target.ref.account_id != source.account_id:
            reason = "Dead-letter queue must be in the same account as the source queue."
        elif target.fifo != source.fifo:
            reason = "Dead-letter queue must be same type of queue as the source."
        elif not target.redrive_allow_policy.allows(source_arn):
            reason = "The dead-letter queue's RedriveAllowPolicy does not allow this source queue."
        if reason is not None:
            raise InvalidAttributeValue(f"Invalid value for the parameter RedrivePolicy. Reason: {reason}")

    @operation("GetQueueUrl")
    async def get_queue_url(self, ctx: RequestContext, params: Params) -> Result:
        name = str(required(params, "QueueName"))
        account = params.get("QueueOwnerAWSAccountId") or ctx.caller.account_id
        queue = await self.queues.get(QueueRef(str(account), name))
        if queue is None:
            raise QueueDoesNotExist("The specified queue does not exist.")
        await self.access.check(ctx, queue)
        return {"QueueUrl": queue.url}

    @operation("ListQueues")
    async def list_queues(self, ctx: RequestContext, params: Params) -> Result:
        await self.access.check_account(ctx, "*")
        limit = bounded(params, "MaxResults", 1, LIST_LIMIT, LIST_LIMIT)
        paged = params.get("MaxResults") is not None
        names = await self.queues.names(ctx.caller.account_id, str(params.get("QueueNamePrefix") or ""),
                                        decode_token(params.get("NextToken")), limit + 1)
        result: Result = {}
        if names[:limit]:
            refs = [QueueRef(ctx.caller.account_id, name) for name in names[:limit]]
            result["QueueUrls"] = [f"{self.queues.base_url}/{ref.account_id}/{ref.queue_name}" for ref in refs]
        if paged and len(names) > limit:
            result["NextToken"] = encode_token(names[limit - 1])
        return result

    @operation("DeleteQueue")
    async def delete_queue(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        await self.queues.delete(queue)
        self.wake(queue.queue_id)
        return {}

    @operation("GetQueueAttributes")
    async def get_queue_attributes(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        names = list(params.get("AttributeNames") or ())
        known = set(attrs.SETTABLE) | set(attrs.COMPUTED) | {"All"}
        for name in names:
            if name not in known:
                raise attrs.unknown_attribute(name)
        everything = "All" in names
        wanted = set(attrs.SETTABLE) | set(attrs.COMPUTED) if everything else set(names)
        values = await self._attribute_values(queue, wanted)
        return {"Attributes": values} if values else {}

    async def _attribute_values(self, queue: Queue, wanted: set[str]) -> dict[str, str]:
        values = {name: value for name, value in attrs.visible_attributes(queue.attributes).items()
                  if name in wanted}
        computed: dict[str, str] = {
            "QueueArn": queue.arn,
            "CreatedTimestamp": str(queue.created_at_s),
            "LastModifiedTimestamp": str(queue.modified_at_s),
        }
        if wanted & {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                     "ApproximateNumberOfMessagesDelayed"}:
            counts = await self.messages.counts(queue, now_ms())
            computed["ApproximateNumberOfMessages"] = str(counts["visible"])
            computed["ApproximateNumberOfMessagesNotVisible"] = str(counts["in_flight"])
            computed["ApproximateNumberOfMessagesDelayed"] = str(counts["delayed"])
        values.update({name: value for name, value in computed.items() if name in wanted})
        return values

    @operation("SetQueueAttributes")
    async def set_queue_attributes(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        changes = attrs.validate_attributes(params.get("Attributes") or {}, fifo=queue.fifo, creating=False)
        values = attrs.apply_changes(queue.attributes, changes)
        await self._check_redrive(queue.arn, queue.ref, values)
        await self.queues.set_attributes(queue, values)
        return {}

    @operation("PurgeQueue")
    async def purge_queue(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        now = now_ms()
        if now - queue.purged_at < PURGE_WAIT_MS:
            raise PurgeQueueInProgress(f"Only one PurgeQueue operation on {queue.ref.queue_name} is allowed every "
                                       f"60 seconds.")
        await self.messages.purge(queue, now)
        self.queues.changed(queue.ref)
        return {}

    @operation("TagQueue")
    async def tag_queue(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        tags = {**queue.tags, **required(params, "Tags")}
        check_tags(tags)
        if len(tags) > MAX_TAGS:
            raise InvalidParameterValue(f"Too many tags added for queue {queue.ref.queue_name}.")
        await self.queues.set_tags(queue, tags)
        return {}

    @operation("UntagQueue")
    async def untag_queue(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        removed = set(params.get("TagKeys") or ())
        if not removed:
            raise InvalidParameterValue("Tag keys must be between 1 and 128 characters in length.")
        await self.queues.set_tags(queue, {key: value for key, value in queue.tags.items() if key not in removed})
        return {}

    @operation("ListQueueTags")
    async def list_queue_tags(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        return {"Tags": dict(queue.tags)} if queue.tags else {}
