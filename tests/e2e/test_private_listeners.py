"""Private listeners (the VPC-endpoint equivalent): aws:SourceVpce, endpoint policies, Unix sockets."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from e2e_support import REGION, ServerProcess, free_port, launch

Start = Callable[..., ServerProcess]
PRIVATE = "vpce-0a1b2c3d4e5f6a7b8"
RESTRICTED = "vpce-1111222233334444"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def sqs_over_unix(server: ServerProcess, sock: str, operation: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A SigV4-signed SQS JSON request sent over a Unix socket (no SDK speaks AF_UNIX)."""
    payload = json.dumps(body).encode()
    request = AWSRequest(method="POST", url="http://localhost/", data=payload, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"AmazonSQS.{operation}"})
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "sqs", REGION).add_auth(request)
    conn = UnixConnection(sock)
    conn.request("POST", "/", body=payload, headers=dict(request.headers.items()))
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else {}


def client_for(server: ServerProcess, url: str, service: str) -> Any:
    original = server.url
    server.url = url
    try:
        return server.client(service)
    finally:
        server.url = original


@pytest.fixture
def private_server(fresh_server: Start, tmp_path: Path) -> tuple[ServerProcess, str, str, str]:
    public_port, restricted_port = free_port(), free_port()
    sock = str(tmp_path / "cipherpost.sock")
    endpoint_policy = json.dumps({"Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": ["sqs:ReceiveMessage", "sqs:GetQueueUrl"], "Resource": "*"}]})
    proc = fresh_server(
        "--listen", f"http://127.0.0.1:{public_port}",
        "--listen", f"unix:{sock}#{PRIVATE}",
        "--listen", f"http://127.0.0.1:{restricted_port}#{RESTRICTED}",
        "--endpoint-policy", f"{RESTRICTED}={endpoint_policy}",
    )
    proc.url = f"http://127.0.0.1:{public_port}"
    return proc, sock, f"http://127.0.0.1:{restricted_port}", proc.url


def test_source_vpce_policy_refuses_public_and_allows_private(private_server: tuple[ServerProcess, str, str, str]
                                                              ) -> None:
    proc, sock, _, _ = private_server
    sqs = proc.client("sqs")
    url = sqs.create_queue(QueueName="records")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"StringNotEquals": {"aws:SourceVpce": PRIVATE}}}]})})
    with pytest.raises(ClientError) as exc:
        sqs.send_message(QueueUrl=url, MessageBody="over the public listener")
    assert "AccessDenied" in exc.value.response["Error"]["Code"]
    status, body = sqs_over_unix(proc, sock, "SendMessage", {"QueueUrl": url, "MessageBody": "through the endpoint"})
    assert status == 200, body
    assert body["MessageId"]
    received = sqs.receive_message(QueueUrl=url)["Messages"]
    assert [message["Body"] for message in received] == ["through the endpoint"]


def test_endpoint_policy_is_an_extra_layer(private_server: tuple[ServerProcess, str, str, str]) -> None:
    proc, sock, restricted_url, _ = private_server
    url = proc.client("sqs").create_queue(QueueName="layered")["QueueUrl"]
    restricted = client_for(proc, restricted_url, "sqs")
    restricted.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        restricted.send_message(QueueUrl=url, MessageBody="not allowed by the endpoint policy")
    assert "AccessDenied" in exc.value.response["Error"]["Code"]
    status, _ = sqs_over_unix(proc, sock, "SendMessage", {"QueueUrl": url, "MessageBody": "no endpoint policy here"})
    assert status == 200


def test_private_calls_are_audited_with_their_endpoint(private_server: tuple[ServerProcess, str, str, str]) -> None:
    proc, sock, _, _ = private_server
    status, _ = sqs_over_unix(proc, sock, "ListQueues", {})
    assert status == 200
    events = proc.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListQueues"}])["Events"]
    records = [json.loads(event["CloudTrailEvent"]) for event in events]
    assert any(record.get("vpcEndpointId") == PRIVATE for record in records)
    proc.client("sqs").list_queues()
    events = proc.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ListQueues"}])["Events"]
    public = [json.loads(event["CloudTrailEvent"]) for event in events]
    assert any("vpcEndpointId" not in record or record["vpcEndpointId"] is None for record in public)


def test_malformed_endpoint_policy_refuses_to_start(tmp_path: Path) -> None:
    proc = launch(tmp_path / "bad", "--listen", f"unix:{tmp_path / 's.sock'}#{PRIVATE}",
                  "--endpoint-policy", f"{PRIVATE}={{\"Statement\": [{{\"Effect\": \"Maybe\"}}]}}", wait=False)
    assert proc.process.wait(timeout=30) == 2
    assert "endpoint_policies" in proc.log() and PRIVATE in proc.log()


def _with_forwarded_for(client: Any, address: str) -> Any:
    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Forwarded-For"] = address

    client.meta.events.register("before-sign.sqs.*", add_header)
    return client


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-proxy", "untrusted-peer"])
def test_source_ip_behind_a_trusted_proxy(fresh_server: Start, trusted: bool) -> None:
    proc = fresh_server(*(["--trusted-proxy", "127.0.0.0/8"] if trusted else []))
    sqs = proc.client("sqs")
    url = sqs.create_queue(QueueName="office-only")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn,
        "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]})})
    office = _with_forwarded_for(proc.client("sqs"), "203.0.113.7")
    if trusted:
        office.send_message(QueueUrl=url, MessageBody="from the office")
    else:
        with pytest.raises(ClientError):
            office.send_message(QueueUrl=url, MessageBody="spoofed header is not believed")
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="from loopback itself")


def sns_publish_over_unix(server: ServerProcess, sock: str, topic: str, message: str) -> tuple[int, str]:
    """A SigV4-signed SNS Publish (Query protocol) sent over a Unix socket."""
    payload = urlencode({"Action": "Publish", "Version": "2010-03-31", "TopicArn": topic, "Message": message}).encode()
    request = AWSRequest(method="POST", url="http://localhost/", data=payload,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "sns", REGION).add_auth(request)
    conn = UnixConnection(sock)
    conn.request("POST", "/", body=payload, headers=dict(request.headers.items()))
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, text


def test_topic_policy_requiring_the_endpoint(private_server: tuple[ServerProcess, str, str, str]) -> None:
    """The issue's case: Deny sns:Publish unless aws:SourceVpce is the private listener's id."""
    proc, sock, _, _ = private_server
    sns = proc.client("sns")
    topic = sns.create_topic(Name="Private-Records")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:*", "Resource": topic,
             "Condition": {"StringEquals": {"AWS:SourceOwner": "000000000000"}}},
            {"Sid": "private-only", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": topic,
             "Condition": {"StringNotEquals": {"aws:SourceVpce": PRIVATE}}}]}))
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=topic, Message="over the public listener")
    assert exc.value.response["Error"]["Code"] == "AuthorizationError"
    status, text = sns_publish_over_unix(proc, sock, topic, "through the endpoint")
    assert status == 200, text
    assert "<MessageId>" in text
