"""A Cipherpost runtime driven through ``Gateway.handle`` in-process, for the profilers.

No sockets, no uvicorn: fake ASGI scopes (as uvicorn's httptools protocol builds them) of
botocore-signed requests are replayed against a real runtime in a temporary data directory
(SQLite store, fsynced group commits, IAM identity policies as ``cipherpost serve`` wires
them, every provider started, the SNS delivery worker included).
"""

from __future__ import annotations

import configparser
import cProfile
import json
import os
import pstats
import tempfile
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cipherpost.auth.authenticate import Authenticator
from cipherpost.config import Listener, load_settings
from cipherpost.runtime import Runtime, start_runtime
from cipherpost.server.app import Gateway
from cipherpost.services import dispatch_table, providers
from cipherpost.services.authz import Authorizer
from cipherpost.services.iam import IamPolicySource

HOST = "127.0.0.1:4566"
REGION = "us-east-1"
JSON_SERVICES = {"sqs": ("application/x-amz-json-1.0", "AmazonSQS"),
                 "kms": ("application/x-amz-json-1.1", "TrentService")}
QUERY_VERSIONS = {"sns": "2010-03-31", "sts": "2011-06-15", "iam": "2010-05-08"}

Scope = dict[str, Any]


@dataclass
class Harness:
    runtime: Runtime
    gateway: Gateway
    listener: Listener
    access_key: str
    secret: str
    sent: list[MutableMapping[str, Any]] = field(default_factory=list)

    def request(self, service: str, operation: str, params: dict[str, Any]) -> tuple[Scope, bytes]:
        """A signed request: JSON for SQS and KMS, Query (form-encoded) for SNS, STS, IAM."""
        if service in JSON_SERVICES:
            content_type, prefix = JSON_SERVICES[service]
            body = json.dumps(params).encode()
            headers = {"Content-Type": content_type, "X-Amz-Target": f"{prefix}.{operation}"}
        else:
            form = {"Action": operation, "Version": QUERY_VERSIONS[service], **params}
            body = urllib.parse.urlencode(form).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        request = AWSRequest(method="POST", url=f"http://{HOST}/", data=body, headers=headers)
        SigV4Auth(Credentials(self.access_key, self.secret), service, REGION).add_auth(request)
        raw_headers = [(b"host", HOST.encode())]
        raw_headers += [(name.lower().encode(), value.encode()) for name, value in request.headers.items()]
        scope = {"type": "http", "method": "POST", "path": "/", "raw_path": b"/", "query_string": b"",
                 "headers": raw_headers, "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 4566)}
        return scope, body

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    async def replay(self, scope: Scope, body: bytes) -> None:
        """Answer one prepared request (its response lands in ``sent``)."""

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await self.gateway.handle(self.listener, scope, receive, self.send)

    async def call(self, service: str, operation: str, params: dict[str, Any]) -> bytes:
        """One request that must succeed; its response body."""
        self.sent.clear()
        await self.replay(*self.request(service, operation, params))
        if self.sent[0]["status"] != 200:
            raise SystemExit(f"{operation}: unexpected response {self.sent[0]['status']}: {self.sent[1]['body']!r}")
        return bytes(self.sent[1]["body"])

    async def call_json(self, service: str, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return dict(json.loads(await self.call(service, operation, params)))

    def statuses(self) -> set[int]:
        return {int(message["status"]) for message in self.sent if message["type"] == "http.response.start"}


@asynccontextmanager
async def harness() -> AsyncIterator[Harness]:
    data_dir = Path(tempfile.mkdtemp(prefix="cipherpost-prof-")) / "data"
    settings = load_settings({"data_dir": data_dir, "listen": [f"http://{HOST}"]}, environ={})
    runtime = await start_runtime(settings, environ={})
    active = providers(runtime, Authorizer(IamPolicySource(runtime.store)))
    for provider in active:
        await provider.start()
    try:
        creds = configparser.ConfigParser()
        creds.read(data_dir / "credentials")
        authenticator = Authenticator(runtime.credentials, runtime.store, region=REGION,
                                      default_account=runtime.default_account, max_skew=timedelta(seconds=900))
        gateway = Gateway(region=REGION, authenticator=authenticator, handlers=dispatch_table(active),
                          max_body_bytes=1 << 22)
        yield Harness(runtime, gateway, settings.listeners[0], creds["cipherpost"]["aws_access_key_id"],
                      creds["cipherpost"]["aws_secret_access_key"])
    finally:
        for provider in reversed(active):
            await provider.stop()
        await runtime.close()


async def profile_once(run: Callable[[], Awaitable[object]], *, top: int, sort: str, dump: str | None = None) -> None:
    """One more ``run()`` under cProfile, timed by the event loop thread's own CPU clock
    (wall-clock time would charge whatever runs when the GIL is handed to the writer or
    signer threads with the wait); prints the ``top`` entries, writes ``dump`` if given."""
    profile = cProfile.Profile(time.thread_time)
    profile.enable()
    await run()
    profile.disable()
    if dump:
        profile.dump_stats(dump)
    pstats.Stats(profile).sort_stats(sort).print_stats(top)


def children_cpu() -> float:
    """CPU seconds used so far by this process's live child processes (SNS's signing processes)."""
    total = 0.0
    for task in os.listdir("/proc/self/task"):
        try:
            children = Path(f"/proc/self/task/{task}/children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def thread_cpu() -> dict[str, float]:
    """CPU seconds used so far by each live thread of this process, by thread name, and by its
    child processes ("child processes")."""
    out: dict[str, float] = {"child processes": children_cpu()}
    for thread in threading.enumerate():
        if thread.ident is None:
            continue
        try:
            spent = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
        out[thread.name] = out.get(thread.name, 0.0) + spent
    return out


def thread_group(name: str) -> str:
    if name == "MainThread":
        return "event loop"
    if name == "child processes":
        return name
    return "sqlite writer" if name == "cipherpost-sqlite-writer" else "other threads"


def cpu_split(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds spent between two `thread_cpu` readings, by `thread_group`."""
    split: dict[str, float] = {}
    for thread, spent in after.items():
        split[thread_group(thread)] = split.get(thread_group(thread), 0.0) + spent - before.get(thread, 0.0)
    return split
