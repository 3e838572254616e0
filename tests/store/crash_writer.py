"""Child process for test_crash: writes rows forever, printing each id once its write returned."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cipherpost.store import SqliteStore


async def main(path: Path) -> None:
    store = await SqliteStore.open(path)
    counter = 0

    async def writer(lane: int) -> None:
        nonlocal counter
        while True:
            counter += 1
            row_id = f"{lane}-{counter}"
            await store.execute("probe_insert", id=row_id, payload="x" * 100)
            sys.stdout.write(row_id + "\n")
            sys.stdout.flush()

    await asyncio.gather(*(writer(lane) for lane in range(16)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
