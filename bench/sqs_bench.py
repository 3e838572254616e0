"""SQS benchmark: Cipherpost vs moto_server (and LocalStack, when a Python >= 3.12 venv with
localstack-core is given) in the same run, plain queues and SSE-KMS queues.

Scenarios, over the SQS JSON protocol with SigV4 (every request signed, every body distinct):

- SendMessage and SendMessageBatch (10 entries): wrk, N keep-alive connections, replaying a
  table of requests pre-signed before the run (SigV4 has no nonce: a signed request stays
  valid for 15 minutes), so the client's signing cost is not measured;
- ReceiveMessage (10) + DeleteMessageBatch: an asyncio client over N keep-alive connections;
  the receive is pre-signed, each delete is signed when its receipt handles are known (one
  signature per 10 messages).

Rates are requests/s and messages/s; ratios are Cipherpost / peer. Cipherpost runs on its
default store (SQLite, every acknowledged send fsynced before the answer).

Usage: python bench/sqs_bench.py [--seconds 10] [--connections 16]
       [--localstack-python /path/to/venv/bin/python]
"""

from __future__ import annotations

import argparse
import asyncio
import configparser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from run import free_port, wait_http

REGION = "us-east-1"
PRESIGNED = 4000
LUA = """
local requests = {{}}
{items}
local n = #requests
local i = 0
request = function()
  i = i + 1
  if i > n then i = 1 end
  return requests[i]
end
"""


@dataclass
class Target:
    """One server under test and how to reach it."""

    name: str
    url: str
    access_key: str
    secret: str
    proc: subprocess.Popen[bytes]


def signed(target: Target, operation: str, params: dict[str, object]) -> tuple[dict[str, str], str]:
    """Headers and body of one SigV4-signed SQS JSON request."""
    body = json.dumps(params)
    request = AWSRequest("POST", target.url + "/", data=body.encode(), headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"})
    SigV4Auth(Credentials(target.access_key, target.secret), "sqs", REGION).add_auth(request)
    return dict(request.headers.items()), body


def lua_string(value: str) -> str:
    return json.dumps(value)


def wrk_script(path: Path, target: Target, operation: str, make: object) -> None:
    lines = []
    for index in range(PRESIGNED):
        headers, body = signed(target, operation, make(index))  # type: ignore[operator]
        headers["Host"] = urllib.parse.urlsplit(target.url).netloc  # as signed (wrk's default lacks the port)
        table = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        lines.append(f'requests[{index + 1}] = wrk.format("POST", "/", {{{table}}}, {lua_string(body)})')
    path.write_text(LUA.format(items="\n".join(lines)))


def run_wrk(target: Target, script: Path, seconds: int, connections: int) -> float:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), target.url + "/"],
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{target.name}: {errors.group(1)} error responses\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match.group(1))


# --- ReceiveMessage + DeleteMessageBatch: an asyncio client over keep-alive connections ---


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str,
                    headers: dict[str, str], body: str) -> tuple[int, bytes, bool]:
    data = body.encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"POST / HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(data)}\r\n\r\n".encode() + data)
    status_line = await reader.readline()
    status = int(status_line.split()[1])
    length, close = None, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
        elif name.lower() == "connection" and "close" in value.lower():
            close = True
    payload = await (reader.readexactly(length) if length is not None else reader.read())
    return status, payload, close or length is None


async def _consumer(target: Target, queue_url: str, deadline: float, counts: list[int]) -> None:
    parsed = urllib.parse.urlsplit(target.url)
    receive = signed(target, "ReceiveMessage", {"QueueUrl": queue_url, "MaxNumberOfMessages": 10})
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.monotonic() < deadline:
        if conn is None:
            conn = await asyncio.open_connection(parsed.hostname, parsed.port)
        status, payload, close = await _exchange(*conn, parsed.netloc, *receive)
        if status != 200:
            raise RuntimeError(f"{target.name}: ReceiveMessage answered {status}: {payload[:300]!r}")
        messages = json.loads(payload).get("Messages", []) if payload else []
        if close:
            conn[1].close()
            conn = await asyncio.open_connection(parsed.hostname, parsed.port)
        if not messages:
            continue
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        headers, body = signed(target, "DeleteMessageBatch", {"QueueUrl": queue_url, "Entries": entries})
        status, payload, close = await _exchange(*conn, parsed.netloc, headers, body)
        if status != 200 or json.loads(payload).get("Failed"):
            raise RuntimeError(f"{target.name}: DeleteMessageBatch answered {status}: {payload[:300]!r}")
        counts[0] += len(messages)
        counts[1] += 2
        if close:
            conn[1].close()
            conn = None
    if conn is not None:
        conn[1].close()


def receive_delete(target: Target, queue_url: str, seconds: int, connections: int) -> tuple[float, float]:
    """(messages/s, requests/s) of receive+delete for ``seconds``."""
    counts = [0, 0]

    async def main() -> None:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_consumer(target, queue_url, deadline, counts) for _ in range(connections)))

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started
    return counts[0] / elapsed, counts[1] / elapsed


# --- servers ---


@contextmanager
def servers(workdir: Path, localstack_python: str | None) -> Iterator[list[Target]]:
    targets: list[Target] = []
    try:
        targets.append(start_cipherpost(workdir))
        moto = shutil.which("moto_server")
        if moto:
            targets.append(start_moto(moto))
        else:
            print("moto_server not found: pip install -r bench/requirements.txt", file=sys.stderr)
        if localstack_python:
            targets.append(start_localstack(localstack_python, workdir))
        yield targets
    finally:
        stop_all(targets)


def stop_all(targets: list[Target]) -> None:
    """SIGTERM each server, then SIGKILL one that has not stopped within 30 s."""
    for target in targets:
        target.proc.send_signal(signal.SIGTERM)
        try:
            target.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            target.proc.kill()


def await_up(proc: subprocess.Popen[bytes], url: str, timeout: float = 30) -> None:
    """Wait for a server just started; stop it if it never comes up (nothing is left running)."""
    try:
        wait_http(url, timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def start_cipherpost(workdir: Path) -> Target:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cipherpost.cli", "serve", "--data-dir", str(workdir / "data"),
                             "--listen", f"http://127.0.0.1:{port}", "--log-level", "warning"],
                            stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    await_up(proc, url + "/_cipherpost/health")
    creds = configparser.ConfigParser()
    creds.read(workdir / "data" / "credentials")
    section = creds["cipherpost"]
    return Target("cipherpost", url, section["aws_access_key_id"], section["aws_secret_access_key"], proc)


def start_moto(moto: str) -> Target:
    port = free_port()
    proc = subprocess.Popen([moto, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    await_up(proc, url + "/moto-api/")
    return Target("moto_server", url, "testing", "testing", proc)


def start_localstack(python: str, workdir: Path) -> Target:
    port = free_port()
    env = {**os.environ, "GATEWAY_LISTEN": f"127.0.0.1:{port}", "SERVICES": "sns,sqs,kms,sts", "DNS_ADDRESS": "0",
           "SKIP_SSL_CERT_DOWNLOAD": "1", "DISABLE_EVENTS": "1", "LOCALSTACK_VOLUME_DIR": str(workdir / "ls")}
    log = (workdir / "localstack.log").open("wb")
    proc = subprocess.Popen([python, "-m", "localstack.runtime.main"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    await_up(proc, url + "/_localstack/health", timeout=120)
    return Target("localstack", url, "test", "test", proc)


def client(target: Target, service: str) -> object:
    return boto3.client(service, endpoint_url=target.url, region_name=REGION, aws_access_key_id=target.access_key,
                        aws_secret_access_key=target.secret)


def make_queues(target: Target) -> dict[str, str]:
    """A plain queue (no SSE at all) and an SSE-KMS queue under a fresh customer key."""
    sqs, kms = client(target, "sqs"), client(target, "kms")
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]  # type: ignore[attr-defined]
    suffix = str(int(time.time()))
    plain = sqs.create_queue(QueueName=f"bench-plain-{suffix}",  # type: ignore[attr-defined]
                             Attributes={"SqsManagedSseEnabled": "false"})["QueueUrl"]
    sealed = sqs.create_queue(QueueName=f"bench-kms-{suffix}",  # type: ignore[attr-defined]
                              Attributes={"KmsMasterKeyId": key_id})["QueueUrl"]
    return {"plain": plain, "sse-kms": sealed}


def measure(target: Target, workdir: Path, seconds: int, connections: int) -> dict[str, float]:
    """Each send scenario runs plain, SSE-KMS, SSE-KMS, plain (A/B/B/A) and reports the mean of
    each mode's two runs: the table grows as the runs go, so a fixed order would favour the
    first mode; then receive+delete drains each queue."""
    results: dict[str, float] = {}
    body = "x" * 200  # plus a distinct prefix per request
    queues = make_queues(target)
    for operation in ("SendMessage", "SendMessageBatch"):
        for mode in ("plain", "sse-kms", "sse-kms", "plain"):
            url = queues[mode]

            def send(index: int, url: str = url) -> dict[str, object]:
                return {"QueueUrl": url, "MessageBody": f"{index:08d} {body}"}

            def batch(index: int, url: str = url) -> dict[str, object]:
                return {"QueueUrl": url, "Entries": [{"Id": str(i), "MessageBody": f"{index:08d}.{i} {body}"}
                                                     for i in range(10)]}

            script = workdir / f"{target.name}-{mode}-{operation}.lua"
            if not script.exists():
                wrk_script(script, target, operation, send if operation == "SendMessage" else batch)
                run_wrk(target, script, 1, connections)  # warm-up
            rate = run_wrk(target, script, seconds, connections) / 2
            results[f"{operation} {mode} req/s"] = results.get(f"{operation} {mode} req/s", 0.0) + rate
    for mode in ("plain", "sse-kms"):
        results[f"SendMessageBatch {mode} msg/s"] = results[f"SendMessageBatch {mode} req/s"] * 10
        messages, requests = receive_delete(target, queues[mode], seconds, connections)
        results[f"Receive+DeleteBatch {mode} msg/s"] = messages
        results[f"Receive+DeleteBatch {mode} req/s"] = requests
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--localstack-python", help="python of a venv with localstack-core[runtime] (>= 3.12)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="cipherpost-sqs-bench-"))
    try:
        with servers(workdir, args.localstack_python) as targets:
            table = {target.name: measure(target, workdir, args.seconds, args.connections) for target in targets}
        report(table)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def report(table: dict[str, dict[str, float]]) -> None:
    names = list(table)
    rows = [f"{operation} {mode} {unit}" for mode in ("plain", "sse-kms") for operation, unit in (
        ("SendMessage", "req/s"), ("SendMessageBatch", "req/s"), ("SendMessageBatch", "msg/s"),
        ("Receive+DeleteBatch", "msg/s"), ("Receive+DeleteBatch", "req/s"))]
    peers = names[1:]
    header = f"{'scenario':38}" + "".join(f"{name:>14}" for name in names)
    header += "".join(f"{'cp/' + name[:8]:>14}" for name in peers)
    print(header)
    for row in rows:
        values = [table[name].get(row, 0.0) for name in names]
        line = f"{row:38}" + "".join(f"{value:14.0f}" for value in values)
        line += "".join(f"{values[0] / value:14.2f}" if value else f"{'-':>14}" for value in values[1:])
        print(line)
    cp = table[names[0]]
    print(f"cipherpost SSE-KMS / plain SendMessage: "
          f"{cp['SendMessage sse-kms req/s'] / cp['SendMessage plain req/s']:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
