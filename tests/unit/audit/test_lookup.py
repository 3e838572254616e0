"""LookupEvents: filters, pagination, errors (services/audit/lookup.py + store/sql/audit.sql)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cipherpost.services.audit.errors import (
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidTimeRangeException,
)
from cipherpost.services.audit.lookup import encode_token, event_row, lookup_events, plan_lookup
from cipherpost.services.audit.record import build_event
from cipherpost.store import SqliteStore, Step

from .conftest import ACCOUNT, OTHER, REGION, ROLE, ROOT, SERVICE, USER, WHEN, kms_event, make_ctx

NOW = WHEN + timedelta(hours=1)
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _events() -> list[dict[str, Any]]:
    """A small history: 10 Decrypts by EMRUser (one a minute), and one of each other kind."""
    events = [kms_event(received_at=WHEN + timedelta(minutes=i)) for i in range(10)]
    events.append(kms_event(ROLE, "Encrypt", received_at=WHEN + timedelta(minutes=20)))
    events.append(kms_event(SERVICE, "GenerateDataKey", received_at=WHEN + timedelta(minutes=21)))
    events.append(kms_event(ROOT, "CreateKey", received_at=WHEN + timedelta(minutes=22)))
    queue_ctx = make_ctx("sqs", "CreateQueue", USER)
    events.append(build_event(queue_ctx, params={"QueueName": "q"}, result={"QueueUrl": f"http://h/{ACCOUNT}/q"},
                              error=None, event_time=WHEN + timedelta(minutes=23)))
    other = USER.__class__(OTHER, f"arn:aws:iam::{OTHER}:root", OTHER, "Root", access_key_id="AKIAOTHER")
    events.append(kms_event(other, received_at=WHEN))
    return events


def lookup(tmp_path: Path, *requests: dict[str, Any]) -> list[dict[str, Any]]:
    """Run LookupEvents requests on one fresh history.

    A request may ask for the previous page's token (``"NextToken": "<from previous>"``) or
    for the previous page's first event by id (``"LookupAttributes": "<first event id>"``).
    """

    async def main() -> list[dict[str, Any]]:
        store = await SqliteStore.open(tmp_path / "x.sqlite3")
        try:
            await store.write([Step("audit_event_insert", event_row(e)) for e in _events()])
            out: list[dict[str, Any]] = []
            for asked in requests:
                request = dict(asked)
                if request.get("NextToken") == "<from previous>":
                    request["NextToken"] = out[-1]["NextToken"]
                if request.get("LookupAttributes") == "<first event id>":
                    first_id = out[-1]["Events"][0]["EventId"]
                    request = {"LookupAttributes": [{"AttributeKey": "EventId", "AttributeValue": first_id}]}
                out.append(await lookup_events(store, ACCOUNT, request, now=NOW))
            return out
        finally:
            await store.close()

    return asyncio.run(main())


def _names(page: dict[str, Any]) -> list[str]:
    return [event["EventName"] for event in page["Events"]]


def test_newest_first_all_attributes_of_an_event(tmp_path: Path) -> None:
    (page,) = lookup(tmp_path, {})
    assert _names(page) == ["CreateQueue", "CreateKey", "GenerateDataKey", "Encrypt"] + ["Decrypt"] * 10
    decrypt = page["Events"][-1]
    assert decrypt["Username"] == "EMRUser" and decrypt["AccessKeyId"] == "AKIAEMRUSER000000001"
    assert decrypt["ReadOnly"] == "true" and decrypt["EventSource"] == "kms.amazonaws.com"
    assert decrypt["EventTime"] == WHEN
    assert decrypt["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": KEY_ARN}]
    assert json.loads(decrypt["CloudTrailEvent"])["eventID"] == decrypt["EventId"]
    assert "NextToken" not in page


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        pytest.param("EventName", "Encrypt", ["Encrypt"], id="event-name"),
        pytest.param("ReadOnly", "false", ["CreateQueue", "CreateKey"], id="read-only"),
        pytest.param("Username", "session-1", ["Encrypt"], id="username-role-session"),
        pytest.param("Username", "root", ["CreateKey"], id="username-root"),
        pytest.param("Username", "sns.amazonaws.com", ["GenerateDataKey"], id="username-service"),
        pytest.param("ResourceType", "AWS::SQS::Queue", ["CreateQueue"], id="resource-type"),
        pytest.param("ResourceName", f"arn:aws:sqs:{REGION}:{ACCOUNT}:q", ["CreateQueue"], id="resource-name"),
        pytest.param("EventSource", "sqs.amazonaws.com", ["CreateQueue"], id="event-source"),
        pytest.param("AccessKeyId", "ASIAPUBLISHER0000001", ["Encrypt"], id="access-key-id"),
    ],
)
def test_each_lookup_attribute(tmp_path: Path, key: str, value: str, expected: list[str]) -> None:
    (page,) = lookup(tmp_path, {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}]})
    assert _names(page) == expected


def test_event_id_attribute(tmp_path: Path) -> None:
    first, by_id = lookup(tmp_path, {"MaxResults": 3}, {"LookupAttributes": "<first event id>"})
    assert [e["EventId"] for e in by_id["Events"]] == [first["Events"][0]["EventId"]]


def test_other_accounts_events_are_invisible(tmp_path: Path) -> None:
    (page,) = lookup(tmp_path, {"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "root"}]})
    assert all(json.loads(e["CloudTrailEvent"])["recipientAccountId"] == ACCOUNT for e in page["Events"])


def test_time_range(tmp_path: Path) -> None:
    (page,) = lookup(tmp_path, {"StartTime": WHEN + timedelta(minutes=2), "EndTime": WHEN + timedelta(minutes=4)})
    assert _names(page) == ["Decrypt"] * 3


def test_pagination_visits_every_event_once(tmp_path: Path) -> None:
    pages = lookup(tmp_path, {"MaxResults": 5}, {"MaxResults": 5, "NextToken": "<from previous>"},
                   {"MaxResults": 5, "NextToken": "<from previous>"})
    ids = [e["EventId"] for page in pages for e in page["Events"]]
    assert [len(page["Events"]) for page in pages] == [5, 5, 4]
    assert len(set(ids)) == 14
    assert "NextToken" not in pages[-1]


@pytest.mark.parametrize(
    ("params", "error"),
    [
        pytest.param({"StartTime": NOW, "EndTime": WHEN}, InvalidTimeRangeException, id="start-after-end"),
        pytest.param({"MaxResults": 0}, InvalidMaxResultsException, id="max-results-zero"),
        pytest.param({"MaxResults": 51}, InvalidMaxResultsException, id="max-results-51"),
        pytest.param({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "a"},
                                           {"AttributeKey": "Username", "AttributeValue": "b"}]},
                     InvalidLookupAttributesException, id="two-attributes"),
        pytest.param({"LookupAttributes": [{"AttributeKey": "Region", "AttributeValue": "a"}]},
                     InvalidLookupAttributesException, id="unknown-key"),
        pytest.param({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "yes"}]},
                     InvalidLookupAttributesException, id="read-only-not-boolean"),
        pytest.param({"NextToken": "not-a-token!"}, InvalidNextTokenException, id="garbage-token"),
        pytest.param({"NextToken": encode_token(1, "x", "0" * 16)}, InvalidNextTokenException,
                     id="token-for-other-parameters"),
        pytest.param({"EventCategory": "management"}, InvalidEventCategoryException, id="event-category"),
    ],
)
def test_errors(params: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        plan_lookup(ACCOUNT, params, now=NOW)


def test_token_is_bound_to_its_parameters(tmp_path: Path) -> None:
    plan = plan_lookup(ACCOUNT, {"MaxResults": 1}, now=NOW)
    token = encode_token(100, "abc", plan.fingerprint)
    assert plan_lookup(ACCOUNT, {"MaxResults": 7, "NextToken": token}, now=NOW).params["before_time"] == 100
    with pytest.raises(InvalidNextTokenException):
        plan_lookup(ACCOUNT, {"NextToken": token, "LookupAttributes": [
            {"AttributeKey": "EventName", "AttributeValue": "Decrypt"}]}, now=NOW)


def test_insight_category_finds_nothing(tmp_path: Path) -> None:
    (page,) = lookup(tmp_path, {"EventCategory": "insight"})
    assert page == {"Events": []}


def test_a_call_quoting_unstorable_text_still_gets_its_row(tmp_path: Path) -> None:
    """A failed call that sent U+0000 or a lone surrogate (JSON ``\\ud800``) is recorded:
    the record keeps the exact text (escaped JSON), the filter columns get U+FFFD."""
    ctx = make_ctx("sns", "GetTopicAttributes", USER)
    arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:t\x00\ud800"
    event = build_event(ctx, params={"TopicArn": arn}, result=None, error=None, event_time=WHEN)

    row = event_row(event)

    assert row["resource_name"] == f"arn:aws:sns:{REGION}:{ACCOUNT}:t\ufffd\ufffd"
    record = str(row["record"])
    assert record.isascii() and json.loads(record)["requestParameters"] == {"topicArn": arn}

    async def main() -> list[str]:
        store = await SqliteStore.open(tmp_path / "x.sqlite3")
        try:
            await store.write([Step("audit_event_insert", row)])
            page = await lookup_events(store, ACCOUNT, {}, now=NOW)
            return [item["EventName"] for item in page["Events"]]
        finally:
            await store.close()

    assert asyncio.run(main()) == ["GetTopicAttributes"]
