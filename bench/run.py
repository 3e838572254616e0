"""Foundation benchmark: Cipherpost GetCallerIdentity (SigV4 verified) vs a hello-world ASGI app.

Both run under uvicorn with httptools + uvloop on this machine; the load generator is wrk
with N keep-alive connections, one request in flight each, replaying one pre-signed request
(SigV4 has no nonce: a signed request stays valid within the 15-minute clock-skew window,
so replaying it measures the server's verification, not the client's signing).

Usage: python bench/run.py [--seconds 10] [--connections 16]
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = Path(__file__).resolve().parent
LUA = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers = {{}}
{headers}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def lua_string(value: str) -> str:
    return json.dumps(value)


def wrk_script(path: Path, url: str, access_key: str, secret: str) -> None:
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest(method="POST", url=url + "/", data=body.encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(access_key, secret), "sts", "us-east-1").add_auth(request)
    headers = "\n".join(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in request.headers.items())
    path.write_text(LUA.format(body=lua_string(body), headers=headers))


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url + "/"],
        capture_output=True, text=True, check=True,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} error responses:\n{out}")
    assert match, out
    return float(match.group(1)), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="cipherpost-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        hello_port, cp_port = free_port(), free_port()
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "hello_app:app", "--port", str(hello_port),
             "--http", "httptools", "--loop", "uvloop", "--no-access-log", "--lifespan", "off", "--log-level",
             "warning"]))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "cipherpost.cli", "serve", "--data-dir", str(workdir / "data"),
             "--listen", f"http://127.0.0.1:{cp_port}", "--log-level", "warning"],
            stdout=subprocess.DEVNULL))
        hello, cipherpost = f"http://127.0.0.1:{hello_port}", f"http://127.0.0.1:{cp_port}"
        wait_http(hello + "/")
        wait_http(cipherpost + "/_cipherpost/health")
        creds = configparser.ConfigParser()
        creds.read(workdir / "data" / "credentials")
        script = workdir / "signed.lua"
        wrk_script(script, cipherpost, creds["cipherpost"]["aws_access_key_id"],
                   creds["cipherpost"]["aws_secret_access_key"])
        run_wrk(cipherpost, script, 2, args.connections)  # warm-up
        hello_rate, _ = run_wrk(hello, script, args.seconds, args.connections)
        cp_rate, cp_out = run_wrk(cipherpost, script, args.seconds, args.connections)
        print(f"hello-world ASGI (uvicorn+httptools+uvloop): {hello_rate:10.0f} req/s")
        print(f"cipherpost GetCallerIdentity (SigV4):        {cp_rate:10.0f} req/s")
        print(f"ratio: {cp_rate / hello_rate:.2f} (target >= 0.5)")
        print(cp_out)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
