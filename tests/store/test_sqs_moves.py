"""The SQS move queries (dead-letter moves, message move tasks) on every backend: a move into
a queue deleted after the caller looked it up moves nothing and loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from cipherpost.store import Step, Store

# (not imported from conftest: with tests/unit collected too, another conftest takes that name)
Opener = Callable[[], Coroutine[Any, Any, Store]]

ACCOUNT = "000000000000"


async def _queue(store: Store, queue_id: str) -> None:
    await store.execute("sqs_queue_insert", queue_id=queue_id, account_id=ACCOUNT, queue_name=queue_id,
                        attributes="{}", tags="{}", created_at_s=0, dead_letter_target=None)


async def _send(store: Store, queue_id: str, message_id: str) -> None:
    await store.write([Step("sqs_queue_next_seq", {"queue_id": queue_id}), Step("sqs_message_insert_standard", {
        "queue_id": queue_id, "message_id": message_id, "body": b"hello", "body_encoding": "utf-8",
        "md5_body": "5d41402abc4b2a76b9719d911017c592", "message_attributes": None, "md5_message_attributes": None,
        "system_attributes": None, "md5_system_attributes": None, "sender_id": ACCOUNT, "sent_at": 1,
        "visible_at": 1, "group_id": None, "dedup_id": None, "dead_letter_source_arn": None, "sealed_arn": None})])


async def _two_queues_and_a_message(store: Store) -> None:
    """Queues ``src`` and ``dst``, and message ``m1`` in ``src``."""
    await _queue(store, "src")
    await _queue(store, "dst")
    await _send(store, "src", "m1")


def _move_steps(source: str, target: str, message_id: str) -> list[Step]:
    params: dict[str, Any] = {"queue_id": source, "target_queue_id": target, "message_id": message_id, "now": 10,
                              "min_receive_count": 0, "dead_letter_source_arn": None, "keep_receives": 0}
    return [Step("sqs_queue_next_seq", {"queue_id": target}), Step("sqs_message_copy", params),
            Step("sqs_message_delete_moved", params)]


def test_a_move_copies_then_removes(open_backend: Opener) -> None:
    async def scenario() -> None:
        store = await open_backend()
        try:
            await _two_queues_and_a_message(store)
            results = await store.write(_move_steps("src", "dst", "m1"))
            assert [result.rowcount for result in results[1:]] == [1, 1]
            assert await store.fetch_one("sqs_message_state", queue_id="src", message_id="m1") is None
            assert await store.fetch_one("sqs_message_state", queue_id="dst", message_id="m1") is not None
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_move_into_a_deleted_queue_moves_nothing(open_backend: Opener) -> None:
    async def scenario() -> None:
        store = await open_backend()
        try:
            await _two_queues_and_a_message(store)
            await store.execute("sqs_queue_delete", queue_id="dst")
            results = await store.write(_move_steps("src", "dst", "m1"))  # was: NOT NULL violation on seq
            assert [result.rowcount for result in results[1:]] == [0, 0]
            assert await store.fetch_one("sqs_message_state", queue_id="src", message_id="m1") is not None
        finally:
            await store.close()

    asyncio.run(scenario())
