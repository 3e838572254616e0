"""End-to-end fixtures (helpers live in e2e_support, a module name no other test folder uses)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import ServerProcess, drop_test_databases, launch


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    drop_test_databases()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server per test module (most tests need no isolation beyond their own resources)."""
    proc = launch(tmp_path_factory.mktemp("server") / "data")
    yield proc
    proc.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start servers of a test's own (for restarts, TLS and start-up options); all stopped after."""
    started: list[ServerProcess] = []

    def start(*args: str, **kwargs: Any) -> ServerProcess:
        proc = launch(kwargs.pop("data_dir", tmp_path / "data"), *args, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.process.poll() is None:
            proc.stop(signal.SIGKILL)
