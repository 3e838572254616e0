"""Routing: X-Amz-Target, Action + SigV4 scope, Version, queue URL path."""

from __future__ import annotations

import pytest

from cipherpost.errors import AwsError
from cipherpost.protocol import HttpRequest, operation_names, parse, registry, route, services

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _target(target: str) -> HttpRequest:
    return HttpRequest("POST", "/", "", {"x-amz-target": target,
                                        "content-type": "application/x-amz-json-1.1"}, b"{}")


@pytest.mark.parametrize(("target", "service", "operation"), [
    ("TrentService.Encrypt", "kms", "Encrypt"),
    ("AmazonSQS.SendMessage", "sqs", "SendMessage"),
    ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", "cloudtrail", "LookupEvents"),
])
def test_target_routes_to_json_service(target: str, service: str, operation: str) -> None:
    found = route(_target(target), None)

    assert (found.service, found.protocol, found.name) == (service, "json", operation)


@pytest.mark.parametrize("target", ["TrentService.Nope", "Nope.Encrypt", "Encrypt", "",
                                    "AmazonSQS.Encrypt"])
def test_unknown_target_is_unknown_operation(target: str) -> None:
    with pytest.raises(AwsError) as caught:
        route(_target(target), "kms")

    assert caught.value.code == "UnknownOperationException"


@pytest.mark.parametrize(("signed", "body", "code"), [
    ("sns", b"Action=Nope", "InvalidAction"),
    ("sns", b"Action=SendMessage", "InvalidAction"),
    ("sns", b"TopicArn=t", "MissingAction"),
    ("sns", b"Action=", "MissingAction"),
    ("s3", b"Action=ListBuckets", "InvalidAction"),
    (None, b"Action=Publish", "InvalidAction"),
    (None, b"Action=Publish&Version=1999-01-01", "InvalidAction"),
    ("kms", b"Action=Encrypt", "UnknownOperationException"),
])
def test_query_routing_errors(signed: str | None, body: bytes, code: str) -> None:
    with pytest.raises(AwsError) as caught:
        route(HttpRequest("POST", "/", "", FORM, body), signed)

    assert caught.value.code == code


def test_invalid_action_message_is_aws_wording() -> None:
    with pytest.raises(AwsError) as caught:
        route(HttpRequest("POST", "/", "", FORM, b"Action=Nope"), "sqs")
    assert caught.value.message == "The action Nope is not valid for this endpoint."  # SQS's wording

    with pytest.raises(AwsError) as caught:
        route(HttpRequest("POST", "/", "", FORM, b"Action=Nope"), "sns")
    assert caught.value.message == "The action Nope is not valid for this web service."


def test_get_of_a_queue_url_without_action_is_a_bare_unknown_operation() -> None:
    with pytest.raises(AwsError) as caught:
        route(HttpRequest("GET", "/000000000000/q", "", {}, b""), "sqs")
    assert (caught.value.code, caught.value.status) == ("UnknownOperationException", 404)


@pytest.mark.parametrize(("version", "service"), [("2011-06-15", "sts"), ("2010-05-08", "iam"),
                                                  ("2010-03-31", "sns"), ("2012-11-05", "sqs")])
def test_unsigned_query_routes_by_version(version: str, service: str) -> None:
    action = {"sts": "GetCallerIdentity", "iam": "ListUsers", "sns": "ListTopics", "sqs": "ListQueues"}[service]
    request = HttpRequest("GET", "/", f"Action={action}&Version={version}", {}, b"")

    found = route(request, None)

    assert (found.service, found.protocol, found.name) == (service, "query", action)


def test_signed_service_wins_over_version() -> None:
    request = HttpRequest("POST", "/", "", FORM, b"Action=ListTopics&Version=2012-11-05")

    assert route(request, "sns").service == "sns"


def test_form_body_and_query_string_are_merged() -> None:
    request = HttpRequest("POST", "/", "Action=Publish", FORM, b"TopicArn=t&Message=m")

    found = route(request, "sns")

    assert parse(found, request) == {"TopicArn": "t", "Message": "m"}


def test_sqs_query_to_queue_path_routes_to_sqs_and_fills_queue_url() -> None:
    # Java SDK v1 / AWS Query API examples: POST to the queue URL, no QueueUrl parameter.
    request = HttpRequest("POST", "/123456789012/orders.fifo", "", {**FORM, "host": "localhost:4566"},
                          b"Action=SendMessage&MessageBody=hello")

    found = route(request, None)

    assert (found.service, found.protocol) == ("sqs", "query")
    assert parse(found, request) == {"QueueUrl": "http://localhost:4566/123456789012/orders.fifo",
                                     "MessageBody": "hello"}
    assert parse(found, request, queue_url_from_path=lambda path: "https://q.example" + path)["QueueUrl"] == (
        "https://q.example/123456789012/orders.fifo")


def test_explicit_queue_url_is_kept_on_queue_path() -> None:
    request = HttpRequest("POST", "/123456789012/a", "", FORM, b"Action=PurgeQueue&QueueUrl=http://x/1/b")

    assert parse(route(request, "sqs"), request) == {"QueueUrl": "http://x/1/b"}


def test_queue_path_does_not_fill_other_services() -> None:
    request = HttpRequest("POST", "/123456789012/a", "", {**FORM, "host": "h"}, b"Action=ListTopics")

    assert parse(route(request, "sns"), request) == {}


def test_services_table() -> None:
    table = services()

    assert set(table) == {"sts", "iam", "sns", "sqs", "kms", "cloudtrail"}
    assert table["sqs"].protocols == ("json", "query")
    assert table["kms"].signing_name == "kms"


def test_operation_names() -> None:
    assert {"SendMessage", "ReceiveMessage", "DeleteMessage"} <= operation_names("sqs")
    assert "GetCallerIdentity" in operation_names("sts")


def test_sqs_query_model_has_every_json_operation() -> None:
    json_model = registry.service_model("sqs", "json")
    query_model = registry.service_model("sqs", "query")

    assert query_model.metadata["protocol"] == "query"
    assert query_model.metadata["xmlNamespace"] == "http://queue.amazonaws.com/doc/2012-11-05/"
    assert set(query_model.operation_names) == set(json_model.operation_names)
    # The shared botocore data is not modified by the derivation.
    assert "locationName" not in registry.raw_model("sqs")["shapes"]["TagKeyList"]["member"]
