"""Store contract: what every backend must do. Run on each backend in conftest.BACKENDS."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from cipherpost.store import Step, Store, StoreClosed, StoreError, UniqueViolation, UnstorableText

Opener = Callable[[], Coroutine[Any, Any, Store]]


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def test_write_then_read(open_backend: Opener) -> None:
    async def scenario() -> None:
        store = await open_backend()
        result = await store.execute("probe_insert", id="a", payload="one")
        assert result.rowcount == 1
        assert await store.fetch_one("probe_get", id="a") == {"id": "a", "payload": "one"}
        assert await store.fetch_one("probe_get", id="missing") is None
        await store.close()

    run(scenario())


def test_unique_violation_is_typed_and_isolated(open_backend: Opener) -> None:
    """A failing write fails alone: concurrent writes in the same group commit still land."""

    async def scenario() -> None:
        store = await open_backend()
        await store.execute("probe_insert", id="dup", payload="first")
        results = await asyncio.gather(
            store.execute("probe_insert", id="dup", payload="second"),
            *(store.execute("probe_insert", id=f"k{i}", payload="x") for i in range(20)),
            return_exceptions=True,
        )
        assert isinstance(results[0], UniqueViolation)
        assert all(not isinstance(item, BaseException) for item in results[1:])
        assert await store.fetch_one("probe_count") == {"n": 21}
        assert (await store.fetch_one("probe_get", id="dup")) == {"id": "dup", "payload": "first"}
        await store.close()

    run(scenario())


def test_multi_step_write_is_atomic(open_backend: Opener) -> None:
    async def scenario() -> None:
        store = await open_backend()
        await store.execute("probe_insert", id="taken", payload="x")
        with pytest.raises(UniqueViolation):
            await store.write([Step("probe_insert", {"id": "new", "payload": "y"}),
                               Step("probe_insert", {"id": "taken", "payload": "z"})])
        assert await store.fetch_one("probe_get", id="new") is None
        results = await store.write([Step("probe_insert", {"id": "n2", "payload": "y"}),
                                     Step("probe_delete", {"id": "taken"})])
        assert results[1].rows == [{"payload": "x"}]
        assert await store.fetch_one("probe_count") == {"n": 1}
        await store.close()

    run(scenario())


def test_concurrent_writes_share_commits(open_backend: Opener) -> None:
    """Group commit: 200 concurrent writes need far fewer than 200 commits (when measurable)."""

    async def scenario() -> None:
        store = await open_backend()
        await asyncio.gather(*(store.execute("probe_insert", id=str(i), payload="p") for i in range(200)))
        assert await store.fetch_one("probe_count") == {"n": 200}
        commits = getattr(store, "commits", None)
        if commits is not None:
            assert commits < 200
        await store.close()

    run(scenario())


def test_data_survives_reopen(open_backend: Opener) -> None:
    async def scenario() -> None:
        store = await open_backend()
        await store.execute("probe_insert", id="kept", payload="v")
        await store.close()
        again = await open_backend()
        assert await again.fetch_one("probe_get", id="kept") == {"id": "kept", "payload": "v"}
        await again.close()

    run(scenario())


def test_closed_store_refuses(open_backend: Opener) -> None:
    async def scenario() -> None:
        store = await open_backend()
        await store.close()
        with pytest.raises(StoreClosed):
            await store.execute("probe_insert", id="late", payload="v")
        with pytest.raises(StoreClosed):
            await store.fetch_one("probe_count")

    run(scenario())


def test_unknown_query_name_is_a_programming_error(open_backend: Opener) -> None:
    async def scenario() -> None:
        store = await open_backend()
        with pytest.raises(KeyError):
            await store.execute("no_such_query")
        await store.close()

    run(scenario())


def test_notify_reaches_listeners_of_its_channel_only(open_backend: Opener) -> None:
    """notify/listen: a listener hears its channel's payloads in order, and stops when asked;
    PostgreSQL delivers them through LISTEN/NOTIFY, SQLite within the process."""

    async def scenario() -> None:
        store = await open_backend()
        heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        stop_a = await store.listen("contract_a", lambda payload: heard.put_nowait(("a", payload)))
        await store.listen("contract_b", lambda payload: heard.put_nowait(("b", payload)))
        await store.notify("contract_a", "one")
        await store.notify("contract_b", "two")
        await store.notify("contract_a", "three é")
        got = [await asyncio.wait_for(heard.get(), 5) for _ in range(3)]
        assert [item for item in got if item[0] == "a"] == [("a", "one"), ("a", "three é")]
        assert ("b", "two") in got
        await stop_a()
        await store.notify("contract_a", "unheard")
        await store.notify("contract_b", "last")
        assert await asyncio.wait_for(heard.get(), 5) == ("b", "last")
        assert heard.empty()
        with pytest.raises(ValueError):
            await store.notify("Bad Channel;", "x")
        await store.close()

    run(scenario())


@pytest.mark.parametrize("text", ["nul\x00inside", "\x00", "lone \ud800 surrogate", "\udfff"])
def test_text_no_backend_can_hold_is_refused_alike(open_backend: Opener, text: str) -> None:
    """U+0000 (PostgreSQL's text refuses it) and lone surrogates (not UTF-8) are refused by
    every backend, on reads and writes, before anything runs: a multi-step write is untouched."""

    async def scenario() -> None:
        store = await open_backend()
        with pytest.raises(UnstorableText):
            await store.execute("probe_insert", id="a", payload=text)
        with pytest.raises(UnstorableText):
            await store.write([Step("probe_insert", {"id": "first", "payload": "fine"}),
                               Step("probe_insert", {"id": "second", "payload": text})])
        with pytest.raises(UnstorableText):
            await store.fetch_one("probe_get", id=text)
        with pytest.raises(UnstorableText):
            await store.notify("contract_text", text)
        assert await store.fetch_one("probe_count") == {"n": 0}
        await store.execute("probe_insert", id="after", payload="still writable")
        assert await store.fetch_one("probe_count") == {"n": 1}
        await store.close()

    run(scenario())


def test_any_valid_unicode_round_trips(open_backend: Opener) -> None:
    text = "emoji 😀 CJK 中文 RTL עברית combining é tab\t newline\n del\x7f \ufffd \U0010ffff"

    async def scenario() -> None:
        store = await open_backend()
        await store.execute("probe_insert", id=text, payload=text)
        assert await store.fetch_one("probe_get", id=text) == {"id": text, "payload": text}
        await store.close()

    run(scenario())


def test_a_parameter_the_driver_cannot_bind_fails_alone(open_backend: Opener) -> None:
    """A store error, not a dead store: SQLite's one writer thread must survive it."""

    async def scenario() -> None:
        store = await open_backend()
        results = await asyncio.gather(
            store.execute("probe_insert", id="big", payload=2**70),
            *(store.execute("probe_insert", id=f"k{i}", payload="x") for i in range(5)),
            return_exceptions=True,
        )
        assert isinstance(results[0], StoreError)
        assert all(not isinstance(item, BaseException) for item in results[1:])
        await store.execute("probe_insert", id="after", payload="x")
        assert await store.fetch_one("probe_count") == {"n": 6}
        await store.close()

    run(scenario())


def test_close_finishes_the_writes_already_submitted(open_backend: Opener) -> None:
    """The contract's close(): writes submitted before it still land (PostgreSQL failed the
    ones still waiting for a pooled connection)."""

    async def scenario() -> None:
        store = await open_backend()
        writes = [asyncio.ensure_future(store.execute("probe_insert", id=f"c{i}", payload="x")) for i in range(50)]
        await asyncio.sleep(0)  # every write submitted, most not yet committed
        await store.close()
        assert all(not isinstance(item, BaseException) for item in await asyncio.gather(*writes,
                                                                                         return_exceptions=True))
        again = await open_backend()
        assert await again.fetch_one("probe_count") == {"n": 50}
        await again.close()

    run(scenario())
