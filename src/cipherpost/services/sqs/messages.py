"""Messages in the store: send, receive, delete, change visibility, purge, count, move.

Every write goes through the store's group commit, so a SendMessage (or a delete) that
returns has been fsynced. All message state — visibility deadline, receive count, current
receipt — lives in the store, never only in memory: after a restart an in-flight message
becomes visible again when its deadline passes, as in AWS.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cipherpost.ids import random_uuid
from cipherpost.services.sqs.contents import Attributes
from cipherpost.services.sqs.errors import ReceiptHandleIsInvalid
from cipherpost.services.sqs.md5 import md5_of_attributes, md5_of_body
from cipherpost.services.sqs.queues import Queue
from cipherpost.store import Row, Step, StepResult, Store

#: How a stored body's bytes are to be read (SSE's encodings are in :mod:`.sse`).
PLAINTEXT: Final = "utf-8"
#: "Exactly-once processing in Amazon SQS": FIFO deduplication interval.
DEDUP_INTERVAL_MS: Final = 5 * 60 * 1000
#: No redrive policy: no receive count limit.
UNLIMITED_RECEIVES: Final = 1 << 62


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class NewMessage:
    """A validated message about to be stored."""

    body: str
    message_attributes: Attributes
    system_attributes: Attributes
    delay_seconds: int
    sender_id: str
    group_id: str | None = None
    dedup_id: str | None = None
    stored_body: bytes | None = None
    """The body as stored (SSE: sealed); None stores ``body`` as plaintext UTF-8."""
    body_encoding: str = PLAINTEXT
    sealed_arn: str | None = None
    """The queue ARN a sealed body is bound to (it travels with the body to a dead-letter queue)."""

    def stored_as(self, stored_body: bytes, body_encoding: str, sealed_arn: str | None) -> NewMessage:
        """This message with its body in stored form (``dataclasses.replace``, at a third of the cost)."""
        return NewMessage(body=self.body, message_attributes=self.message_attributes,
                          system_attributes=self.system_attributes, delay_seconds=self.delay_seconds,
                          sender_id=self.sender_id, group_id=self.group_id, dedup_id=self.dedup_id,
                          stored_body=stored_body, body_encoding=body_encoding, sealed_arn=sealed_arn)


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class Sent:
    """What SendMessage reports about a stored (or deduplicated) message."""

    message_id: str
    md5_body: str
    md5_message_attributes: str | None
    md5_system_attributes: str | None
    sequence_number: str | None


@dataclass(frozen=True, slots=True)
class Receipt:
    """A decoded receipt handle: which message, under which receive."""

    queue_id: str
    message_id: str
    token: str


def encode_receipt(queue_id: str, message_id: str, token: str) -> str:
    """An opaque receipt handle (changes with every receive of the message)."""
    raw = f"{queue_id}/{message_id}/{token}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_receipt(receipt_handle: str, queue: Queue) -> Receipt:
    """The receipt a handle carries; raises ``ReceiptHandleIsInvalid`` unless it is one of ``queue``'s."""
    try:
        parts = base64.urlsafe_b64decode(receipt_handle.encode("ascii")).decode("ascii").split("/")
    except (ValueError, binascii.Error, UnicodeError):
        parts = []
    if len(parts) != 3 or parts[0] != queue.queue_id or not all(parts):
        raise ReceiptHandleIsInvalid(f'The input receipt handle "{receipt_handle[:256]}" is not a valid receipt '
                                     f"handle.")
    return Receipt(parts[0], parts[1], parts[2])


#: Apart from a queue's base, consecutive messages' SequenceNumbers are this far apart.
SEQUENCE_STRIDE: Final = 1 << 16


@functools.lru_cache(maxsize=4096)
def _sequence_base(queue_id: str) -> int:
    """Where a queue's SequenceNumbers start: 10**19 plus up to 8 * 10**18, from its id."""
    return 10**19 + int.from_bytes(hashlib.sha256(queue_id.encode("utf-8")).digest()[:8], "big") % (8 * 10**18)


def sequence_number(queue_id: str, seq: int) -> str:
    """SequenceNumber of a queue's ``seq``-th message: "the large, non-consecutive number that
    Amazon SQS assigns to each message", 20 digits as AWS shows them, increasing per queue
    (seq below 10**15: a queue's ``last_seq`` would take 30 years at a million a second)."""
    return str(_sequence_base(queue_id) + seq * SEQUENCE_STRIDE)


def _dump_attributes(attributes: Attributes) -> str | None:
    if not attributes:
        return None
    out: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if "BinaryValue" in value:
            out[name] = {"DataType": value["DataType"], "BinaryValue": base64.b64encode(value["BinaryValue"]).decode()}
        else:
            out[name] = {"DataType": value["DataType"], "StringValue": value["StringValue"]}
    return json.dumps(out, sort_keys=True)


def load_attributes(text: str | None) -> Attributes:
    """Stored attributes back to the handler form (BinaryValue as bytes)."""
    if not text:
        return {}
    out: Attributes = {}
    for name, value in json.loads(text).items():
        if "BinaryValue" in value:
            out[name] = {"DataType": value["DataType"], "BinaryValue": base64.b64decode(value["BinaryValue"])}
        else:
            out[name] = dict(value)
    return out


def dedup_keys(queue: Queue, group_id: str | None, dedup_id: str) -> tuple[str, str]:
    """(the key a message claims, the key of the other scope) for a deduplication id.

    DeduplicationScope ``queue`` keys an id by itself, ``messageGroup`` by its group and
    itself. A message claims the key of the queue's scope, and is a duplicate too while an id
    recorded under the other scope matches it (the queue's scope changed in the last five
    minutes): an id sent before the change keeps deduplicating what it covered then, in
    particular a resend to the same group, under either scope. AWS's recordings agree: a
    queue changed to ``messageGroup`` still drops an id sent before in another group, one
    changed to ``queue`` still delivers an id seen only in other groups.
    """
    # Length-prefixed, so no two (group, id) pairs share a key; no NUL (PostgreSQL TEXT
    # refuses it). A raw id shaped like such a key ("1:g:d") meets the other scope's key of
    # that pair: harmless, as any sender to the queue can claim any (group, id) anyway.
    per_group = f"{len(group_id or '')}:{group_id or ''}:{dedup_id}"
    return (per_group, dedup_id) if queue.deduplication_per_group else (dedup_id, per_group)


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class SendPlan:
    """Messages ready to store: the steps of one write, and how to read its results."""

    queue: Queue
    steps: list[Step]
    parts: list[tuple[dict[str, Any], str, int, int]]
    """Per message: insert parameters, body MD5, and its slice of ``steps``."""

    @property
    def visible_now(self) -> bool:
        """Some message is visible at once (sent without delay): long polls should wake."""
        return any(params["visible_at"] <= params["sent_at"] for params, _, _, _ in self.parts)

    def outcome(self, results: Sequence[StepResult]) -> list[Sent | None]:
        """Per message (``results``: those of :attr:`steps`), what was stored; None where the
        queue vanished before the write."""
        return [_sent(params, md5, results[start:end]) for params, md5, start, end in self.parts]


def _sent(params: Mapping[str, Any], md5_body: str, results: Sequence[StepResult]) -> Sent | None:
    insert = results[1] if len(results) == 2 else results[3]
    message_id = str(params["message_id"])
    if len(results) == 2:  # no deduplication id: no sequence number to report
        if not insert.rows and insert.rowcount <= 0:
            return None
        return Sent(message_id, md5_body, params["md5_message_attributes"], params["md5_system_attributes"], None)
    if insert.rows:
        seq = int(insert.rows[0]["seq"])
    elif results[5].rows:  # a duplicate: report the original message
        original = results[5].rows[0]
        message_id, seq = str(original["message_id"]), int(original["seq"] or 0)
    else:
        return None
    fifo = "dedup_key" in params
    return Sent(message_id, md5_body, params["md5_message_attributes"], params["md5_system_attributes"],
                sequence_number(str(params["queue_id"]), seq) if fifo else None)


def fifo_order(rows: Sequence[Row]) -> list[Row]:
    """FIFO received messages in the order AWS serves them: group by group, groups in the
    order they became available (``group_available_at``, then their oldest message here),
    each group's messages in sequence order."""
    heads: dict[str | None, int] = {}
    for row in rows:
        seq = int(row["seq"])
        heads[row["group_id"]] = min(seq, heads.get(row["group_id"], seq))
    return sorted(rows, key=lambda row: (int(row["group_available_at"] or 0), heads[row["group_id"]],
                                         int(row["seq"])))


class MessageStore:
    """Message operations over the store (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _insert_params(self, queue: Queue, message: NewMessage, message_id: str, now: int,
                       md5_body: str) -> dict[str, Any]:
        plaintext = message.stored_body is None
        return {
            "queue_id": queue.queue_id, "message_id": message_id,
            "body": message.body.encode("utf-8") if message.stored_body is None else message.stored_body,
            "body_encoding": message.body_encoding, "sealed_arn": message.sealed_arn,
            # A sealed body's MD5 is not stored: it would confirm guesses at the plaintext.
            "md5_body": md5_body if plaintext else "",
            "message_attributes": _dump_attributes(message.message_attributes),
            "md5_message_attributes": md5_of_attributes(message.message_attributes),
            "system_attributes": _dump_attributes(message.system_attributes),
            "md5_system_attributes": md5_of_attributes(message.system_attributes),
            "sender_id": message.sender_id, "sent_at": now, "visible_at": now + message.delay_seconds * 1000,
            "group_id": message.group_id, "dedup_id": message.dedup_id, "dead_letter_source_arn": None,
        }

    def _steps(self, queue: Queue, message: NewMessage, params: dict[str, object], now: int) -> list[Step]:
        if not queue.fifo:
            return [Step("sqs_queue_next_seq", params), Step("sqs_message_insert_standard", params)]
        if message.dedup_id is None:  # (a FIFO message always has one: fifo.message_ids)
            return [Step("sqs_queue_next_seq", params), Step("sqs_message_insert", params)]
        params["dedup_key"], params["other_key"] = dedup_keys(queue, message.group_id, message.dedup_id)
        params["dedup_expires_at"] = now + DEDUP_INTERVAL_MS
        return [Step("sqs_dedup_expire", params), Step("sqs_dedup_claim", params),
                Step("sqs_queue_next_seq_claimed", params), Step("sqs_message_insert_claimed", params),
                Step("sqs_dedup_set_seq", params), Step("sqs_dedup_get", params)]

    def plan(self, queue: Queue, messages: Sequence[NewMessage], now: int) -> SendPlan:
        """The steps that store ``messages`` (one atomic write, possibly with other steps)."""
        parts: list[tuple[dict[str, Any], str, int, int]] = []
        steps: list[Step] = []
        for message in messages:
            md5_body = md5_of_body(message.body)
            params = self._insert_params(queue, message, random_uuid(), now, md5_body)
            start = len(steps)
            steps += self._steps(queue, message, params, now)
            parts.append((params, md5_body, start, len(steps)))
        return SendPlan(queue, steps, parts)

    async def receive(self, queue: Queue, *, n: int, visibility_timeout: int, now: int,
                      max_receive_count: int = UNLIMITED_RECEIVES) -> tuple[str, list[Row]]:
        """Take up to ``n`` visible messages in flight; returns (receipt token, rows in order)."""
        token = uuid.uuid4().hex
        params = {"queue_id": queue.queue_id, "n": n, "now": now, "visible_until": now + visibility_timeout * 1000,
                  "token": token, "expired_before": queue.expired_before(now), "max_receive_count": max_receive_count}
        steps = [Step("sqs_queue_lock", params), Step("sqs_receive_fifo", params)] if queue.fifo else [
            Step("sqs_receive", params)]
        rows = (await self.store.write(steps))[-1].rows
        return token, fifo_order(rows) if queue.fifo else sorted(rows, key=lambda row: int(row["seq"]))

    async def release(self, queue: Queue, token: str, now: int) -> None:
        """Make the messages one receive took visible again, uncounted (the receive failed)."""
        await self.store.execute("sqs_messages_release", queue_id=queue.queue_id, token=token, now=now)

    async def received_under(self, queue: Queue, token: str, now: int) -> list[Row]:
        """Messages still in flight under the receive ``token`` (ReceiveRequestAttemptId retries),
        in the order that receive returned them."""
        rows = await self.store.fetch_all("sqs_messages_by_token", queue_id=queue.queue_id, token=token, now=now)
        return fifo_order(rows) if queue.fifo else rows

    async def delete(self, queue: Queue, receipt: Receipt, now: int) -> bool:
        """Delete a message; a FIFO queue needs its latest, unexpired receipt handle. True if
        one was deleted.

        "DeleteMessage": an older receipt handle "succeeds, but the message might not be
        deleted". Standard queues delete it anyway (what AWS does in practice, and the safe
        side for at-least-once consumers); FIFO queues leave it, to keep group order (and
        the caller reports the handle as expired, as AWS does).
        """
        query = "sqs_message_delete_exact" if queue.fifo else "sqs_message_delete"
        result = await self.store.execute(query, queue_id=queue.queue_id, message_id=receipt.message_id,
                                          token=receipt.token, now=now)
        return result.rowcount > 0

    async def change_visibility(self, queue: Queue, receipt: Receipt, timeout: int, now: int) -> bool:
        """Set a message's deadline to ``now + timeout``; False when the handle does not allow it.

        FIFO queues need the message in flight under this receipt handle. Standard queues take
        any receipt handle of a received message, in flight or not: AWS answers those with
        success too (its documentation says only that such a change "might result in an error").
        """
        query = "sqs_message_change_visibility" if queue.fifo else "sqs_message_change_visibility_received"
        result = await self.store.execute(query, queue_id=queue.queue_id, message_id=receipt.message_id,
                                          token=receipt.token, now=now, visible_at=now + timeout * 1000)
        return result.rowcount > 0

    async def state(self, queue: Queue, message_id: str) -> Row | None:
        return await self.store.fetch_one("sqs_message_state", queue_id=queue.queue_id, message_id=message_id)

    async def purge(self, queue: Queue, now: int) -> None:
        """Delete the queue's messages and forget its deduplication ids: after a PurgeQueue,
        AWS accepts and delivers a message with an id (or body) seen before the purge."""
        params = {"queue_id": queue.queue_id, "now": now}
        await self.store.write([Step("sqs_messages_purge", params), Step("sqs_queue_delete_dedup", params),
                                Step("sqs_queue_purge", params)])

    async def counts(self, queue: Queue, now: int) -> Row:
        row = await self.store.fetch_one("sqs_queue_counts", queue_id=queue.queue_id, now=now,
                                         expired_before=queue.expired_before(now))
        return row or {"visible": 0, "in_flight": 0, "delayed": 0}

    async def next_visible(self, queue: Queue, now: int) -> int | None:
        """When the next hidden message becomes visible (epoch ms), if any is hidden."""
        row = await self.store.fetch_one("sqs_next_visible", queue_id=queue.queue_id, now=now)
        return int(row["next_at"]) if row and row["next_at"] is not None else None

    async def over_limit(self, queue: Queue, max_receive_count: int, now: int, n: int) -> list[str]:
        """Visible messages that reached ``max_receive_count`` (dead-letter candidates)."""
        rows = await self.store.fetch_all("sqs_redrive_candidates", queue_id=queue.queue_id, now=now,
                                          max_receive_count=max_receive_count, n=n)
        return [str(row["message_id"]) for row in rows]

    async def move(self, source: Queue, target: Queue, message_ids: Sequence[str], now: int, *,
                   min_receive_count: int, dead_letter_source_arn: str | None) -> int:
        """Move visible messages from ``source`` to ``target`` atomically; returns how many moved.

        A moved message keeps its id, body, attributes and SentTimestamp. Moved to a
        dead-letter queue (``dead_letter_source_arn`` set) it also keeps its receive count and
        first receive time (AWS: received once from the DLQ after maxReceiveCount=1, it shows
        ApproximateReceiveCount 2); moved by a move task its receive count starts again at zero.
        """
        steps: list[Step] = []
        for message_id in message_ids:
            params = {"queue_id": source.queue_id, "target_queue_id": target.queue_id, "message_id": message_id,
                      "now": now, "min_receive_count": min_receive_count,
                      "dead_letter_source_arn": dead_letter_source_arn,
                      "keep_receives": 1 if dead_letter_source_arn else 0}
            steps += [Step("sqs_queue_next_seq", {"queue_id": target.queue_id}),
                      Step("sqs_message_copy", params), Step("sqs_message_delete_moved", params)]
        results = await self.store.write(steps)
        return sum(result.rowcount for result in results[2::3])

    async def movable(self, queue: Queue, now: int, n: int) -> list[Row]:
        """Visible messages in order, with ``dead_letter_source_arn`` (message move tasks)."""
        return await self.store.fetch_all("sqs_move_candidates", queue_id=queue.queue_id, now=now, n=n,
                                          expired_before=queue.expired_before(now))

    async def expire(self, queue_id: str, expired_before: int) -> int:
        result = await self.store.execute("sqs_messages_expire", queue_id=queue_id, expired_before=expired_before)
        return result.rowcount

