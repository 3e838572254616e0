"""SNS benchmark: the blog's encrypted fan-out against Cipherpost, moto_server and LocalStack.

The workload of "Encrypting messages published to Amazon SNS with AWS KMS": one topic whose
body is encrypted under a customer KMS key (key policy: the account root and
``sns.amazonaws.com``), fanned out to three queues encrypted under the same key, each queue
policy letting the topic send. The same again without any encryption (plain topic, queues
with ``SqsManagedSseEnabled=false``) gives the encrypted / unencrypted ratio. Each server
first gets an unmeasured warm-up round of each mode; then, per mode, in rounds E/U/U/E:

1. Load generator: ``wrk`` (1 thread, N keep-alive connections) replaying a table of distinct
   Publish requests (Query protocol) pre-signed before the run, so the client's signing cost
   is not measured -> Publish/s. Then the three queues are drained with ReceiveMessage (10,
   long poll 1 s) + DeleteMessageBatch over N keep-alive connections (SQS JSON protocol) until
   every queue holds every acknowledged publish -> deliveries/s, both from the start of the
   publishing (the whole pipeline: accept, fan out, receive, delete) and over the drain alone.
   A final sweep then checks that nothing more than what wrk may have had in flight arrives.
2. End to end with boto3: one publisher publishing one message at a time (its send time in
   the body), one consumer thread per queue long-polling (ReceiveMessage 10, WaitTimeSeconds
   5) and deleting in batches -> publish-to-receive latency p50/p99 and, per queue, how many
   distinct messages arrived, how many were missing and how many came twice.

moto and LocalStack encrypt nothing: on them the "encrypted" mode only sets the attributes.

Usage: python bench/sns_bench.py [--seconds 8] [--connections 16] [--messages 1000]
       [--localstack-python /path/to/py3.13-venv/bin/python] [--only cipherpost]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from sqs_bench import REGION, Target, _exchange, servers, signed

QUEUES = ("Billing-Integration", "Scheduling-Integration", "Prescription-Integration")
PAD = "x" * 120  # a message body of ~200 bytes, like the SQS bench
DRAIN_TIMEOUT = 60.0
LUA = """
local f = assert(io.open({path}, "rb"))
local data = f:read("*a")
f:close()
local requests = {{}}
local pos = 1
while pos <= #data do
  local nl = data:find("\\n", pos, true)
  local len = tonumber(data:sub(pos, nl - 1))
  requests[#requests + 1] = data:sub(nl + 1, nl + len)
  pos = nl + 1 + len
end
local n = #requests
local i = 0
issued = 0
request = function()
  i = i + 1
  if i > n then i = 1 end
  issued = issued + 1
  return requests[i]
end
local threads = {{}}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, reqs)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("issued") end
  io.write(string.format("ISSUED %d\\n", total))
end
"""


@dataclass
class Fanout:
    """A topic and its three subscribed queues on one server."""

    mode: str  # "encrypted" or "unencrypted"
    topic_arn: str
    queue_urls: list[str]


@dataclass
class Result:
    """What one (server, mode) measured."""

    publish_rate: float = 0.0
    published: int = 0  # acknowledged by the server (wrk's completed requests)
    issued: int = 0  # written by wrk (an upper bound: some may have been in flight at the end)
    publish_seconds: float = 0.0
    drain_seconds: float = 0.0
    delivered: list[int] = field(default_factory=list)  # per queue, incl. the final sweep
    complete: bool = False
    e2e_published: int = 0
    e2e_publish_rate: float = 0.0
    e2e_latencies: list[float] = field(default_factory=list)
    e2e_queues: list[tuple[int, int, int]] = field(default_factory=list)  # (distinct, missing, duplicates)
    error: str = ""

    @property
    def pipeline_rate(self) -> float:
        """Deliveries/s from the start of publishing until every queue had every message."""
        total = self.publish_seconds + self.drain_seconds
        return sum(self.delivered) / total if total and self.complete else 0.0

    @property
    def drain_rate(self) -> float:
        return sum(self.delivered) / self.drain_seconds if self.drain_seconds and self.complete else 0.0

    def merged(self, other: Result) -> Result:
        """Two rounds of one mode as one: rates averaged, counts and samples pooled."""
        return Result(
            publish_rate=(self.publish_rate + other.publish_rate) / 2, published=self.published + other.published,
            issued=self.issued + other.issued, publish_seconds=self.publish_seconds + other.publish_seconds,
            drain_seconds=self.drain_seconds + other.drain_seconds,
            delivered=[a + b for a, b in zip(self.delivered, other.delivered, strict=True)],
            complete=self.complete and other.complete, e2e_published=self.e2e_published + other.e2e_published,
            e2e_publish_rate=(self.e2e_publish_rate + other.e2e_publish_rate) / 2,
            e2e_latencies=self.e2e_latencies + other.e2e_latencies,
            e2e_queues=[(a[0] + b[0], a[1] + b[1], a[2] + b[2]) for a, b in zip(self.e2e_queues, other.e2e_queues,
                                                                                strict=True)],
            error=self.error or other.error)

    def percentile(self, q: float) -> float:
        if not self.e2e_latencies:
            return 0.0
        ordered = sorted(self.e2e_latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def client(target: Target, service: str) -> Any:
    return boto3.client(service, endpoint_url=target.url, region_name=REGION, aws_access_key_id=target.access_key,
                        aws_secret_access_key=target.secret,
                        config=Config(retries={"max_attempts": 2}, read_timeout=30))


def key_policy(account: str) -> str:
    """The account root may do anything; SNS may use the key for data keys (the blog's two essentials)."""
    return json.dumps({"Version": "2012-10-17", "Id": "bench-key-policy", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "SNS", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}]})


def queue_policy(queue_arn: str, topic_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "topic", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})


def make_fanout(target: Target, mode: str, round_number: int = 0) -> Fanout:
    sns, sqs = client(target, "sns"), client(target, "sqs")
    suffix = f"{mode}-{round_number}-{int(time.time())}"
    if mode == "encrypted":
        account = client(target, "sts").get_caller_identity()["Account"]
        key_arn = client(target, "kms").create_key(Policy=key_policy(account),
                                                   Description="bench EMR key")["KeyMetadata"]["Arn"]
        topic_attributes = {"KmsMasterKeyId": key_arn}
        queue_attributes = {"KmsMasterKeyId": key_arn}
    else:
        topic_attributes, queue_attributes = {}, {"SqsManagedSseEnabled": "false"}
    topic_arn = sns.create_topic(Name=f"Patient-Records-{suffix}", Attributes=topic_attributes)["TopicArn"]
    urls = []
    for name in QUEUES:
        url = sqs.create_queue(QueueName=f"{name}-{suffix}", Attributes=queue_attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, topic_arn)})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        urls.append(url)
    fanout = Fanout(mode, topic_arn, urls)
    probe(target, fanout, sns, sqs)
    return fanout


def probe(target: Target, fanout: Fanout, sns: Any, sqs: Any) -> None:
    """One publish must reach all three queues before anything is timed (and warms the caches)."""
    sns.publish(TopicArn=fanout.topic_arn, Message=json.dumps({"seq": -1, "sent": time.time()}))
    for url in fanout.queue_urls:
        deadline = time.monotonic() + 15
        while True:
            found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
            if found:
                sqs.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(found)])
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{target.name} {fanout.mode}: the probe publish never reached {url}")


def message(seq: int, kind: str = "load") -> str:
    return json.dumps({"kind": kind, "seq": seq, "sent": time.time(),
                       "record": {"patient": 2911, "medication": 151}, "pad": PAD})


# --- 1. Publish with wrk, then drain ---


def write_requests(path: Path, target: Target, topic_arn: str, count: int) -> None:
    """``count`` distinct pre-signed Publish requests, raw HTTP, each after its length on a line."""
    netloc = urllib.parse.urlsplit(target.url).netloc
    credentials = Credentials(target.access_key, target.secret)
    with path.open("wb") as out:
        for seq in range(count):
            body = urllib.parse.urlencode({"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic_arn,
                                           "Message": message(seq)})
            request = AWSRequest("POST", target.url + "/", data=body.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
            SigV4Auth(credentials, "sns", REGION).add_auth(request)
            head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
            raw = (f"POST / HTTP/1.1\r\nHost: {netloc}\r\n{head}Content-Length: {len(body)}\r\n\r\n{body}").encode()
            out.write(f"{len(raw)}\n".encode() + raw)


def run_wrk(target: Target, requests: Path, script: Path, seconds: int, connections: int) -> tuple[float, int, int]:
    """(requests/s, completed, issued)."""
    script.write_text(LUA.format(path=json.dumps(str(requests))))
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), target.url + "/"],
                         capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{target.name}: {errors.group(1)} error responses to Publish\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    completed = re.search(r"(\d+) requests in", out)
    issued = re.search(r"ISSUED (\d+)", out)
    assert rate and completed and issued, out
    return float(rate.group(1)), int(completed.group(1)), int(issued.group(1))


async def _drain_queue(target: Target, url: str, want: int, counts: list[int], index: int, deadline: float,
                       sweep: bool = False) -> None:
    """Receive + delete from one queue until it gave ``want`` messages (or, sweeping, until it is empty)."""
    parsed = urllib.parse.urlsplit(target.url)
    receive = signed(target, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1})
    conn = await asyncio.open_connection(parsed.hostname, parsed.port)
    try:
        while (sweep or counts[index] < want) and time.monotonic() < deadline:
            status, payload, close = await _exchange(*conn, parsed.netloc, *receive)
            if status != 200:
                raise RuntimeError(f"{target.name}: ReceiveMessage answered {status}: {payload[:300]!r}")
            found = json.loads(payload).get("Messages", []) if payload else []
            if close:
                conn[1].close()
                conn = await asyncio.open_connection(parsed.hostname, parsed.port)
            if not found:
                if sweep:
                    return
                continue
            counts[index] += len(found)
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(found)]
            headers, body = signed(target, "DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
            status, payload, close = await _exchange(*conn, parsed.netloc, headers, body)
            if status != 200 or json.loads(payload).get("Failed"):
                raise RuntimeError(f"{target.name}: DeleteMessageBatch answered {status}: {payload[:300]!r}")
            if close:
                conn[1].close()
                conn = await asyncio.open_connection(parsed.hostname, parsed.port)
    finally:
        conn[1].close()


def drain(target: Target, fanout: Fanout, want: int, connections: int) -> tuple[list[int], float, bool]:
    """(messages per queue, seconds until every queue gave ``want``, complete?), then a sweep for extras."""
    counts = [0] * len(fanout.queue_urls)

    async def main() -> float:
        started = time.monotonic()
        deadline = started + DRAIN_TIMEOUT
        await asyncio.gather(*(_drain_queue(target, fanout.queue_urls[c % 3], want, counts, c % 3, deadline)
                               for c in range(connections)))
        elapsed = time.monotonic() - started
        sweep_deadline = time.monotonic() + 10
        await asyncio.gather(*(_drain_queue(target, url, 0, counts, i, sweep_deadline, sweep=True)
                               for i, url in enumerate(fanout.queue_urls)))
        return elapsed

    seconds = asyncio.run(main())
    return counts, seconds, all(count >= want for count in counts)


# --- 2. end to end with boto3 ---


def end_to_end(target: Target, fanout: Fanout, count: int, seconds: float, result: Result) -> None:
    sns = client(target, "sns")
    received: list[dict[int, int]] = [{} for _ in fanout.queue_urls]
    latencies: list[list[float]] = [[] for _ in fanout.queue_urls]
    published = [0]
    strays = [0] * len(fanout.queue_urls)
    publishing = threading.Event()
    publishing.set()
    failures: list[str] = []

    def consume(index: int) -> None:
        sqs = client(target, "sqs")
        url, seen, lat = fanout.queue_urls[index], received[index], latencies[index]
        try:
            deadline = None
            while True:
                if not publishing.is_set():
                    if len(seen) >= published[0]:
                        return
                    deadline = deadline or time.monotonic() + 15  # grace for stragglers, then call them lost
                    if time.monotonic() > deadline:
                        return
                found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5).get(
                    "Messages", [])
                now = time.time()
                for m in found:
                    body = json.loads(json.loads(m["Body"])["Message"])
                    if body.get("kind") != "e2e":
                        strays[index] += 1  # a straggler of the load run: not part of this count
                        continue
                    seen[body["seq"]] = seen.get(body["seq"], 0) + 1
                    lat.append(now - body["sent"])
                if found:
                    sqs.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(found)])
        except Exception as exc:  # reported, never hidden
            failures.append(f"consumer {index}: {exc!r}")

    consumers = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(len(fanout.queue_urls))]
    for thread in consumers:
        thread.start()
    time.sleep(0.2)  # the consumers are polling before the first publish
    started = time.monotonic()
    try:
        for seq in range(count):
            if time.monotonic() - started > seconds:
                break
            sns.publish(TopicArn=fanout.topic_arn, Message=message(seq, "e2e"))
            published[0] += 1
    finally:
        elapsed = time.monotonic() - started
        publishing.clear()
        for thread in consumers:
            thread.join(timeout=40)
    # anything arriving after every consumer was satisfied is a duplicate: one more look at each queue
    sqs = client(target, "sqs")
    for index, url in enumerate(fanout.queue_urls):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(json.loads(m["Body"])["Message"])
            if body.get("kind") == "e2e":
                received[index][body["seq"]] = received[index].get(body["seq"], 0) + 1
    if failures:
        raise RuntimeError("; ".join(failures))
    result.e2e_published = published[0]
    result.e2e_publish_rate = published[0] / elapsed
    result.e2e_latencies = [x for lat in latencies for x in lat]
    result.e2e_queues = [(len(seen), published[0] - len(set(seen) & set(range(published[0]))),
                          sum(n - 1 for n in seen.values())) for seen in received]


# --- one server ---


def measure(target: Target, workdir: Path, args: argparse.Namespace) -> dict[str, Result]:
    """Each mode twice, encrypted / unencrypted / unencrypted / encrypted, each round on a new
    fan-out, pooled per mode: a server's state grows as the rounds go (LocalStack's first
    round is markedly faster than its second), so a fixed order would favour one mode."""
    rounds: dict[str, list[Result]] = {"encrypted": [], "unencrypted": []}
    warm_up(target, workdir, args)
    for number, mode in enumerate(("encrypted", "unencrypted", "unencrypted", "encrypted")):
        result = Result()
        rounds[mode].append(result)
        try:
            fanout = make_fanout(target, mode, number)
            requests = workdir / f"{target.name}-{mode}.requests"
            write_requests(requests, target, fanout.topic_arn, args.presigned)
            started = time.monotonic()
            result.publish_rate, result.published, result.issued = run_wrk(
                target, requests, workdir / f"{target.name}-{mode}.lua", args.seconds, args.connections)
            result.publish_seconds = time.monotonic() - started
            requests.unlink()
            result.delivered, result.drain_seconds, result.complete = drain(
                target, fanout, result.published, args.connections)
            print(f"  {target.name} {mode}: {result.publish_rate:.0f} Publish/s, {result.published} acknowledged "
                  f"({result.issued} sent), delivered {result.delivered} in {result.drain_seconds:.1f} s drain",
                  flush=True)
            end_to_end(target, fanout, args.messages, args.e2e_seconds, result)
            print(f"  {target.name} {mode}: boto3 {result.e2e_published} published at "
                  f"{result.e2e_publish_rate:.0f}/s, p50 {result.percentile(0.5):.1f} ms, "
                  f"p99 {result.percentile(0.99):.1f} ms, per queue (distinct, missing, duplicates) "
                  f"{result.e2e_queues}", flush=True)
        except Exception as exc:
            result.error = f"{type(exc).__name__}: {exc}"[:500]
            print(f"  {target.name} {mode}: FAILED {result.error}", file=sys.stderr, flush=True)
            traceback.print_exc()
    return {mode: first.merged(second) for mode, (first, second) in rounds.items()}


def warm_up(target: Target, workdir: Path, args: argparse.Namespace) -> None:
    """An unmeasured round first (3 s of wrk on a fan-out of each mode, then its drain): a
    server just started runs its first round slower (caches, the interpreter's specialised
    bytecode, the database's first pages), and in E/U/U/E that round is an encrypted one."""
    for mode in ("encrypted", "unencrypted"):
        fanout = make_fanout(target, mode, -1)
        requests = workdir / f"{target.name}-warm-up.requests"
        write_requests(requests, target, fanout.topic_arn, 4000)
        _, published, _ = run_wrk(target, requests, workdir / f"{target.name}-warm-up.lua", 3, args.connections)
        requests.unlink()
        drain(target, fanout, published, args.connections)


def report(table: dict[str, dict[str, Result]], connections: int) -> None:
    names = list(table)
    peers = names[1:]
    rows: list[tuple[str, Any]] = []
    for mode in ("encrypted", "unencrypted"):
        rows += [
            (f"{mode}: Publish/s (wrk, {connections} conn)", lambda r: r.publish_rate),
            (f"{mode}: deliveries/s, publish start->drained", lambda r: r.pipeline_rate),
            (f"{mode}: deliveries/s, drain only", lambda r: r.drain_rate),
            (f"{mode}: boto3 Publish/s (1 publisher)", lambda r: r.e2e_publish_rate),
            (f"{mode}: boto3 publish->receive p50 ms", lambda r: r.percentile(0.5)),
            (f"{mode}: boto3 publish->receive p99 ms", lambda r: r.percentile(0.99)),
        ]
    print()
    header = f"{'scenario':46}" + "".join(f"{name:>13}" for name in names)
    header += "".join(f"{'cp/' + name[:6]:>11}" for name in peers)
    print(header)
    for label, get in rows:
        mode = label.split(":")[0]
        values = [get(table[name][mode]) if not table[name][mode].error else 0.0 for name in names]
        digits = 1 if "ms" in label else 0
        line = f"{label:46}" + "".join(f"{value:13,.{digits}f}" if value else f"{'-':>13}" for value in values)
        line += "".join(f"{values[0] / value:11.2f}" if value and values[0] else f"{'-':>11}" for value in values[1:])
        print(line)
    print()
    for name in names:
        for mode, result in table[name].items():
            if result.error:
                print(f"{name} {mode}: FAILED {result.error}")
                continue
            extra = [d - result.published for d in result.delivered]
            print(f"{name} {mode}: wrk {result.published} acknowledged, {result.issued} sent; delivered per queue "
                  f"{result.delivered} (+{extra} beyond acknowledged, at most {result.issued - result.published} "
                  f"allowed) -> {'complete' if result.complete else 'INCOMPLETE'}; boto3 "
                  f"{result.e2e_published} published, per queue (distinct, missing, duplicates) {result.e2e_queues}")
    print()
    for name in names:
        enc, plain = table[name]["encrypted"], table[name]["unencrypted"]
        if enc.error or plain.error or not plain.publish_rate or not plain.pipeline_rate:
            continue
        print(f"{name}: encrypted/unencrypted Publish/s {enc.publish_rate / plain.publish_rate:.2f}, "
              f"deliveries/s {enc.pipeline_rate / plain.pipeline_rate:.2f}"
              + (" (target >= 0.9)" if name == "cipherpost" else ""))
    if "cipherpost" not in table:
        return
    cp = table["cipherpost"]["encrypted"]
    ls = table.get("localstack", {}).get("encrypted")
    if ls and ls.publish_rate and cp.publish_rate:
        print(f"cipherpost/localstack encrypted Publish/s with fan-out: {cp.publish_rate / ls.publish_rate:.2f} "
              "(target >= 5)")
    if cp.e2e_latencies:
        print(f"cipherpost encrypted publish->receive p50: {cp.percentile(0.5):.1f} ms (target < 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--presigned", type=int, default=24000, help="distinct Publish requests per wrk run")
    parser.add_argument("--messages", type=int, default=1000, help="boto3 end-to-end publishes (at most)")
    parser.add_argument("--e2e-seconds", type=float, default=30, help="boto3 end-to-end publishing time (at most)")
    parser.add_argument("--localstack-python", help="python of a venv with localstack-core[runtime] (3.13)")
    parser.add_argument("--only", nargs="*", help="server names to measure (default: every one started)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench needs wrk: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="cipherpost-sns-bench-"))
    try:
        localstack = args.localstack_python if not args.only or "localstack" in args.only else None
        with servers(workdir, localstack) as targets:
            table = {}
            for target in targets:
                if args.only and target.name not in args.only:
                    continue
                print(f"== {target.name}", flush=True)
                table[target.name] = measure(target, workdir, args)
        report(table, args.connections)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
