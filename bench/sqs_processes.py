"""Would several server processes on one SQLite file send more? A probe for the SQS targets.

Starts ``--processes`` Cipherpost servers on ONE data directory (the first creates it), each on
its own port, and drives each with its own wrk at the same time (``--connections`` split
evenly), replaying pre-signed requests as ``sqs_bench.py`` does: SendMessage (each write
committed and fsynced before the answer; the processes share SQLite's one write lock) and
GetQueueUrl (a read served from each process's queue cache, no store). Prints each round's
per-process rates and their sum; compare ``--processes 1`` and ``2`` run back to back.

This is a measurement, not a supported deployment: on SQLite a process's long-poll wake-ups
and cache invalidations stay in that process (store notifications are in-process there).

Usage: python bench/sqs_processes.py [--processes 2] [--connections 32] [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from run import free_port
from sqs_bench import Target, await_up, client, run_wrk, start_cipherpost, stop_all, wrk_script


def start_more(first: Target, data_dir: Path) -> Target:
    """Another server process on the first one's data directory."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cipherpost.cli", "serve", "--data-dir", str(data_dir),
                             "--listen", f"http://127.0.0.1:{port}", "--log-level", "warning"],
                            stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    await_up(proc, url + "/_cipherpost/health")
    return Target(f"cipherpost-{port}", url, first.access_key, first.secret, proc)


def concurrently(targets: list[Target], scripts: list[Path], seconds: int, connections: int) -> list[float]:
    """Each target's wrk rate, all wrk runs at once."""
    rates = [0.0] * len(targets)

    def drive(index: int) -> None:
        rates[index] = run_wrk(targets[index], scripts[index], seconds, connections)

    threads = [threading.Thread(target=drive, args=(index,)) for index in range(len(targets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cipherpost-sqs-processes-"))
    targets: list[Target] = []
    try:
        targets.append(start_cipherpost(workdir))
        targets += [start_more(targets[0], workdir / "data") for _ in range(args.processes - 1)]
        queue_url = client(targets[0], "sqs").create_queue(  # type: ignore[attr-defined]
            QueueName="probe", Attributes={"SqsManagedSseEnabled": "false"})["QueueUrl"]
        per_process = max(1, args.connections // args.processes)
        for operation in ("SendMessage", "GetQueueUrl"):
            scripts = []
            for index, target in enumerate(targets):
                script = workdir / f"{operation}-{index}.lua"

                def params(n: int, index: int = index, operation: str = operation) -> dict[str, object]:
                    if operation == "GetQueueUrl":
                        return {"QueueName": "probe"}
                    return {"QueueUrl": queue_url, "MessageBody": f"{index}-{n:08d} " + "x" * 200}

                wrk_script(script, target, operation, params)
                scripts.append(script)
            concurrently(targets, scripts, 2, per_process)  # warm-up
            for _ in range(args.rounds):
                rates = concurrently(targets, scripts, args.seconds, per_process)
                shown = " + ".join(f"{rate:,.0f}" for rate in rates)
                print(f"{operation:12} {args.processes} process(es): {shown} = {sum(rates):,.0f} req/s", flush=True)
    finally:
        stop_all(targets)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
