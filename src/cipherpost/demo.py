"""``cipherpost demo``: the blog's encrypted fan-out, step by step, with boto3.

Starts a throw-away server (a free port, a temporary data directory) unless
``--endpoint-url`` names a running one (then ``--access-key-id`` / ``--secret-access-key``,
or the usual AWS environment variables, give root credentials of an account). Then, as
"Encrypting messages published to Amazon SNS with AWS KMS" describes: the customer key
``alias/EMRKey`` with the blog's key policy (root, EMRAdmin, EMRUser, sns.amazonaws.com),
the IAM users EMRAdmin and EMRUser (EMRUser may only ``sns:Publish`` to the topic), the
encrypted topic Patient-Records, three encrypted queues whose policies let the topic send,
the subscriptions, a publish as EMRUser, and a receive from each queue. Finally two
misconfigurations and what they produce: a queue encrypted with ``alias/aws/sqs``
receives nothing, and a publisher the key policy does not name gets ``KMSAccessDenied``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TOPIC = "Patient-Records"
QUEUES = ("Billing-Integration", "Scheduling-Integration", "Prescription-Integration")
MESSAGE = '{"patient": 2911, "medication": 151}'
SUBJECT = "Electronic Medical Record - 3472"
KEY_ADMIN_ACTIONS = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                     "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                     "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
KEY_USER_ACTIONS = ["kms:GenerateDataKey*", "kms:Decrypt"]


def key_policy(account: str, *, service_principal: bool = True) -> str:
    """The blog's key policy "EMR-System-KeyPolicy" for ``account``."""
    statements: list[dict[str, Any]] = [
        {"Sid": "Allow access for Root User", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrator", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:user/EMRAdmin"}, "Action": KEY_ADMIN_ACTIONS,
         "Resource": "*"},
        {"Sid": "Allow access for Key User (SNS IAM User)", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:user/EMRUser"}, "Action": KEY_USER_ACTIONS, "Resource": "*"},
    ]
    if service_principal:
        statements.append({"Sid": "Allow access for Key User (SNS Service Principal)", "Effect": "Allow",
                           "Principal": {"Service": "sns.amazonaws.com"}, "Action": KEY_USER_ACTIONS,
                           "Resource": "*"})
    return json.dumps({"Version": "2012-10-17", "Id": "EMR-System-KeyPolicy", "Statement": statements})


def publisher_policy(topic_arn: str) -> str:
    """The blog's IAM policy of the publisher: ``sns:Publish`` on the topic."""
    return json.dumps({"Version": "2012-10-17",
                       "Statement": {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": topic_arn}})


def queue_policy(queue_arn: str, topic_arn: str) -> str:
    """What the SDKs' ``subscribeQueue`` helpers write: the topic may send to the queue."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "topic-subscription", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})


class Scenario:
    """The blog's resources, created with boto3 clients from ``client``."""

    def __init__(self, client: Callable[..., Any], say: Callable[[str], None] = print) -> None:
        self.client = client
        self.say = say
        self.account = client("sts").get_caller_identity()["Account"]
        self.region = client("sns").meta.region_name
        self.users: dict[str, tuple[str, str]] = {}

    def create_key(self, alias: str, *, service_principal: bool = True) -> str:
        kms = self.client("kms")
        key_id = kms.create_key(Policy=key_policy(self.account, service_principal=service_principal),
                                Description=f"{alias} for the EMR system",
                                BypassPolicyLockoutSafetyCheck=False)["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
        return f"arn:aws:kms:{self.region}:{self.account}:{alias}"

    def create_user(self, name: str, *policies: str) -> tuple[str, str]:
        iam = self.client("iam")
        iam.create_user(UserName=name)
        for index, document in enumerate(policies):
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy-{index}", PolicyDocument=document)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        self.users[name] = (key["AccessKeyId"], key["SecretAccessKey"])
        return self.users[name]

    def as_user(self, name: str, service: str) -> Any:
        key_id, secret = self.users[name]
        return self.client(service, access_key_id=key_id, secret=secret)

    def create_queue(self, name: str, key_id: str, topic_arn: str) -> tuple[str, str]:
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes={"KmsMasterKeyId": key_id})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, topic_arn)})
        return url, arn

    def receive(self, url: str, wait: int = 10) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        deadline = time.monotonic() + wait
        while True:
            remaining = max(0, min(20, int(deadline - time.monotonic())))
            found: list[dict[str, Any]] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=remaining,
                                                              MaxNumberOfMessages=10).get("Messages", [])
            if found or remaining == 0:
                return found


def run(client: Callable[..., Any], say: Callable[[str], None] = print) -> int:
    """The walk-through; returns the exit status (0: everything happened as the blog says)."""
    scene = Scenario(client, say)
    account = scene.account
    topic_arn = f"arn:aws:sns:{scene.region}:{account}:{TOPIC}"
    say(f"== account {account}, region {scene.region}")
    say("1. IAM users: EMRAdmin (key administrator) and EMRUser (publisher, sns:Publish on the topic only)")
    scene.create_user("EMRAdmin")
    scene.create_user("EMRUser", publisher_policy(topic_arn))
    say("2. customer managed key alias/EMRKey with the blog's key policy "
        "(root, EMRAdmin, EMRUser, sns.amazonaws.com)")
    key_arn = scene.create_key("alias/EMRKey")
    say(f"   KmsMasterKeyId = {key_arn}")
    sns = client("sns")
    created = sns.create_topic(Name=TOPIC, Attributes={"KmsMasterKeyId": key_arn})["TopicArn"]
    say(f"3. encrypted topic {created}")
    urls: list[str] = []
    for name in QUEUES:
        url, arn = scene.create_queue(name, key_arn, topic_arn)
        sub = sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                            ReturnSubscriptionArn=True)["SubscriptionArn"]
        say(f"4. encrypted queue {name}: policy lets {TOPIC} send; subscribed as {sub}")
        urls.append(url)
    published = scene.as_user("EMRUser", "sns").publish(TopicArn=topic_arn, Subject=SUBJECT, Message=MESSAGE)
    say(f"5. EMRUser published {MESSAGE} (MessageId {published['MessageId']}); "
        "the body is stored encrypted under alias/EMRKey")
    status = 0
    for name, url in zip(QUEUES, urls, strict=True):
        found = scene.receive(url)
        if not found:
            say(f"6. {name}: NOTHING received")
            status = 1
            continue
        envelope = json.loads(found[0]["Body"])
        say(f"6. received from {name}: {envelope['Message']} (MessageId {envelope['MessageId']}, "
            f"signed, SignatureVersion {envelope['SignatureVersion']})")
    return status | misconfigurations(scene, topic_arn)


def misconfigurations(scene: Scenario, topic_arn: str) -> int:
    """The two classic mistakes, and what each produces."""
    say, sns = scene.say, scene.client("sns")
    say("7. misconfiguration: a queue encrypted with the AWS managed key alias/aws/sqs")
    url, arn = scene.create_queue("Audit-Integration", "alias/aws/sqs", topic_arn)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
    scene.as_user("EMRUser", "sns").publish(TopicArn=topic_arn, Subject=SUBJECT, Message=MESSAGE)
    found = scene.receive(url, wait=3)
    say("   Audit-Integration received nothing: the policy of alias/aws/sqs does not let sns.amazonaws.com "
        "use the key" if not found else "   UNEXPECTED: Audit-Integration received the message")
    say("8. misconfiguration: a topic whose key policy does not name the publisher")
    kms = scene.client("kms")
    key_id = kms.create_key(Description="root-only key")["KeyMetadata"]["KeyId"]
    other = sns.create_topic(Name="Patient-Records-Archive", Attributes={"KmsMasterKeyId": key_id})["TopicArn"]
    scene.client("iam").put_user_policy(UserName="EMRUser", PolicyName="archive",
                                        PolicyDocument=publisher_policy(other))
    try:
        scene.as_user("EMRUser", "sns").publish(TopicArn=other, Message=MESSAGE)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        say(f"   Publish failed with {code}: nothing was stored or delivered")
        return 0 if code == "KMSAccessDenied" and not found else 1
    say("   UNEXPECTED: Publish succeeded")
    return 1


@contextmanager
def local_server() -> Iterator[tuple[str, str, str]]:
    """A throw-away ``cipherpost serve``: yields (endpoint URL, access key id, secret)."""
    import configparser  # noqa: PLC0415
    import socket  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="cipherpost-demo-") as temp:
        data = Path(temp) / "data"
        log_path = Path(temp) / "server.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "cipherpost.cli", "serve", "--data-dir", str(data), "--listen",
                 f"http://127.0.0.1:{port}", "--log-level", "warning"], stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while "listening on" not in log_path.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the demo server did not start:\n" + log_path.read_text(errors="replace"))
                time.sleep(0.05)
            credentials = configparser.ConfigParser()
            credentials.read(data / "credentials")
            section = credentials["cipherpost"]
            yield f"http://127.0.0.1:{port}", section["aws_access_key_id"], section["aws_secret_access_key"]
        finally:
            process.terminate()
            process.wait(timeout=30)


def _clients(endpoint: str, key_id: str, secret: str, region: str) -> Callable[..., Any]:
    import boto3  # noqa: PLC0415 - only the demo needs the SDK
    from botocore.config import Config  # noqa: PLC0415

    def client(service: str, *, access_key_id: str | None = None, secret: str | None = None) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=region,
                            aws_access_key_id=access_key_id or key_id, aws_secret_access_key=secret or secret_key,
                            config=Config(retries={"max_attempts": 2}))

    secret_key = secret
    return client


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cipherpost demo", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", help="a running Cipherpost (default: start one in a temporary directory)")
    parser.add_argument("--access-key-id", default=os.environ.get("AWS_ACCESS_KEY_ID"))
    parser.add_argument("--secret-access-key", default=os.environ.get("AWS_SECRET_ACCESS_KEY"))
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    if args.endpoint_url:
        if not (args.access_key_id and args.secret_access_key):
            print("cipherpost demo: --endpoint-url needs --access-key-id and --secret-access-key", file=sys.stderr)
            return 2
        return run(_clients(args.endpoint_url, args.access_key_id, args.secret_access_key, args.region))
    with local_server() as (endpoint, key_id, secret):
        print(f"== started a throw-away Cipherpost at {endpoint}")
        return run(_clients(endpoint, key_id, secret, args.region))


if __name__ == "__main__":
    raise SystemExit(main())
