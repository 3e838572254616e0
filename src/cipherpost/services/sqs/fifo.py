"""FIFO-queue message fields: MessageGroupId and MessageDeduplicationId.

"SendMessage": both ids are up to 128 characters of ``a-zA-Z0-9`` and punctuation
``!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~``. On a FIFO queue MessageGroupId is required, and
MessageDeduplicationId is required unless the queue has ContentBasedDeduplication, in
which case it defaults to the SHA-256 of the body. Per-message DelaySeconds is not
allowed on FIFO queues, except 0, which leaves the queue's own delay in force. Standard
queues refuse MessageDeduplicationId, and accept MessageGroupId (fair queues, 2025)
without ordering.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from cipherpost.services.sqs.errors import InvalidParameterValue, MissingParameter
from cipherpost.services.sqs.queues import Queue

MAX_ID_LENGTH: Final = 128
_ID: Final = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
_NOT_FOR_TYPE: Final = "The request include parameter that is not valid for this queue type."
_GROUP_REQUIRED: Final = "The request must contain the parameter MessageGroupId."
_DEDUP_REQUIRED: Final = ("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                          "provided explicitly")


def check_id(parameter: str, value: str) -> str:
    """Raise ``InvalidParameterValue`` unless ``value`` is a valid group or deduplication id."""
    if not _ID.fullmatch(value):
        raise InvalidParameterValue(f"Value {value[:256]} for parameter {parameter} is invalid. Reason: "
                                    f"{parameter} can only include alphanumeric and punctuation characters. "
                                    f"1 to {MAX_ID_LENGTH} in length.")
    return value


def content_hash(body: str) -> str:
    """ContentBasedDeduplication: SHA-256 of the body (hex)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def message_ids(queue: Queue, params: Mapping[str, Any], body: str) -> tuple[str | None, str | None]:
    """(group id, deduplication id) of a message sent to ``queue``, checked.

    Raises:
        MissingParameter: a FIFO message without MessageGroupId.
        InvalidParameterValue: an invalid id, no deduplication id where one is needed, or an
            id the queue type does not take.
    """
    group = params.get("MessageGroupId")
    dedup = params.get("MessageDeduplicationId")
    if group is not None:
        check_id("MessageGroupId", group)
    if dedup is not None:
        check_id("MessageDeduplicationId", dedup)
    if not queue.fifo:
        if dedup is not None:
            raise InvalidParameterValue(f"Value {dedup} for parameter MessageDeduplicationId is invalid. "
                                        f"Reason: {_NOT_FOR_TYPE}")
        return group, None
    if group is None:
        raise MissingParameter(_GROUP_REQUIRED)
    if dedup is None:
        if not queue.content_based_deduplication:
            raise InvalidParameterValue(_DEDUP_REQUIRED)
        dedup = content_hash(body)
    return group, dedup


def check_batch_ids(queue: Queue, entries: Iterable[Mapping[str, Any]]) -> None:
    """SendMessageBatch to a FIFO queue: an entry without MessageGroupId, or without
    MessageDeduplicationId where the queue has no ContentBasedDeduplication, fails the whole
    request (``InvalidParameterValue``), not just that entry as other entry errors do.
    """
    if not queue.fifo:
        return
    for entry in entries:
        if entry.get("MessageGroupId") is None:
            raise InvalidParameterValue(_GROUP_REQUIRED)
    if not queue.content_based_deduplication and any(entry.get("MessageDeduplicationId") is None
                                                     for entry in entries):
        raise InvalidParameterValue(_DEDUP_REQUIRED)


def delay_seconds(queue: Queue, value: int | None) -> int:
    """The delay of one message: its own DelaySeconds (standard queues only) or the queue's.

    A FIFO queue takes ``DelaySeconds=0`` as "not given" (the queue's delay applies); any
    other per-message value is refused there.
    """
    if value is None or (queue.fifo and value == 0):
        return queue.delay_seconds
    if queue.fifo:
        raise InvalidParameterValue(f"Value {value} for parameter DelaySeconds is invalid. Reason: {_NOT_FOR_TYPE}")
    if not 0 <= value <= 900:
        raise InvalidParameterValue(f"Value {value} for parameter DelaySeconds is invalid. Reason: DelaySeconds "
                                    f"must be >= 0 and <= 900.")
    return value
