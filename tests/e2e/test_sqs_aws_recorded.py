"""SQS behaviour pinned to responses recorded against real AWS (codes, messages, statuses and
attributes that AWS returns; each test names the behaviour it pins)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess

from cipherpost.demo import queue_policy


def fails(call: Any, code: str, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert exc.value.response["Error"]["Code"] == code, exc.value.response
    return dict(exc.value.response)


def new_queue(sqs: Any, suffix: str = "", **attributes: str) -> str:
    name = f"rec-{uuid.uuid4().hex[:10]}{suffix}"
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


SSE_NAMES = ["KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"]


def test_data_key_reuse_period_only_on_sse_kms_queues(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    for url in (new_queue(sqs), new_queue(sqs, SqsManagedSseEnabled="false")):
        assert "KmsDataKeyReusePeriodSeconds" not in sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["All"])["Attributes"]
    url = new_queue(sqs)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"SqsManagedSseEnabled": "true"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=SSE_NAMES)["Attributes"] == {
        "SqsManagedSseEnabled": "true"}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "alias/aws/sqs",
                                                       "KmsDataKeyReusePeriodSeconds": "6000",
                                                       "SqsManagedSseEnabled": "false"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=SSE_NAMES)["Attributes"] == {
        "KmsMasterKeyId": "alias/aws/sqs", "KmsDataKeyReusePeriodSeconds": "6000", "SqsManagedSseEnabled": "false"}


TRACE = "Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1"


def traced_client(server: ServerProcess, trace: str) -> Any:
    sqs = server.client("sqs")

    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Amzn-Trace-Id"] = trace

    sqs.meta.events.register("before-send.sqs.*", add_header)
    return sqs


def test_trace_header_becomes_aws_trace_header(server: ServerProcess) -> None:
    sqs = traced_client(server, TRACE)
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="single")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "batch"}])
    explicit = "Root=1-00000000-000000000000000000000001;Sampled=0"
    sqs.send_message(QueueUrl=url, MessageBody="explicit", MessageSystemAttributes={
        "AWSTraceHeader": {"DataType": "String", "StringValue": explicit}})
    plain = server.client("sqs")
    plain.send_message(QueueUrl=url, MessageBody="untraced")
    seen: dict[str, str | None] = {}
    for _ in range(10):
        for message in plain.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                             MessageSystemAttributeNames=["AWSTraceHeader"]).get("Messages", []):
            seen[message["Body"]] = message.get("Attributes", {}).get("AWSTraceHeader")
        if len(seen) == 4:
            break
    assert seen == {"single": TRACE, "batch": TRACE, "explicit": explicit, "untraced": None}
    sqs.send_message(QueueUrl=url, MessageBody="named")
    got = plain.receive_message(QueueUrl=url, AttributeNames=["AWSTraceHeader"], WaitTimeSeconds=1)["Messages"]
    assert got[0]["Attributes"] == {"AWSTraceHeader": TRACE}


def test_dead_letter_move_keeps_the_receive_count(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    dlq = new_queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = new_queue(sqs, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}))
    sqs.send_message(QueueUrl=source, MessageBody="poison")
    first = sqs.receive_message(QueueUrl=source, VisibilityTimeout=0, AttributeNames=["All"])["Messages"][0]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    assert "Messages" not in sqs.receive_message(QueueUrl=source)
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert moved["Attributes"]["ApproximateReceiveCount"] == "2"
    assert moved["Attributes"]["ApproximateFirstReceiveTimestamp"] == first["Attributes"][
        "ApproximateFirstReceiveTimestamp"]


def arn_of(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def error_of(response: dict[str, Any]) -> tuple[str, str, int]:
    return (response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"])


def test_message_move_task_errors(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    plain = new_queue(sqs)
    assert error_of(fails(sqs.start_message_move_task, "InvalidParameterValue", SourceArn=arn_of(sqs, plain))) == (
        "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.", 400)
    dlq = new_queue(sqs)
    new_queue(sqs, RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1}))
    gone = arn_of(sqs, plain).replace("rec-", "gone-")
    assert error_of(fails(sqs.start_message_move_task, "ResourceNotFoundException", SourceArn=arn_of(sqs, dlq),
                          DestinationArn=gone)) == (
        "ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.",
        404)
    assert error_of(fails(sqs.cancel_message_move_task, "InvalidParameterValue", TaskHandle="not-a-handle")) == (
        "InvalidParameterValue", "Value for parameter TaskHandle is invalid.", 400)
    for _ in range(5):
        sqs.send_message(QueueUrl=dlq, MessageBody="slow")
    handle = sqs.start_message_move_task(SourceArn=arn_of(sqs, dlq), DestinationArn=arn_of(sqs, plain),
                                         MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    assert error_of(fails(sqs.start_message_move_task, "InvalidParameterValue", SourceArn=arn_of(sqs, dlq))) == (
        "InvalidParameterValue", "There is already a task running. Only one active task is allowed for a source "
        "queue arn at a given time.", 400)
    sqs.cancel_message_move_task(TaskHandle=handle)
    unknown = base64.urlsafe_b64encode(json.dumps({"taskId": str(uuid.uuid4()),
                                                   "sourceArn": arn_of(sqs, dlq)}).encode()).decode()
    assert error_of(fails(sqs.cancel_message_move_task, "ResourceNotFoundException", TaskHandle=unknown)) == (
        "ResourceNotFoundException", "Task does not exist.", 404)


def test_fifo_attributes_on_a_standard_queue(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    name = f"rec-{uuid.uuid4().hex[:10]}"
    expected = {
        "FifoQueue": ("false", "InvalidAttributeName", "Unknown Attribute FifoQueue."),
        "ContentBasedDeduplication": ("false", "InvalidAttributeName", "Unknown Attribute ContentBasedDeduplication."),
        "DeduplicationScope": ("queue", "InvalidAttributeName",
                               "You can specify the DeduplicationScope only when FifoQueue is set to true."),
        "FifoThroughputLimit": ("perQueue", "InvalidAttributeName",
                                "You can specify the FifoThroughputLimit only when FifoQueue is set to true."),
    }
    for attribute, (value, code, message) in expected.items():
        response = fails(sqs.create_queue, code, QueueName=name, Attributes={attribute: value})
        assert error_of(response) == (code, message, 400)
    url = new_queue(sqs)
    for value in ("true", "false"):
        response = fails(sqs.set_queue_attributes, "InvalidAttributeName", QueueUrl=url,
                         Attributes={"FifoQueue": value})
        assert response["Error"]["Message"] == "Unknown Attribute FifoQueue."


def test_message_attribute_names_and_string_values(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    url = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="test",
                     MessageAttributes={"attr.1øßä": {"StringValue": "Valida", "DataType": "String"}})
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
    assert got["MessageAttributes"] == {"attr.1øßä": {"StringValue": "Valida", "DataType": "String"}}
    response = fails(sqs.send_message, "InvalidParameterValue", QueueUrl=url, MessageBody="test",
                     MessageAttributes={"ErrorDetails": {"StringValue": "", "DataType": "String"}})
    assert error_of(response) == ("InvalidParameterValue", "Message (user) attribute 'ErrorDetails' must contain a "
                                  "non-empty value of type 'String'.", 400)
    fails(sqs.send_message, "InvalidParameterValue", QueueUrl=url, MessageBody="test",
          MessageAttributes={"attr1": {"StringValue": f"Invalid-{chr(8)},{chr(11)}", "DataType": "String"}})
    for name in ("Invalid-§-attr", "aWs.-Invalid-attr", "Invalid-!-attr"):
        fails(sqs.send_message, "InvalidParameterValue", QueueUrl=url, MessageBody="test",
              MessageAttributes={name: {"StringValue": "Valid", "DataType": "String"}})


def test_recorded_wording(server: ServerProcess) -> None:
    sqs = server.client("sqs")
    url = new_queue(sqs, MaximumMessageSize="1024")
    for wait in (21, -1):
        response = fails(sqs.receive_message, "InvalidParameterValue", QueueUrl=url, WaitTimeSeconds=wait)
        assert response["Error"]["Message"] == (f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: "
                                                f"Must be >= 0 and <= 20, if provided.")
    result = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "big", "MessageBody": "x" * 1025},
                                                           {"Id": "ok", "MessageBody": "small"}])
    assert [entry["Id"] for entry in result["Successful"]] == ["ok"]
    assert result["Failed"] == [{"Id": "big", "SenderFault": True, "Code": "InvalidParameterValue",
                                 "Message": "One or more parameters cannot be validated. Reason: Message must be "
                                            "shorter than 1024 bytes."}]
    response = fails(sqs.send_message, "InvalidParameterValue", QueueUrl=url, MessageBody="x" * 1025)
    assert response["Error"]["Message"] == ("One or more parameters are invalid. Reason: Message must be shorter "
                                            "than 1024 bytes.")
    sqs.add_permission(QueueUrl=url, Label="crossaccountpermission", AWSAccountIds=["000000000000"],
                       Actions=["ReceiveMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Version"] == "2008-10-17"
    response = fails(sqs.remove_permission, "InvalidParameterValue", QueueUrl=url, Label="crossaccountpermission2")
    assert response["Error"]["Message"] == ("Value crossaccountpermission2 for parameter Label is invalid. Reason: "
                                            "can't find label.")
    name = url.rsplit("/", 1)[1]
    sqs.delete_queue(QueueUrl=url)
    response = fails(sqs.create_queue, "AWS.SimpleQueueService.QueueDeletedRecently", QueueName=name)
    assert response["Error"]["Message"] == ("You must wait 60 seconds after deleting a queue before you can create "
                                            "another with the same name.")


def test_batch_results_leave_out_empty_lists(server: ServerProcess) -> None:
    """Recorded: a SendMessageBatch without failures has no "Failed" member (the JSON protocol
    leaves out empty lists; the other batch operations answer alike)."""
    sqs = server.client("sqs")
    url = new_queue(sqs)
    sent = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "one"},
                                                         {"Id": "b", "MessageBody": "two"}])
    assert sorted(entry["Id"] for entry in sent["Successful"]) == ["a", "b"] and "Failed" not in sent
    handles = [message["ReceiptHandle"] for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)[
        "Messages"]]
    changed = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": f"e{index}", "ReceiptHandle": handle, "VisibilityTimeout": 5} for index, handle in enumerate(handles)])
    assert len(changed["Successful"]) == 2 and "Failed" not in changed
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": f"e{index}", "ReceiptHandle": handle} for index, handle in enumerate(handles)])
    assert len(deleted["Successful"]) == 2 and "Failed" not in deleted
    failed = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "bad", "ReceiptHandle": "garbage"}])
    assert [entry["Id"] for entry in failed["Failed"]] == ["bad"] and "Successful" not in failed


def test_publish_trace_header_reaches_subscribed_queues(server: ServerProcess) -> None:
    """Standard topics deliver within Publish; FIFO ones through the stored message and the worker."""
    sqs = server.client("sqs")
    sns = server.client("sns")
    sns.meta.events.register("before-send.sns.*", lambda request, **_: request.headers.__setitem__(
        "X-Amzn-Trace-Id", TRACE))
    for fifo in (False, True):
        suffix = ".fifo" if fifo else ""
        topic_arn = sns.create_topic(Name=f"trace-{uuid.uuid4().hex[:8]}{suffix}",
                                     Attributes={"FifoTopic": "true"} if fifo else {})["TopicArn"]
        url = new_queue(sqs, suffix, **({"FifoQueue": "true"} if fifo else {}))
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn_of(sqs, url), topic_arn)})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn_of(sqs, url))
        extra = {"MessageGroupId": "g", "MessageDeduplicationId": "d"} if fifo else {}
        sns.publish(TopicArn=topic_arn, Message="traced", **extra)
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MessageSystemAttributeNames=["AWSTraceHeader"])
        assert got["Messages"][0]["Attributes"] == {"AWSTraceHeader": TRACE}, fifo
