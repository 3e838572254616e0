"""SQS over its Query protocol (older SDKs, the Java SDK v1): form POSTs to ``/`` and to the
queue URL path, and GET, signed with botocore's SigV4Auth, answered in XML."""

from __future__ import annotations

import hashlib
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from e2e_support import REGION, ServerProcess, http_get

NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


def query(server: ServerProcess, params: dict[str, str], *, path: str = "/",
          method: str = "POST") -> tuple[int, dict[str, str], ET.Element]:
    """One signed Query request; returns status, headers and the parsed XML root."""
    params = {**params, "Version": "2012-11-05"}
    encoded = urllib.parse.urlencode(params)
    credentials = Credentials(server.access_key_id, server.secret_access_key)
    if method == "POST":
        request = AWSRequest("POST", server.url + path, data=encoded.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    else:
        request = AWSRequest("GET", f"{server.url}{path}?{encoded}")
    SigV4Auth(credentials, "sqs", REGION).add_auth(request)
    prepared = request.prepare()
    status, headers, body = http_get(prepared.url, headers=dict(prepared.headers), data=prepared.body,
                                     method=method)
    return status, headers, ET.fromstring(body)


def text(root: ET.Element, path: str) -> str:
    found = root.find(_ns(path))
    assert found is not None and found.text is not None, ET.tostring(root)
    return found.text


def _ns(path: str) -> str:
    return "/".join(f".//{NS}{part}" if index == 0 else f"{NS}{part}" for index, part in enumerate(path.split("/")))


@pytest.fixture(scope="module")
def queue_url(server: ServerProcess) -> str:
    status, _, root = query(server, {"Action": "CreateQueue", "QueueName": f"query-{uuid.uuid4().hex[:10]}",
                                     "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "40"})
    assert status == 200
    return text(root, "QueueUrl")


def test_send_receive_delete_over_query(server: ServerProcess, queue_url: str) -> None:
    status, _, root = query(server, {"Action": "SendMessage", "QueueUrl": queue_url, "MessageBody": "hello query",
                                     "MessageAttribute.1.Name": "k",
                                     "MessageAttribute.1.Value.DataType": "String",
                                     "MessageAttribute.1.Value.StringValue": "v"})
    assert status == 200
    assert root.tag == f"{NS}SendMessageResponse"
    message_id = text(root, "SendMessageResult/MessageId")
    assert text(root, "MD5OfMessageBody") == hashlib.md5(b"hello query").hexdigest()
    status, _, root = query(server, {"Action": "ReceiveMessage", "QueueUrl": queue_url,
                                     "AttributeName.1": "All", "MessageAttributeName.1": "All"})
    assert status == 200
    assert text(root, "ReceiveMessageResult/Message/MessageId") == message_id
    assert text(root, "Message/Body") == "hello query"
    names = {node.text for node in root.iter(f"{NS}Name")}
    assert {"SenderId", "SentTimestamp", "k"} <= names
    handle = text(root, "Message/ReceiptHandle")
    status, _, root = query(server, {"Action": "DeleteMessage", "QueueUrl": queue_url, "ReceiptHandle": handle})
    assert status == 200 and root.tag == f"{NS}DeleteMessageResponse"


def test_post_to_the_queue_url_path(server: ServerProcess, queue_url: str) -> None:
    path = urllib.parse.urlsplit(queue_url).path
    status, _, root = query(server, {"Action": "SendMessage", "MessageBody": "via path"}, path=path)
    assert status == 200, ET.tostring(root)
    status, _, root = query(server, {"Action": "GetQueueAttributes", "AttributeName.1": "All"}, path=path)
    assert status == 200
    pairs = {text_of(node, "Name"): text_of(node, "Value") for node in root.iter(f"{NS}Attribute")}
    assert pairs["VisibilityTimeout"] == "40"
    assert int(pairs["ApproximateNumberOfMessages"]) >= 1


def text_of(node: ET.Element, child: str) -> str:
    found = node.find(f"{NS}{child}")
    assert found is not None and found.text is not None
    return found.text


def test_get_request(server: ServerProcess, queue_url: str) -> None:
    status, _, root = query(server, {"Action": "ListQueues"}, method="GET")
    assert status == 200
    assert queue_url in [node.text for node in root.iter(f"{NS}QueueUrl")]


def test_query_errors_use_query_codes(server: ServerProcess) -> None:
    status, _, root = query(server, {"Action": "GetQueueUrl", "QueueName": "does-not-exist-" + uuid.uuid4().hex})
    assert status == 400
    assert text(root, "Error/Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert text(root, "Error/Type") == "Sender"
    status, _, root = query(server, {"Action": "SendMessage", "QueueUrl": "http://x/000000000000/nope"})
    assert status == 400
    assert text(root, "Error/Code") == "MissingParameter"


def test_query_batch(server: ServerProcess, queue_url: str) -> None:
    params: dict[str, Any] = {"Action": "SendMessageBatch", "QueueUrl": queue_url}
    for index in range(1, 4):
        params[f"SendMessageBatchRequestEntry.{index}.Id"] = f"e{index}"
        params[f"SendMessageBatchRequestEntry.{index}.MessageBody"] = f"b{index}"
    params["SendMessageBatchRequestEntry.3.MessageBody"] = "\x01"
    status, _, root = query(server, params)
    assert status == 200
    assert len(list(root.iter(f"{NS}SendMessageBatchResultEntry"))) == 2
    (failed,) = list(root.iter(f"{NS}BatchResultErrorEntry"))
    assert text_of(failed, "Id") == "e3" and text_of(failed, "Code") == "InvalidMessageContents"
