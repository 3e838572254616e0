"""In-process cost of the blog's fan-out: one SNS ``Publish`` delivered to three SQS queues.

The workload of ``bench/sns_bench.py`` (a customer key whose policy lets SNS use it, the
encrypted topic, three queues encrypted under the same key with policies that let the topic
send, three envelope subscriptions), built in a runtime driven in-process (``inprocess.py``:
no sockets, no uvicorn; SQLite store with fsynced group commits; the delivery worker runs
as under ``cipherpost serve``). ``--connections`` publishers each replay distinct pre-signed
Publish requests one after another, ``--messages`` in all; a run ends when the outbox is
empty, i.e. every message sits in all three queues.

Prints, best of ``--repeat`` runs, the CPU microseconds per published message split by
thread (event loop: requests and delivery; SQLite writer; other threads: reads) and the
child processes (signing), the publish rate and the pipeline rate (publish start → outbox
empty, in deliveries/s), then a cProfile top list of one more run (event loop thread only,
by its CPU clock).

Usage: python bench/profile_sns.py [--messages 2000] [--connections 16] [--repeat 3] [--plain]
                                   [--raw] [--top 40 (0: no profile)] [--sort cumtime|tottime]
                                   [--dump FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time

from inprocess import Harness, cpu_split, harness, profile_once, thread_cpu

QUEUES = ("Billing", "Scheduling", "Prescription")
PAD = "p" * 120


def xml_value(body: bytes, tag: str) -> str:
    found = re.search(rf"<{tag}>([^<]+)</{tag}>".encode(), body)
    if found is None:
        raise SystemExit(f"no {tag} in {body!r}")
    return found.group(1).decode()


async def fanout(h: Harness, encrypted: bool, raw: bool) -> str:
    """Build the blog's topic, queues and subscriptions; return the topic ARN."""
    account = h.runtime.default_account
    topic_attributes: dict[str, str] = {}
    queue_attributes = {"SqsManagedSseEnabled": "false"}
    if encrypted:
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
             "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}]}
        key = await h.call_json("kms", "CreateKey", {"Policy": json.dumps(policy)})
        topic_attributes = {"KmsMasterKeyId": key["KeyMetadata"]["Arn"]}
        queue_attributes = {"KmsMasterKeyId": key["KeyMetadata"]["Arn"]}
    form = {"Name": "Patient-Records"}
    for n, (name, value) in enumerate(topic_attributes.items(), 1):
        form |= {f"Attributes.entry.{n}.key": name, f"Attributes.entry.{n}.value": value}
    topic_arn = xml_value(await h.call("sns", "CreateTopic", form), "TopicArn")
    for name in QUEUES:
        url = (await h.call_json("sqs", "CreateQueue", {"QueueName": name, "Attributes": queue_attributes}))["QueueUrl"]
        arn = (await h.call_json("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]})
               )["Attributes"]["QueueArn"]
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
        await h.call_json("sqs", "SetQueueAttributes", {"QueueUrl": url, "Attributes": {"Policy": json.dumps(policy)}})
        subscription = {"TopicArn": topic_arn, "Protocol": "sqs", "Endpoint": arn}
        if raw:
            subscription |= {"Attributes.entry.1.key": "RawMessageDelivery", "Attributes.entry.1.value": "true"}
        await h.call("sns", "Subscribe", subscription)
    return topic_arn


async def drained(h: Harness) -> None:
    while True:
        row = await h.runtime.store.fetch_one("sns_outbox_count")
        if row is not None and int(row["n"]) == 0:
            return
        await asyncio.sleep(0.002)


async def main(messages: int, connections: int, repeat: int, top: int, sort: str, encrypted: bool,
               raw: bool, dump: str | None) -> None:
    async with harness() as h:
        topic_arn = await fanout(h, encrypted, raw)
        print(f"topic {topic_arn} ({'encrypted' if encrypted else 'plain'}, {'raw' if raw else 'envelope'})")
        requests = [h.request("sns", "Publish", {"TopicArn": topic_arn, "Message": json.dumps(
            {"seq": n, "record": {"patient": 2911, "medication": 151}, "pad": PAD})}) for n in range(messages)]
        messages -= messages % connections

        async def run() -> tuple[float, float]:
            h.sent.clear()
            pool = iter(requests)
            start = time.perf_counter()

            async def publisher() -> None:
                for _ in range(messages // connections):
                    await h.replay(*next(pool))

            await asyncio.gather(*(publisher() for _ in range(connections)))
            published = time.perf_counter()
            if h.statuses() != {200}:
                raise SystemExit(f"unexpected statuses {h.statuses()}: {h.sent[1]['body']!r}")
            await drained(h)
            return published - start, time.perf_counter() - start

        await run()  # warm up
        best: tuple[float, dict[str, float], float, float] = (math.inf, {}, 0.0, 0.0)
        for _ in range(repeat):
            before = thread_cpu()
            publish_time, pipeline_time = await run()
            split = cpu_split(before, thread_cpu())
            if sum(split.values()) < best[0]:
                best = (sum(split.values()), split, publish_time, pipeline_time)
        total, split, publish_time, pipeline_time = best
        print(f"{total / messages * 1e6:.0f} us CPU per published message, its 3 deliveries included "
              f"(best of {repeat} x {messages}, {connections} publishers)")
        for part in ("event loop", "sqlite writer", "other threads", "child processes"):
            print(f"  {part:15} {split.get(part, 0.0) / messages * 1e6:6.0f} us/message")
        print(f"  Publish {messages / publish_time:,.0f}/s; pipeline {3 * messages / pipeline_time:,.0f} "
              f"deliveries/s (publish start -> outbox empty)")
        if top > 0:
            await profile_once(run, top=top, sort=sort, dump=dump)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plain", action="store_true", help="an unencrypted topic and queues")
    parser.add_argument("--raw", action="store_true", help="RawMessageDelivery subscriptions")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumtime", choices=["cumtime", "tottime"])
    parser.add_argument("--dump", help="also write the profile to this file (pstats format)")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.connections, args.repeat, args.top, args.sort, not args.plain, args.raw,
                     args.dump))
