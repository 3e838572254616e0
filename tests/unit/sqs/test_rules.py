"""Pure SQS rules: queue names, queue URLs, attribute tables, redrive policies, message contents."""

from __future__ import annotations

import json

import pytest

from cipherpost.errors import AwsError
from cipherpost.services.sqs import attributes as attrs
from cipherpost.services.sqs.contents import (
    check_body,
    check_message_attributes,
    check_system_attributes,
    message_size,
    with_trace_header,
)
from cipherpost.services.sqs.fifo import check_id, content_hash
from cipherpost.services.sqs.move_tasks import Pace
from cipherpost.services.sqs.names import QueueRef, check_queue_name, parse_queue_arn, parse_queue_url
from cipherpost.services.sqs.redrive import parse_redrive_allow_policy, parse_redrive_policy


@pytest.mark.parametrize(("name", "fifo", "ok"), [
    ("a", False, True),
    ("A-b_9", False, True),
    ("x" * 80, False, True),
    ("x" * 81, False, False),
    ("", False, False),
    ("has.dot", False, False),
    ("has space", False, False),
    ("q.fifo", True, True),
    ("x" * 75 + ".fifo", True, True),
    ("x" * 76 + ".fifo", True, False),
    ("q", True, False),
    (".fifo", True, False),
])
def test_queue_names(name: str, fifo: bool, ok: bool) -> None:
    if ok:
        check_queue_name(name, fifo=fifo)
    else:
        with pytest.raises(AwsError) as info:
            check_queue_name(name, fifo=fifo)
        assert info.value.code == "InvalidParameterValue"


@pytest.mark.parametrize("url", [
    "http://localhost:4566/123456789012/q",
    "https://sqs.us-east-1.amazonaws.com/123456789012/q",
    "http://other-host/123456789012/q/",
    "/123456789012/q",
])
def test_queue_url_from_any_host(url: str) -> None:
    assert parse_queue_url(url, "000000000000") == QueueRef("123456789012", "q")


@pytest.mark.parametrize("name", ["q", "q.fifo", " q "])
def test_a_bare_queue_name_is_a_queue_of_the_callers_account(name: str) -> None:
    assert parse_queue_url(name, "000000000000") == QueueRef("000000000000", name.strip())


@pytest.mark.parametrize("url", ["", "bad name", "http://h/q", "http://h/12345/q", "http://h/123456789012/q/extra",
                                 "12345/q", "/q"])
def test_bad_queue_urls(url: str) -> None:
    with pytest.raises(AwsError) as info:
        parse_queue_url(url, "000000000000")
    assert info.value.code == "QueueDoesNotExist"


def test_queue_arn() -> None:
    assert parse_queue_arn("arn:aws:sqs:us-east-1:123456789012:q.fifo") == (
        "us-east-1", QueueRef("123456789012", "q.fifo"))
    assert parse_queue_arn("arn:aws:sns:us-east-1:123456789012:t") is None


RANGES = [
    ("VisibilityTimeout", 0, 43200),
    ("MaximumMessageSize", 1024, 1048576),
    ("MessageRetentionPeriod", 60, 1209600),
    ("DelaySeconds", 0, 900),
    ("ReceiveMessageWaitTimeSeconds", 0, 20),
    ("KmsDataKeyReusePeriodSeconds", 60, 86400),
]


@pytest.mark.parametrize(("name", "low", "high"), RANGES, ids=[item[0] for item in RANGES])
def test_integer_ranges(name: str, low: int, high: int) -> None:
    assert attrs.validate_attributes({name: str(low)}, fifo=False, creating=True) == {name: str(low)}
    assert attrs.validate_attributes({name: str(high)}, fifo=False, creating=False) == {name: str(high)}
    for bad in (str(low - 1), str(high + 1), "abc", "1.5", ""):
        with pytest.raises(AwsError) as info:
            attrs.validate_attributes({name: bad}, fifo=False, creating=True)
        assert info.value.code == "InvalidAttributeValue", bad


@pytest.mark.parametrize(("name", "fifo", "creating"), [
    ("Bogus", False, True),
    ("QueueArn", False, True),
    ("ApproximateNumberOfMessages", False, False),
    ("ContentBasedDeduplication", False, True),
    ("FifoQueue", False, False),
    ("FifoQueue", False, True),
])
def test_invalid_attribute_names(name: str, fifo: bool, creating: bool) -> None:
    with pytest.raises(AwsError) as info:
        attrs.validate_attributes({name: "true"}, fifo=fifo, creating=creating)
    assert info.value.code == "InvalidAttributeName"


def test_policy_attribute_is_validated() -> None:
    good = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]})
    assert attrs.validate_attributes({"Policy": good}, fifo=False, creating=True)["Policy"] == good
    for bad in ("{", json.dumps({"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]})):
        with pytest.raises(AwsError) as info:
            attrs.validate_attributes({"Policy": bad}, fifo=False, creating=True)
        assert info.value.code == "InvalidAttributeValue"


def test_defaults_and_fifo_defaults() -> None:
    standard = attrs.defaults(fifo=False)
    assert standard["VisibilityTimeout"] == "30" and "FifoQueue" not in standard
    fifo = attrs.defaults(fifo=True)
    assert fifo["FifoQueue"] == "true" and fifo["DeduplicationScope"] == "queue"


def test_sse_kinds_exclude_each_other() -> None:
    with pytest.raises(AwsError):
        attrs.validate_attributes({"KmsMasterKeyId": "alias/x", "SqsManagedSseEnabled": "true"}, fifo=False,
                                  creating=True)
    values = attrs.initial_attributes({"KmsMasterKeyId": "alias/x"}, fifo=False)
    assert values["SqsManagedSseEnabled"] == "false"


def test_differing_attribute() -> None:
    existing = attrs.initial_attributes({"VisibilityTimeout": "60"}, fifo=False)
    assert attrs.differing_attribute(existing, {}, fifo=False) is None
    assert attrs.differing_attribute(existing, {"VisibilityTimeout": "60"}, fifo=False) is None
    assert attrs.differing_attribute(existing, {"VisibilityTimeout": "30"}, fifo=False) == "VisibilityTimeout"
    assert attrs.differing_attribute(existing, {"DelaySeconds": "0"}, fifo=False) is None


@pytest.mark.parametrize(("text", "count"), [
    ('{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:d","maxReceiveCount":3}', 3),
    ('{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:d","maxReceiveCount":"1000"}', 1000),
])
def test_redrive_policy(text: str, count: int) -> None:
    policy = parse_redrive_policy(text)
    assert policy.max_receive_count == count
    assert json.loads(policy.to_json())["maxReceiveCount"] == count


@pytest.mark.parametrize("text", [
    "nope", "[]", '{"maxReceiveCount":3}', '{"deadLetterTargetArn":"arn:x"}',
    '{"deadLetterTargetArn":"arn:x","maxReceiveCount":0}', '{"deadLetterTargetArn":"arn:x","maxReceiveCount":1001}',
    '{"deadLetterTargetArn":"arn:x","maxReceiveCount":true}',
    '{"deadLetterTargetArn":"arn:x","maxReceiveCount":1,"x":1}',
])
def test_bad_redrive_policy(text: str) -> None:
    with pytest.raises(AwsError) as info:
        parse_redrive_policy(text)
    assert info.value.code == "InvalidAttributeValue"


def test_redrive_allow_policy() -> None:
    assert parse_redrive_allow_policy('{"redrivePermission":"allowAll"}').allows("arn:a")
    assert not parse_redrive_allow_policy('{"redrivePermission":"denyAll"}').allows("arn:a")
    by_queue = parse_redrive_allow_policy('{"redrivePermission":"byQueue","sourceQueueArns":["arn:a"]}')
    assert by_queue.allows("arn:a") and not by_queue.allows("arn:b")
    for bad in ('{"redrivePermission":"byQueue"}', '{"redrivePermission":"maybe"}',
                '{"redrivePermission":"allowAll","sourceQueueArns":["arn:a"]}',
                json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [f"arn:{i}" for i in range(11)]})):
        with pytest.raises(AwsError):
            parse_redrive_allow_policy(bad)


@pytest.mark.parametrize("body", ["ok", "tab\tnewline\n\r", "\ud7ff", "\ue000", "\U0010ffff", "emoji 😀"])
def test_allowed_body_characters(body: str) -> None:
    assert check_body(body) == body


@pytest.mark.parametrize("body", ["\x00", "bell\x07", "\x1f", "\ufffe", "\uffff"])
def test_refused_body_characters(body: str) -> None:
    with pytest.raises(AwsError) as info:
        check_body(body)
    assert info.value.code == "InvalidMessageContents"


def test_empty_body_is_missing() -> None:
    with pytest.raises(AwsError) as info:
        check_body("")
    assert info.value.code == "MissingParameter"


@pytest.mark.parametrize("name", ["ok", "a.b", "a-b_c", "x" * 256, "attr.1øßä", "名前"])
def test_attribute_names_allowed(name: str) -> None:
    assert name in check_message_attributes({name: {"DataType": "String", "StringValue": "v"}})


@pytest.mark.parametrize("name", ["AWS.x", "amazon.y", ".a", "a.", "a..b", "sp ace", "x" * 257, "",
                                  "Invalid-§-attr", "Invalid-!-attr", "Invalid-?-attr"])
def test_attribute_names_refused(name: str) -> None:
    with pytest.raises(AwsError) as info:
        check_message_attributes({name: {"DataType": "String", "StringValue": "v"}})
    assert info.value.code == "InvalidParameterValue"


@pytest.mark.parametrize(("value", "ok"), [
    ({"DataType": "String.custom", "StringValue": "v"}, True),
    ({"DataType": "Number", "StringValue": "-12.5e3"}, True),
    ({"DataType": "Number.int", "StringValue": "1" * 38}, True),
    ({"DataType": "Number", "StringValue": "1" * 39}, False),
    ({"DataType": "Number", "StringValue": "abc"}, False),
    ({"DataType": "Binary", "BinaryValue": b"\x00"}, True),
    ({"DataType": "Binary", "StringValue": "x"}, False),
    ({"DataType": "String"}, False),
    ({"DataType": "Blob", "StringValue": "x"}, False),
    ({"DataType": "String", "StringValue": "bad\x00"}, False),
])
def test_attribute_values(value: dict[str, object], ok: bool) -> None:
    if ok:
        check_message_attributes({"a": value})
    else:
        with pytest.raises(AwsError):
            check_message_attributes({"a": value})


def test_at_most_ten_attributes() -> None:
    many = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    with pytest.raises(AwsError) as info:
        check_message_attributes(many)
    assert info.value.code == "InvalidParameterValue"


def test_system_attributes() -> None:
    assert check_system_attributes({"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1"}})
    with pytest.raises(AwsError):
        check_system_attributes({"Other": {"DataType": "String", "StringValue": "x"}})
    with pytest.raises(AwsError):
        check_system_attributes({"AWSTraceHeader": {"DataType": "Number", "StringValue": "1"}})


def test_message_size_counts_attributes() -> None:
    assert message_size("abc", {"n": {"DataType": "String", "StringValue": "vv"}}) == 3 + 1 + 6 + 2


def test_fifo_ids() -> None:
    assert check_id("MessageGroupId", "g-1!~") == "g-1!~"
    for bad in ("", "x" * 129, "sp ace", "ü"):
        with pytest.raises(AwsError):
            check_id("MessageGroupId", bad)
    assert content_hash("x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"


def test_data_key_reuse_period_is_shown_only_with_a_kms_key() -> None:
    stored = {"KmsDataKeyReusePeriodSeconds": "300", "SqsManagedSseEnabled": "true"}
    assert attrs.visible_attributes(stored) == {"SqsManagedSseEnabled": "true"}
    kms = {"KmsMasterKeyId": "k", "KmsDataKeyReusePeriodSeconds": "300"}
    assert attrs.visible_attributes(kms) == kms


def test_trace_header_fills_aws_trace_header_unless_given() -> None:
    given = {"AWSTraceHeader": {"DataType": "String", "StringValue": "given"}}
    assert with_trace_header(given, "header") == given
    assert with_trace_header({}, "header") == {"AWSTraceHeader": {"DataType": "String", "StringValue": "header"}}
    assert with_trace_header({}, None) == {}


def test_move_task_pace_spreads_messages_over_the_second() -> None:
    pace = Pace(50, started=100.0)
    assert pace.batch == 5
    assert pace.delay(5, 100.0) == pytest.approx(0.1)  # 5 of 50 a second: the next step at +0.1 s
    assert pace.delay(5, 100.15) == pytest.approx(0.05)  # the schedule holds from the start, no drift
    slow = Pace(1, started=0.0)
    assert slow.batch == 1 and slow.delay(1, 0.0) == pytest.approx(1.0)
    assert Pace(0).delay(10, 0.0) == 0.0


@pytest.mark.parametrize("name", ["DeduplicationScope", "FifoThroughputLimit"])
def test_fifo_only_attribute_on_a_standard_queue_says_so(name: str) -> None:
    with pytest.raises(AwsError) as info:
        attrs.validate_attributes({name: "perQueue"}, fifo=False, creating=True)
    assert (info.value.code, info.value.message) == (
        "InvalidAttributeName", f"You can specify the {name} only when FifoQueue is set to true.")


def test_fifo_queue_type_cannot_change() -> None:
    assert attrs.validate_attributes({"FifoQueue": "true"}, fifo=True, creating=False) == {}
    with pytest.raises(AwsError) as info:
        attrs.validate_attributes({"FifoQueue": "false"}, fifo=True, creating=False)
    assert (info.value.code, info.value.message) == (
        "InvalidAttributeValue", "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not "
        "supported.")
    with pytest.raises(AwsError) as info:
        attrs.validate_attributes({"FifoQueue": "false"}, fifo=False, creating=True)
    assert (info.value.code, info.value.message) == ("InvalidAttributeName", "Unknown Attribute FifoQueue.")


@pytest.mark.parametrize(("value", "message"), [
    ({"DataType": "String", "StringValue": ""},
     "Message (user) attribute 'X' must contain a non-empty value of type 'String'."),
    ({"DataType": "String", "StringValue": "Invalid-\x08,\x0b"},
     "Invalid binary character '#x8' was found in the value of message (user) attribute 'X', the set of allowed "
     "characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"),
])
def test_string_attribute_value_errors(value: dict[str, object], message: str) -> None:
    with pytest.raises(AwsError) as info:
        check_message_attributes({"X": value})
    assert (info.value.code, info.value.message) == ("InvalidParameterValue", message)
