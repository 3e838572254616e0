"""`cipherpost serve` as an operator sees it: start-up, TLS, restart, files on disk, bad input."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import stat
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import SSLError
from e2e_support import ServerProcess, free_port, http_get, launch

Start = Callable[..., ServerProcess]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_initializes_and_restart_reuses(fresh_server: Start, tmp_path: Path) -> None:
    first = fresh_server(data_dir=tmp_path / "data")
    identity = first.client("sts").get_caller_identity()
    assert mode(tmp_path / "data" / "credentials") == 0o600
    assert mode(tmp_path / "data" / "keyring") == 0o600
    assert mode(tmp_path / "data") == 0o700
    assert "cipherpost: root credentials in" in first.log()
    assert first.stop() == 0
    assert "cipherpost: stopped" in first.log()
    second = fresh_server(data_dir=tmp_path / "data")
    assert (second.access_key_id, second.secret_access_key) == (first.access_key_id, first.secret_access_key)
    assert second.client("sts").get_caller_identity()["Arn"] == identity["Arn"]


def test_root_credentials_and_account_from_environment(fresh_server: Start) -> None:
    env = {"CIPHERPOST_ROOT_ACCESS_KEY_ID": "AKIAENVPROVIDED00001", "CIPHERPOST_ROOT_SECRET_ACCESS_KEY": "s" * 40}
    proc = fresh_server("--account-id", "123456789012", env=env)
    assert proc.access_key_id == "AKIAENVPROVIDED00001"
    identity = proc.client("sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"] == "arn:aws:iam::123456789012:root"


def test_https_with_generated_ca(fresh_server: Start) -> None:
    proc = fresh_server(scheme="https")
    assert proc.ca_bundle is not None and Path(proc.ca_bundle).exists()
    assert f"TLS CA certificate: {proc.ca_bundle}" in proc.log()
    assert proc.client("sts").get_caller_identity()["Account"] == "000000000000"
    with pytest.raises(SSLError):
        _unverified_client(proc)


def _unverified_client(proc: ServerProcess) -> None:
    """A client using the system trust store must refuse our local CA's certificate."""
    boto3.client("sts", endpoint_url=proc.url, region_name="us-east-1", aws_access_key_id=proc.access_key_id,
                 aws_secret_access_key=proc.secret_access_key, verify=True).get_caller_identity()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_version_floor(fresh_server: Start) -> None:
    proc = fresh_server(scheme="https")
    context = ssl.create_default_context(cafile=proc.ca_bundle)
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    port = int(proc.url.rsplit(":", 1)[1])
    with pytest.raises(ssl.SSLError), socket.create_connection(("127.0.0.1", port)) as raw:
        context.wrap_socket(raw, server_hostname="localhost")


def test_plain_http_turned_off(fresh_server: Start, tmp_path: Path) -> None:
    port = free_port()
    refused = launch(tmp_path / "refused", "--no-http", "--listen", f"http://127.0.0.1:{port}", wait=False)
    assert refused.process.wait(timeout=30) == 2
    assert "plain HTTP is turned off" in refused.log()
    proc = fresh_server("--no-http", scheme="https")
    assert proc.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_health_endpoint(server: ServerProcess) -> None:
    status, _, body = http_get(server.url + "/_cipherpost/health")
    assert status == 200
    assert json.loads(body)["status"] == "ok"


def test_bad_config_is_refused(tmp_path: Path) -> None:
    proc = launch(tmp_path / "bad", "--account-id", "12345", wait=False)
    assert proc.process.wait(timeout=30) == 2
    assert "account_id" in proc.log()


def test_sigterm_finishes_cleanly(fresh_server: Start) -> None:
    proc = fresh_server()
    proc.client("sts").get_caller_identity()
    assert proc.stop(signal.SIGINT) == 0


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        (FORM, b"Action=NoSuchAction&Version=2011-06-15", 400, "InvalidAction"),
        (FORM, b"Version=2011-06-15", 400, "MissingAction"),
        (FORM, b"\xff\xfe\x00garbage", 400, None),
        ({"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.NoSuchOp"}, b"{}", 400, None),
        ({"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "NoSuchService.Op"}, b"{", 400, None),
        ({"Content-Type": "text/plain"}, b"hello", 400, None),
    ],
    ids=["unknown-action", "missing-action", "non-utf8", "unknown-target", "unknown-prefix", "wrong-content-type"],
)
def test_bad_input_gets_a_client_error(server: ServerProcess, headers: dict[str, str], body: bytes,
                                       status: int, code: str | None) -> None:
    got_status, _, payload = http_get(server.url + "/", headers=headers, data=body, method="POST")
    assert got_status == status, payload
    assert b"InternalFailure" not in payload
    if code is not None:
        assert f"<Code>{code}</Code>".encode() in payload


def test_oversized_body_is_refused(fresh_server: Start) -> None:
    proc = fresh_server()
    status, _, payload = http_get(proc.url + "/", headers=FORM, data=b"A" * (5 * 1024 * 1024), method="POST")
    assert status == 413
    assert b"RequestEntityTooLarge" in payload
    assert proc.client("sts").get_caller_identity()["Account"]


def test_half_closed_connection_does_not_hurt(server: ServerProcess) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nAction=Get")
        sock.shutdown(socket.SHUT_WR)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
    assert server.client("sts").get_caller_identity()["Account"]

