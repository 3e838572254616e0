"""Publish and PublishBatch: every input rule with AWS's error code, and batch results."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, launch


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = launch(tmp_path_factory.mktemp("sns-publish") / "data")
    yield proc
    proc.stop()


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def new_topic(server: ServerProcess, fifo: bool = False) -> str:
    attributes = {"FifoTopic": "true"} if fifo else {}
    name = f"p-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    return str(server.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"])


def attr(value: str, data_type: str = "String") -> dict[str, Any]:
    return {"DataType": data_type, "StringValue": value}


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"Message": ""}, "InvalidParameter"),
    ({"Message": "x" * (256 * 1024 + 1)}, "InvalidParameter"),
    ({"Message": "x" * (256 * 1024 - 10), "MessageAttributes": {"a": attr("y" * 20)}}, "InvalidParameter"),
    ({"Message": "x", "Subject": "line\nbreak"}, "InvalidParameter"),
    ({"Message": "x", "Subject": "s" * 101}, "InvalidParameter"),
    ({"Message": "x", "Subject": "caf\u00e9"}, "InvalidParameter"),
    ({"Message": "x", "MessageAttributes": {f"a{i}": attr("v") for i in range(11)}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageAttributes": {"AWS.reserved": attr("v")}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageAttributes": {"a..b": attr("v")}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageAttributes": {".a": attr("v")}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageAttributes": {"a": attr("v", "Text")}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageAttributes": {"a": attr("twelve", "Number")}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageAttributes": {"a": attr('{"not": "array"}', "String.Array")}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageAttributes": {"a": {"DataType": "String", "StringValue": ""}}}, "ParameterValueInvalid"),
    ({"Message": "x", "MessageDeduplicationId": "d"}, "InvalidParameter"),
    ({"Message": "x", "MessageStructure": "xml"}, "InvalidParameter"),
    ({"Message": "[]", "MessageStructure": "json"}, "InvalidParameter"),
], ids=["empty", "too-long", "too-long-with-attributes", "subject-newline", "subject-long", "subject-non-ascii",
        "eleven-attributes", "reserved-name", "double-period", "leading-period", "bad-type", "not-a-number",
        "bad-array", "empty-value", "dedup-on-standard", "bad-structure", "structure-not-object"])
def test_publish_input_rules(server: ServerProcess, kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ClientError) as info:
        server.client("sns").publish(TopicArn=new_topic(server), **kwargs)
    assert code(info) == expected


def test_accepted_attribute_forms(server: ServerProcess) -> None:
    result = server.client("sns").publish(TopicArn=new_topic(server), Message="x", MessageAttributes={
        "s": attr("v"), "n": attr("-1.5e3", "Number"), "a": attr('["a", 1, true, null]', "String.Array"),
        "b": {"DataType": "Binary", "BinaryValue": b"\x01"}, "custom": attr("7", "Number.int"),
        f"{'x' * 256}": attr("long name")})
    assert len(result["MessageId"]) == 36


def test_target_arn_and_missing_topic(server: ServerProcess) -> None:
    sns = server.client("sns")
    topic = new_topic(server)
    assert sns.publish(TargetArn=topic, Message="via target")["MessageId"]
    with pytest.raises(ClientError) as info:
        sns.publish(Message="nowhere")
    assert code(info) == "InvalidParameter"
    with pytest.raises(ClientError) as info:
        sns.publish(TopicArn=topic + "-gone", Message="x")
    assert code(info) == "NotFound"


def test_fifo_rules(server: ServerProcess) -> None:
    sns = server.client("sns")
    topic = new_topic(server, fifo=True)
    with pytest.raises(ClientError) as info:
        sns.publish(TopicArn=topic, Message="x", MessageDeduplicationId="d")
    assert code(info) == "InvalidParameter"  # no MessageGroupId
    with pytest.raises(ClientError) as info:
        sns.publish(TopicArn=topic, Message="x", MessageGroupId="g")
    assert code(info) == "InvalidParameter"  # no dedup id, no content-based deduplication
    result = sns.publish(TopicArn=topic, Message="x", MessageGroupId="g", MessageDeduplicationId="d")
    assert len(result["SequenceNumber"]) == 20


def test_publish_batch(server: ServerProcess) -> None:
    sns = server.client("sns")
    topic = new_topic(server)
    result = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "ok-1", "Message": "one"}, {"Id": "ok-2", "Message": "two", "Subject": "s"}])
    assert [e["Id"] for e in result["Successful"]] == ["ok-1", "ok-2"] and result["Failed"] == []
    # An entry Publish would refuse fails the whole batch with Publish's error (AWS: a 400).
    with pytest.raises(ClientError) as info:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "ok-1", "Message": "one"}, {"Id": "bad", "Message": "two", "Subject": "x\ny"}])
    assert code(info) == "InvalidParameter" and info.value.response["Error"]["Message"] == "Invalid parameter: Subject"
    with pytest.raises(ClientError) as info:
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "m", "MessageAttributes": {"k": {"DataType": "String", "StringValue": ""}}}])
    assert code(info) == "ParameterValueInvalid"
    fifo = new_topic(server, fifo=True)
    fifo_cases = [({"Id": "a", "Message": "m"}, "The MessageGroupId parameter is required for FIFO topics"),
                  ({"Id": "a", "Message": "m", "MessageGroupId": "g"}, "The topic should either have "
                   "ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")]
    for entry, message in fifo_cases:
        with pytest.raises(ClientError) as info:
            sns.publish_batch(TopicArn=fifo, PublishBatchRequestEntries=[
                {"Id": "ok", "Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": "d"}, entry])
        assert code(info) == "InvalidParameter"
        assert info.value.response["Error"]["Message"] == f"Invalid parameter: {message}"
    # The refused batches published nothing: the good FIFO entry's deduplication id is still free.
    assert sns.publish(TopicArn=fifo, Message="m", MessageGroupId="g", MessageDeduplicationId="d")[
        "SequenceNumber"] == "00000000000000000001"
    cases = [([], "EmptyBatchRequest"),
             ([{"Id": str(i), "Message": "m"} for i in range(11)], "TooManyEntriesInBatchRequest"),
             ([{"Id": "a", "Message": "m"}, {"Id": "a", "Message": "m"}], "BatchEntryIdsNotDistinct"),
             ([{"Id": "bad id!", "Message": "m"}], "InvalidBatchEntryId"),
             ([{"Id": "a", "Message": "x" * 200_000}, {"Id": "b", "Message": "x" * 100_000}], "BatchRequestTooLong")]
    for entries, expected in cases:
        with pytest.raises(ClientError) as info:
            sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
        assert code(info) == expected

