"""SQS behaviour pinned to responses recorded against real AWS (codes, messages, statuses and
attributes that AWS returns; each test names the behaviour it pins)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess


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
