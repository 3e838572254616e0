"""SQS over the Query protocol, pinned to what AWS answers there (recorded ``sqs_query``
responses): codes, messages, statuses, the empty ``<Detail/>`` of every error."""

from __future__ import annotations

import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from e2e_support import REGION, ServerProcess, http_get
from test_sqs_query import NS, query, text


def new_queue(server: ServerProcess) -> str:
    status, _, root = query(server, {"Action": "CreateQueue", "QueueName": f"qrec-{uuid.uuid4().hex[:10]}"})
    assert status == 200
    return text(root, "QueueUrl")


def error(root: ET.Element) -> tuple[str, str, str | None]:
    """(Code, Message, Detail text) of a Query error; asserts the Detail element is there."""
    detail = root.find(f".//{NS}Error/{NS}Detail")
    assert detail is not None, ET.tostring(root)
    return text(root, "Error/Code"), text(root, "Error/Message"), detail.text


def test_missing_queue_says_wsdl_version(server: ServerProcess) -> None:
    url = new_queue(server)
    server.client("sqs").delete_queue(QueueUrl=url)
    status, _, root = query(server, {"Action": "GetQueueAttributes", "QueueUrl": url, "AttributeName.1": "QueueArn"})
    assert status == 400
    assert error(root) == ("AWS.SimpleQueueService.NonExistentQueue",
                           "The specified queue does not exist for this wsdl version.", None)


def test_unknown_action(server: ServerProcess) -> None:
    """An action SQS does not have, and the account's actions sent to a queue URL."""
    url = new_queue(server)
    for action in ("FooBar", "CreateQueue", "ListQueues"):
        status, _, root = query(server, {"Action": action, "QueueName": "other"}, path=urllib.parse.urlsplit(url).path,
                                method="GET")
        assert status == 400
        assert error(root) == ("InvalidAction", f"The action {action} is not valid for this endpoint.", None)
        assert text(root, "Error/Type") == "Sender"


def test_missing_message_body(server: ServerProcess) -> None:
    url = new_queue(server)
    status, _, root = query(server, {"Action": "SendMessage", "QueueUrl": url})
    assert status == 400
    assert error(root) == ("MissingParameter", "The request must contain the parameter MessageBody.", None)


def test_empty_send_batch(server: ServerProcess) -> None:
    url = new_queue(server)
    status, _, root = query(server, {"Action": "SendMessageBatch", "QueueUrl": url})
    assert status == 400
    assert error(root) == ("AWS.SimpleQueueService.EmptyBatchRequest",
                           "There should be at least one SendMessageBatchRequestEntry in the request.", None)


def test_get_queue_url_without_action_is_unknown_operation(server: ServerProcess) -> None:
    url = new_queue(server)
    request = AWSRequest("GET", server.url + urllib.parse.urlsplit(url).path)
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "sqs", REGION).add_auth(request)
    prepared = request.prepare()
    status, _, body = http_get(prepared.url, headers=dict(prepared.headers), method="GET")
    assert status == 404
    assert b"<UnknownOperationException" in body


def test_receive_without_messages_is_an_empty_result(server: ServerProcess) -> None:
    """Recorded: an empty queue answers ReceiveMessage with ``<ReceiveMessageResult/>``."""
    url = new_queue(server)
    params = urllib.parse.urlencode({"Action": "ReceiveMessage", "Version": "2012-11-05"})
    request = AWSRequest("GET", f"{server.url}{urllib.parse.urlsplit(url).path}?{params}")
    SigV4Auth(Credentials(server.access_key_id, server.secret_access_key), "sqs", REGION).add_auth(request)
    prepared = request.prepare()
    status, _, body = http_get(prepared.url, headers=dict(prepared.headers), method="GET")
    assert status == 200
    assert b"<ReceiveMessageResult/><ResponseMetadata>" in body
