"""kill -9 while writing: every write that returned to its caller is still there after restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from cipherpost.store import SqliteStore

CHILD = Path(__file__).with_name("crash_writer.py")


def test_kill_9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "crash.sqlite3"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(db)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    for line in child.stdout:
        acknowledged.append(line.strip())
        if len(acknowledged) >= 2000:
            break
    child.send_signal(signal.SIGKILL)
    # Lines printed after we stopped reading were acknowledged too: collect them.
    rest, _ = child.communicate(timeout=30)
    acknowledged += [line for line in rest.splitlines() if line]
    assert child.returncode == -signal.SIGKILL

    async def missing() -> list[str]:
        store = await SqliteStore.open(db)
        gone = [row_id for row_id in acknowledged if await store.fetch_one("probe_get", id=row_id) is None]
        await store.close()
        return gone

    assert asyncio.run(missing()) == []
