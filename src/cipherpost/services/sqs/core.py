"""What every group of SQS handlers shares: the queue registry, messages, long-poll
notifier, authorization, and resolving the queue a request names."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.runtime import Runtime
from cipherpost.services.authz import Authorizer
from cipherpost.services.base import Params, Provider
from cipherpost.services.broadcast import Broadcast
from cipherpost.services.sqs import events
from cipherpost.services.sqs.access import QueueAccess
from cipherpost.services.sqs.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidParameterValue,
    MissingParameter,
    TooManyEntriesInBatchRequest,
)
from cipherpost.services.sqs.messages import MessageStore
from cipherpost.services.sqs.names import QueueRef, parse_queue_url
from cipherpost.services.sqs.queues import Queue, QueueRegistry
from cipherpost.services.sqs.sse import BodyCodec, KmsApi
from cipherpost.services.sqs.waiters import QueueNotifier

MAX_BATCH: Final = 10
_BATCH_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,80}")


def bounded(params: Mapping[str, Any], name: str, low: int, high: int, default: int, *,
            reason: str | None = None) -> int:
    """An integer parameter within ``low..high`` (AWS: ``InvalidParameterValue`` otherwise).

    ``reason``: AWS's wording of the range where it differs ("Must be between L and H").
    """
    value = params.get(name)
    if value is None:
        return default
    if not low <= value <= high:
        raise InvalidParameterValue(f"Value {value} for parameter {name} is invalid. Reason: "
                                    f"{reason or f'Must be between {low} and {high}'}, if provided.")
    return int(value)


def required(params: Mapping[str, Any], name: str) -> Any:
    """A parameter that must be present and non-empty.

    An empty string, list or map counts as absent: the Query protocol cannot even send an
    empty list or map, and SQS answers the JSON protocol's ``[]`` and ``{}`` alike.
    """
    value = params.get(name)
    if value is None or (isinstance(value, (str, list, dict)) and not value):
        raise MissingParameter(f"The request must contain the parameter {name}.")
    return value


def check_batch(entries: Iterable[Mapping[str, Any]] | None, operation: str) -> list[Mapping[str, Any]]:
    """A batch's entries, checked as AWS checks them before looking at any entry.

    Raises:
        EmptyBatchRequest, TooManyEntriesInBatchRequest, BatchEntryIdsNotDistinct, InvalidBatchEntryId.
    """
    items = list(entries or ())
    if not items:
        raise EmptyBatchRequest(f"There should be at least one {operation}RequestEntry in the request.")
    if len(items) > MAX_BATCH:
        raise TooManyEntriesInBatchRequest(f"Maximum number of entries per request are {MAX_BATCH}. You have "
                                           f"sent {len(items)}.")
    ids = [str(item.get("Id", "")) for item in items]
    for entry_id in ids:
        if not _BATCH_ID.fullmatch(entry_id):
            raise InvalidBatchEntryId("A batch entry id can only contain alphanumeric characters, hyphens and "
                                      "underscores. It can be at most 80 letters long.")
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:  # the first entry that repeats an earlier one is reported
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)
    return items


def encode_token(name: str) -> str:
    """An opaque NextToken continuing after queue ``name``."""
    return base64.urlsafe_b64encode(name.encode()).decode()


def decode_token(token: str | None) -> str:
    """The queue name a NextToken continues after."""
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidParameterValue("Invalid NextToken value.") from None


class SqsCore(Provider):
    """State and helpers shared by the SQS handler groups."""

    service = "sqs"

    def __init__(self, runtime: Runtime, authz: Authorizer, *, kms: KmsApi | None = None) -> None:
        """``kms``: the KMS provider, for SSE-KMS queues (without it their sends and receives fail)."""
        super().__init__(runtime, authz)
        self.region = runtime.settings.region
        self.queues = QueueRegistry(runtime.store, region=self.region, base_url=runtime.settings.base_url)
        self.messages = MessageStore(runtime.store)
        self.notifier = QueueNotifier()
        self.access = QueueAccess(authz)
        self.codec = BodyCodec(runtime.store, runtime.keyring, kms)
        self.broadcast = Broadcast(runtime.store, events.CHANNEL, self._remote_event)
        self.queues.on_change = self._queue_changed
        if kms is not None:
            kms.key_listeners.append(self._key_unusable)
        #: FIFO ReceiveRequestAttemptId -> (when, receipt token), per queue.
        self.attempts: dict[tuple[str, str], tuple[float, str]] = {}

    def wake(self, queue_id: str) -> None:
        """Messages may be available in ``queue_id``: wake long polls here and on other nodes."""
        self.notifier.notify(queue_id)
        self.broadcast.publish(events.MESSAGES, queue_id)

    def _queue_changed(self, ref: QueueRef) -> None:
        self.broadcast.publish(events.QUEUE, f"{ref.account_id}/{ref.queue_name}")

    async def _key_unusable(self, key_id: str) -> None:
        """KMS disabled a key or scheduled its deletion: its data keys stop working on every node."""
        self.codec.invalidate_key(key_id)
        await self.broadcast.publish_now(events.KMS_KEY, key_id)

    def _remote_event(self, kind: str, value: str) -> None:
        """Another node's event (see :mod:`.events`)."""
        if kind == events.MESSAGES:
            self.notifier.notify(value)
        elif kind == events.QUEUE:
            account_id, _, name = value.partition("/")
            self.queues.invalidate(QueueRef(account_id, name))
        elif kind == events.KMS_KEY:
            self.codec.invalidate_key(value)

    async def queue_for(self, ctx: RequestContext, params: Params, *, operation: str | None = None) -> Queue:
        """The queue ``QueueUrl`` names, once the caller is authorized for the operation on it.

        Raises:
            MissingParameter: no QueueUrl.
            QueueDoesNotExist: no such queue (a bare queue name means one of the caller's account).
            AccessDenied: the policies do not allow the caller.
        """
        ref = parse_queue_url(str(required(params, "QueueUrl")), ctx.caller.account_id)
        queue = await self.queues.require(ref)
        await self.access.check(ctx, queue, operation=operation)
        return queue
