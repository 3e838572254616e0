"""Errors: botocore must read our error responses as AWS's, per protocol."""

from __future__ import annotations

import json

import pytest

from cipherpost.errors import AwsError, InternalFailure, InvalidClientTokenId, aws_error
from cipherpost.protocol import HttpRequest, guess_protocol, registry, serialize_error
from cipherpost.protocol.errors import InvalidAction, InvalidParameterValue, MissingAction, MissingParameter
from cipherpost.protocol.routing import Route

from .wire import botocore_parse


class QueueDoesNotExist(AwsError):
    """The specified queue does not exist."""

    code = "QueueDoesNotExist"


class DeleteConflictException(AwsError):
    """The request was rejected because it attempted to delete a resource that has attached
    subordinate entities."""

    code = "DeleteConflictException"
    status = 409


class NotFoundException(AwsError):
    """The request was rejected because the specified entity or resource could not be found."""

    code = "NotFoundException"


def _route(service: str, protocol: str, operation: str) -> Route:
    return Route(service, protocol, registry.service_model(service, protocol).operation_model(operation))


def _error(service: str, protocol: str, operation: str, error: AwsError) -> dict[str, str]:
    response = serialize_error(error, "req-1", route=_route(service, protocol, operation))
    parsed = botocore_parse(service, operation, response, protocol)
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == response.status
    error_dict: dict[str, str] = parsed["Error"]
    return error_dict


def test_sqs_query_error_uses_query_code_from_model() -> None:
    error = _error("sqs", "query", "GetQueueUrl", QueueDoesNotExist())

    assert error["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert error["Message"] == "The specified queue does not exist for this wsdl version."  # Query wording
    assert error["Type"] == "Sender"
    assert error["Detail"] is None  # an empty <Detail/>, as AWS's SQS Query errors carry


def test_sqs_json_error_is_query_compatible() -> None:
    response = serialize_error(QueueDoesNotExist("gone"), "r", route=_route("sqs", "json", "GetQueueUrl"))
    error = botocore_parse("sqs", "GetQueueUrl", response)["Error"]

    assert json.loads(response.body) == {"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"}
    assert ("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender") in response.headers
    # botocore: Code from the header, the shape name kept for exception-class lookup.
    assert error == {"Code": "AWS.SimpleQueueService.NonExistentQueue", "QueryErrorCode": "QueueDoesNotExist",
                     "Message": "gone", "Type": "Sender"}


def test_sqs_error_without_query_code_keeps_shape_name() -> None:
    error = _error("sqs", "json", "SendMessage", aws_error("KmsDisabled", "disabled"))

    assert (error["Code"], error["QueryErrorCode"]) == ("KmsDisabled", "KmsDisabled")


def test_sqs_common_errors_have_their_json_names() -> None:
    """MissingParameter and InvalidParameterValue are not model shapes: over JSON, SQS types
    them ``MissingRequiredParameterException`` / ``InvalidParameterValueException`` and
    sends the Query code in x-amzn-query-error, which botocore reports as Error.Code."""
    missing = _error("sqs", "json", "SendMessage", MissingParameter("no body"))
    invalid = _error("sqs", "json", "SendMessage", InvalidParameterValue("bad"))
    query = _error("sqs", "query", "SendMessage", MissingParameter("no body"))

    assert (missing["Code"], missing["QueryErrorCode"]) == ("MissingParameter", "MissingRequiredParameterException")
    assert (invalid["Code"], invalid["QueryErrorCode"]) == ("InvalidParameterValue", "InvalidParameterValueException")
    assert query["Code"] == "MissingParameter"


def test_iam_error_shape_maps_to_query_code() -> None:
    error = _error("iam", "query", "DeleteUser", DeleteConflictException())

    assert error["Code"] == "DeleteConflict"


def test_kms_json_error() -> None:
    response = serialize_error(NotFoundException("no key"), "r", route=_route("kms", "json", "Encrypt"))

    assert response.status == 400
    assert ("Content-Type", "application/x-amz-json-1.1") in response.headers
    assert botocore_parse("kms", "Encrypt", response)["Error"] == {"Code": "NotFoundException",
                                                                   "Message": "no key"}


def test_auth_error_uses_json_code_and_status_over_json() -> None:
    kms = _error("kms", "json", "Encrypt", InvalidClientTokenId())
    sqs = _error("sqs", "json", "SendMessage", InvalidClientTokenId())
    sns = serialize_error(InvalidClientTokenId(), "r", route=_route("sns", "query", "Publish"))

    assert kms["Code"] == "UnrecognizedClientException"
    assert (sqs["Code"], sqs["QueryErrorCode"]) == ("InvalidClientTokenId", "UnrecognizedClientException")
    assert sns.status == 403
    assert botocore_parse("sns", "Publish", sns)["Error"]["Code"] == "InvalidClientTokenId"


def test_server_fault_is_receiver() -> None:
    error = _error("sns", "query", "Publish", InternalFailure())

    assert (error["Code"], error["Type"]) == ("InternalFailure", "Receiver")


def test_error_message_is_xml_escaped() -> None:
    error = _error("sts", "query", "GetCallerIdentity", aws_error("ValidationError", "<&>\"' ✓"))

    assert error["Message"] == "<&>\"' ✓"


@pytest.mark.parametrize(("protocol", "expected_type"), [("query", "text/xml"),
                                                         ("json", "application/x-amz-json-1.0")])
def test_error_before_routing_uses_given_protocol(protocol: str, expected_type: str) -> None:
    response = serialize_error(MissingAction(), "r", protocol=protocol)

    assert ("Content-Type", expected_type) in response.headers
    assert response.status == 400


def test_error_before_routing_in_json_uses_json_code() -> None:
    response = serialize_error(InvalidAction.named("Nope"), "r", protocol="json")

    assert json.loads(response.body)["__type"] == "UnknownOperationException"


def test_service_without_protocol_uses_its_own() -> None:
    response = serialize_error(MissingAction(), "r", service="kms")

    assert ("Content-Type", "application/x-amz-json-1.1") in response.headers


@pytest.mark.parametrize(("headers", "expected"), [
    ({"x-amz-target": "TrentService.Encrypt"}, "json"),
    ({"content-type": "application/x-amz-json-1.0"}, "json"),
    ({"content-type": "application/x-www-form-urlencoded"}, "query"),
    ({}, "query"),
])
def test_guess_protocol(headers: dict[str, str], expected: str) -> None:
    assert guess_protocol(HttpRequest("POST", "/", "", headers, b"")) == expected
