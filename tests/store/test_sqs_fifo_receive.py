"""The FIFO receive query (sqs_receive_fifo) on every backend: groups are served in the order
they became available, and no message is taken while an older message of its group is hidden.
Times are explicit, so the cases do not depend on the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from cipherpost.services.sqs.messages import fifo_order
from cipherpost.store import Step, Store

# (not imported from conftest: with tests/unit collected too, another conftest takes that name)
Opener = Callable[[], Coroutine[Any, Any, Store]]

QUEUE = "fifo"
UNLIMITED = 1 << 62


async def _queue(store: Store) -> None:
    await store.execute("sqs_queue_insert", queue_id=QUEUE, account_id="000000000000", queue_name=QUEUE,
                        attributes="{}", tags="{}", created_at_s=0, dead_letter_target=None)


async def _send(store: Store, message_id: str, group_id: str, at: int) -> None:
    await store.write([Step("sqs_queue_next_seq", {"queue_id": QUEUE}), Step("sqs_message_insert", {
        "queue_id": QUEUE, "message_id": message_id, "body": b"x", "body_encoding": "utf-8", "md5_body": "",
        "message_attributes": None, "md5_message_attributes": None, "system_attributes": None,
        "md5_system_attributes": None, "sender_id": "s", "sent_at": at, "visible_at": at, "group_id": group_id,
        "dedup_id": None, "dead_letter_source_arn": None, "sealed_arn": None})])


async def _receive(store: Store, n: int, now: int, timeout: int) -> list[str]:
    """The message ids one receive at ``now`` takes, in the order it serves them."""
    params: dict[str, Any] = {"queue_id": QUEUE, "n": n, "now": now, "visible_until": now + timeout,
                              "token": f"t{now}", "expired_before": -1, "max_receive_count": UNLIMITED}
    _, taken = await store.write([Step("sqs_queue_lock", params), Step("sqs_receive_fifo", params)])
    return [str(row["message_id"]) for row in fifo_order(taken.rows)]


async def _change(store: Store, message_id: str, token: str, now: int, visible_at: int) -> None:
    result = await store.execute("sqs_message_change_visibility", queue_id=QUEUE, message_id=message_id,
                                 token=token, now=now, visible_at=visible_at)
    assert result.rowcount == 1


def _run(open_backend: Opener, scenario: Any) -> None:
    async def main() -> None:
        store = await open_backend()
        try:
            await _queue(store)
            await scenario(store)
        finally:
            await store.close()

    asyncio.run(main())


def test_a_returning_group_is_served_after_the_waiting_ones(open_backend: Opener) -> None:
    async def scenario(store: Store) -> None:
        for index, (message_id, group) in enumerate([("a1", "a"), ("a2", "a"), ("b1", "b"), ("c1", "c")]):
            await _send(store, message_id, group, 10 + index)
        assert await _receive(store, 2, 100, 50) == ["a1", "a2"]
        assert await _receive(store, 1, 110, 50) == ["b1"]
        # a is back at 150, b at 160: c (never received) first, then a, then b.
        assert await _receive(store, 10, 200, 0) == ["c1", "a1", "a2", "b1"]
        # Received with no visibility timeout, all came back at 200; d waited since 201.
        await _send(store, "d1", "d", 201)
        assert await _receive(store, 10, 202, 0) == ["a1", "a2", "b1", "c1", "d1"]

    _run(open_backend, scenario)


def test_a_hidden_message_holds_back_only_the_newer_messages_of_its_group(open_backend: Opener) -> None:
    async def scenario(store: Store) -> None:
        for index, message_id in enumerate(["m1", "m2", "m3"]):
            await _send(store, message_id, "g", 10 + index)
        await _send(store, "n1", "h", 20)
        assert await _receive(store, 3, 100, 50) == ["m1", "m2", "m3"]
        await _change(store, "m3", "t100", 101, 101)  # m3 visible, m1 and m2 still in flight
        assert await _receive(store, 10, 102, 50) == ["n1"]
        await _change(store, "m1", "t100", 103, 103)  # m1 visible again, m2 in flight
        assert await _receive(store, 10, 104, 50) == ["m1"]

    _run(open_backend, scenario)
