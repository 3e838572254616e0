"""Never a 500: malformed values reach the SQS handlers (client-side validation off) and get 4xx."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess


@pytest.fixture(scope="module")
def sqs(server: ServerProcess) -> Any:
    return server.client("sqs", parameter_validation=False)


@pytest.fixture(scope="module")
def url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"bad-{uuid.uuid4().hex[:10]}")["QueueUrl"])


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("delete_message", {"ReceiptHandle": "é"}),
    ("delete_message", {"ReceiptHandle": ""}),
    ("delete_message", {"ReceiptHandle": "YWJj"}),
    ("change_message_visibility", {"ReceiptHandle": "%%%", "VisibilityTimeout": 1}),
    ("send_message", {"MessageBody": "x", "MessageAttributes": {"a": {"DataType": ""}}}),
    ("send_message", {"MessageBody": "x",
                      "MessageAttributes": {"a": {"DataType": "Number", "StringValue": "1e99999"}}}),
    ("send_message", {"MessageBody": "x", "MessageSystemAttributes": {"AWSTraceHeader": {"DataType": "Binary",
                                                                                          "BinaryValue": b"x"}}}),
    ("send_message_batch", {"Entries": [{"Id": "a"}]}),
    ("receive_message", {"MessageAttributeNames": ["", ".*", "x.*"], "AttributeNames": ["Bogus"]}),
    ("set_queue_attributes", {"Attributes": {"RedrivePolicy": "[1]"}}),
    ("set_queue_attributes", {"Attributes": {"Policy": '{"Statement": []}'}}),
    ("set_queue_attributes", {"Attributes": {"VisibilityTimeout": "9" * 40}}),
    ("list_dead_letter_source_queues", {"NextToken": "!!!"}),
    ("add_permission", {"Label": "x", "AWSAccountIds": ["nope"], "Actions": ["SendMessage"]}),
]


@pytest.mark.parametrize(("method", "kwargs"), CALLS, ids=[f"{name}-{i}" for i, (name, _) in enumerate(CALLS)])
def test_client_errors_not_500(sqs: Any, url: str, method: str, kwargs: dict[str, Any]) -> None:
    try:
        getattr(sqs, method)(QueueUrl=url, **kwargs)
    except ClientError as error:
        assert 400 <= error.response["ResponseMetadata"]["HTTPStatusCode"] < 500, error.response


@pytest.mark.parametrize("queue_url", ["", "http://h/000000000000/" + "a" * 500, "http://h/000000000000/a%00b",
                                       "http://h/abc/def", "ftp://h/000000000000/q"])
def test_bad_queue_urls(sqs: Any, queue_url: str) -> None:
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_cancel_bad_task_handles(sqs: Any) -> None:
    for handle in ("x", "WzFd", "InN0cmluZyI="):
        with pytest.raises(ClientError) as info:
            sqs.cancel_message_move_task(TaskHandle=handle)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
