"""The store contract suite runs against every backend listed in ``BACKENDS``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from cipherpost.store import SqliteStore, Store


async def _sqlite(tmp_path: Path) -> Store:
    return await SqliteStore.open(tmp_path / "contract.sqlite3")


BACKENDS: dict[str, Callable[[Path], Coroutine[Any, Any, Store]]] = {"sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_backend(backend: str, tmp_path: Path) -> Callable[[], Coroutine[Any, Any, Store]]:
    async def opener() -> Store:
        return await BACKENDS[backend](tmp_path)

    return opener
