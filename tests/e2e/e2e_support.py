"""End-to-end helpers: start a real `cipherpost serve` process on a free port, reach it with boto3;
an HTTP or HTTPS subscriber endpoint for SNS.

With ``CIPHERPOST_TEST_BACKEND=postgres`` every server stores its data in a PostgreSQL
database of its own (created on first use of a data directory, so restarts find it again)
instead of SQLite: the same suite then proves the same behaviour on both backends.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A running `cipherpost serve` and how to reach it."""

    data_dir: Path
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    args: list[str]
    env: dict[str, str]
    ca_bundle: str | None = None
    access_key_id: str = ""
    secret_access_key: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, service: str, *, access_key_id: str | None = None, secret: str | None = None,
               session_token: str | None = None, region: str = REGION, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=access_key_id or self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
            aws_session_token=session_token,
            verify=self.ca_bundle if self.ca_bundle else True,
            config=Config(retries={"max_attempts": 1}, **config),
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


BACKEND = os.environ.get("CIPHERPOST_TEST_BACKEND", "sqlite")
POSTGRES_ADMIN = os.environ.get("CIPHERPOST_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


_CREATED: list[str] = []


def database_args(data_dir: Path) -> list[str]:
    """``--database-url`` for the PostgreSQL run: one database per data directory."""
    if BACKEND != "postgres":
        return []
    name = "cp_e2e_" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    marker = data_dir.parent / f".{data_dir.name}.pgdb"
    if not marker.exists():
        subprocess.run(["psql", POSTGRES_ADMIN, "-q", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                        "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        marker.write_text(name)
        _CREATED.append(name)
    return ["--database-url", POSTGRES_ADMIN.rpartition("/")[0] + "/" + name]


def execute_sql(data_dir: Path, statement: str) -> None:
    """Run one SQL statement against a (stopped) server's store, whichever backend it uses."""
    args = database_args(data_dir)
    if args:
        subprocess.run(["psql", args[1], "-q", "-c", statement], check=True, capture_output=True)
        return
    with sqlite3.connect(data_dir / "cipherpost.sqlite3") as db:
        db.execute(statement)


def launch(data_dir: Path, *args: str, env: dict[str, str] | None = None, scheme: str = "http",
           wait: bool = True, port: int | None = None) -> ServerProcess:
    """Start `cipherpost serve` with a fresh listener; waits until it answers its health check."""
    port = port or free_port()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    listen = [] if any(arg == "--listen" for arg in args) else ["--listen", f"{scheme}://127.0.0.1:{port}"]
    listen += database_args(data_dir)
    full_args = [sys.executable, "-m", "cipherpost.cli", "serve", "--data-dir", str(data_dir), *listen, *args]
    environ = {**os.environ, **(env or {})}
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(full_args, stdout=log_file, stderr=subprocess.STDOUT, env=environ)
    server = ServerProcess(data_dir, f"{scheme}://127.0.0.1:{port}", process, log_path, full_args, environ)
    if scheme == "https":
        server.ca_bundle = str(data_dir / "tls" / "ca.pem")
    if wait:
        _wait_ready(server)
        _read_credentials(server)
    return server


def _wait_ready(server: ServerProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        if "cipherpost: listening on" in server.log():
            return
        time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not start in {timeout}s:\n{server.log()}")


def _read_credentials(server: ServerProcess) -> None:
    parser = configparser.ConfigParser()
    parser.read(server.data_dir / "credentials")
    server.access_key_id = parser["cipherpost"]["aws_access_key_id"]
    server.secret_access_key = parser["cipherpost"]["aws_secret_access_key"]


def http_get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None,
             method: str | None = None, context: Any = None) -> tuple[int, dict[str, str], bytes]:
    """A raw HTTP request (no SDK), returning status, headers and body even for error statuses."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def drop_test_databases() -> None:
    """Drop the PostgreSQL databases this run created."""
    for name in _CREATED:
        subprocess.run(["psql", POSTGRES_ADMIN, "-q", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                       check=False, capture_output=True)


def new_user_client(server: ServerProcess, service: str, name: str, *policies: str) -> Any:
    """A ``service`` client signed with a new IAM user's key; the user has ``policies`` inline."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    for index, document in enumerate(policies):
        iam.put_user_policy(UserName=name, PolicyName=f"p{index}", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client(service, access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    """The AWS error code botocore reported."""
    return str(exc.value.response["Error"]["Code"])


def fails(call: Any, expected: str, **params: Any) -> str:
    """Call ``call(**params)``, assert it fails with error code ``expected``; returns the message."""
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert code(exc) == expected, exc.value.response
    return str(exc.value.response["Error"]["Message"])


# --- SNS HTTP/S subscribers --------------------------------------------------------------------

Request = tuple[float, dict[str, str], str]


class Endpoint:
    """A subscriber: records every POST; answers with the statuses queued in ``statuses``.

    With ``tls`` (a server-side context, which a test may swap for another between
    connections) it speaks HTTPS only, and records every handshake that failed in ``refused``
    (the reason as the server side saw it: a client that rejects the certificate may
    just hang up, so the reason says little about why).
    """

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.requests: list[Request] = []
        self.refused: list[str] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                with endpoint.lock:
                    endpoint.requests.append((time.monotonic(), {k.lower(): v for k, v in self.headers.items()},
                                              body))
                    status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def finish_request(self, request: Any, client_address: Any) -> None:
                tls = endpoint.tls
                if tls is None:
                    super().finish_request(request, client_address)
                    return
                try:  # the handshake runs in the request's thread, not in the accept loop
                    conn = tls.wrap_socket(request, server_side=True)
                except OSError as exc:
                    with endpoint.lock:
                        endpoint.refused.append(str(getattr(exc, "reason", None) or type(exc).__name__))
                    return
                with conn:
                    super().finish_request(conn, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook/{uuid.uuid4().hex[:6]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 15) -> list[Request]:
        """The requests once there are at least ``count``."""
        self._wait_for(lambda: len(self.requests) >= count, timeout,
                       lambda: f"expected {count} requests, got {self.requests}")
        return list(self.requests)

    def wait_refused(self, count: int, timeout: float = 5) -> list[str]:
        """The failed handshakes' reasons once there are at least ``count``."""
        self._wait_for(lambda: len(self.refused) >= count, timeout,
                       lambda: f"expected {count} refused handshakes, got {self.refused}; requests {self.requests}")
        return list(self.refused)

    def _wait_for(self, done: Callable[[], bool], timeout: float, failure: Callable[[], str]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if done():
                    return
            time.sleep(0.05)
        raise AssertionError(failure())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def certificate(server: ServerProcess, url: str) -> bytes:
    """The certificate, downloaded from SigningCertURL without credentials, as subscribers do."""
    assert url.startswith(server.url.replace("127.0.0.1", "localhost")) or url.startswith(server.url)
    status, headers, body = http_get(url.replace("localhost", "127.0.0.1"))
    assert status == 200, body
    assert headers["content-type"] == "application/x-pem-file"
    assert body.startswith(b"-----BEGIN CERTIFICATE")
    return body


def new_topic(server: ServerProcess, **attributes: str) -> str:
    return str(server.client("sns").create_topic(Name=f"h-{uuid.uuid4().hex[:8]}", Attributes=attributes)["TopicArn"])


def subscribe_confirmed(server: ServerProcess, endpoint: Endpoint, topic: str,
                        attributes: dict[str, str] | None = None) -> str:
    """Subscribe ``endpoint`` (protocol http or https, from its URL), confirm with the token it
    received, and forget the confirmation request; returns the subscription's ARN."""
    sns = server.client("sns")
    protocol = endpoint.url.partition(":")[0]
    sns.subscribe(TopicArn=topic, Protocol=protocol, Endpoint=endpoint.url, Attributes=attributes or {})
    (_, _, body), *_ = endpoint.wait(1)
    token = json.loads(body)["Token"]
    arn: str = sns.confirm_subscription(TopicArn=topic, Token=token)["SubscriptionArn"]
    with endpoint.lock:
        endpoint.requests.clear()
    return arn


def files_holding(data_dir: Path, needles: dict[str, bytes]) -> list[str]:
    """Which needles appear in which file under ``data_dir`` (WAL and key files included) or in
    the server logs beside it, as ``"<needle name> in <file name>"``."""
    found = []
    for path in [*data_dir.rglob("*"), *data_dir.parent.glob("*.log")]:
        if path.is_file():
            content = path.read_bytes()
            found += [f"{name} in {path.name}" for name, needle in needles.items() if needle in content]
    return found
