"""LookupEvents over the event history: parameters in, one named query and one page out.

Follows the CloudTrail API reference for LookupEvents: at most one lookup attribute (of
eight keys), an optional time range (StartTime after EndTime is an error; the default range
is the retention period up to now), MaxResults 1..50 (default 50), events newest first, and
a NextToken that is only valid for the same parameters. Planning and paging are pure; only
:func:`lookup_events` touches the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cipherpost.services.audit.errors import (
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidTimeRangeException,
)
from cipherpost.services.audit.files import record_json
from cipherpost.services.audit.record import parse_time
from cipherpost.store import Row, Store, storable

#: LookupAttributes AttributeKey -> the named query filtering on it (``store/sql/audit.sql``).
ATTRIBUTE_QUERIES: Final[Mapping[str, str]] = {
    "EventId": "audit_events_page_by_event_id",
    "EventName": "audit_events_page_by_event_name",
    "ReadOnly": "audit_events_page_by_read_only",
    "Username": "audit_events_page_by_username",
    "ResourceType": "audit_events_page_by_resource_type",
    "ResourceName": "audit_events_page_by_resource_name",
    "EventSource": "audit_events_page_by_event_source",
    "AccessKeyId": "audit_events_page_by_access_key_id",
}
UNFILTERED_QUERY: Final = "audit_events_page"
MAX_RESULTS: Final = 50
DEFAULT_RANGE: Final = timedelta(days=90)
_FIRST_ID: Final = "~"  # sorts after every event id (uuid4 text): the first page's cursor
_TOKEN_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class LookupPlan:
    """One page's query: the named query, its parameters, and how many rows to return."""

    query: str
    params: Mapping[str, object]
    limit: int
    fingerprint: str
    """Binds a NextToken to the parameters it was issued for."""


def plan_lookup(account_id: str, params: Mapping[str, Any], *, now: datetime) -> LookupPlan:
    """Validate LookupEvents parameters and choose the query for the requested page.

    :raises InvalidLookupAttributesException: more than one attribute, an unknown key, or
        a ReadOnly value other than ``true``/``false``.
    :raises InvalidTimeRangeException: StartTime is after EndTime.
    :raises InvalidMaxResultsException: MaxResults outside 1..50.
    :raises InvalidNextTokenException: a token that is malformed or was issued for other parameters.
    :raises InvalidEventCategoryException: EventCategory other than ``insight``.
    """
    key, value = _attribute(params.get("LookupAttributes"))
    start, end = _as_time(params.get("StartTime")), _as_time(params.get("EndTime"))
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeException("Start time must be before end time.")
    limit = _max_results(params.get("MaxResults"))
    category = params.get("EventCategory")
    if category is not None and category != "insight":
        raise InvalidEventCategoryException(f"Event category {category!r} is not valid.")
    fingerprint = _fingerprint(key, value, start, end, category)
    lower = int((start or now - DEFAULT_RANGE).timestamp())
    before_time, before_id = int((end or now).timestamp()), _FIRST_ID
    token = params.get("NextToken")
    if token is not None:
        before_time, before_id = decode_token(str(token), fingerprint)
    query_params: dict[str, object] = {
        "account_id": account_id, "start_time": lower, "before_time": before_time, "before_id": before_id,
        # Insights events are never recorded, so asking for them finds nothing.
        "limit": 0 if category == "insight" else limit + 1,
    }
    if key is not None:
        query_params["value"] = value
    return LookupPlan(ATTRIBUTE_QUERIES[key] if key else UNFILTERED_QUERY, query_params, limit, fingerprint)


def _attribute(attributes: Any) -> tuple[str | None, str | None]:
    """The one lookup attribute, or (None, None) when none is given."""
    if not attributes:
        return None, None
    if not isinstance(attributes, list | tuple) or len(attributes) != 1:
        raise InvalidLookupAttributesException("You can specify only one lookup attribute.")
    (item,) = attributes
    key = item.get("AttributeKey") if isinstance(item, Mapping) else None
    value = item.get("AttributeValue") if isinstance(item, Mapping) else None
    if key not in ATTRIBUTE_QUERIES:
        raise InvalidLookupAttributesException(f"Lookup attribute key {key!r} is not valid.")
    if not isinstance(value, str) or not value:
        raise InvalidLookupAttributesException(f"Lookup attribute {key} needs a value.")
    if key == "ReadOnly" and value not in ("true", "false"):
        raise InvalidLookupAttributesException("The ReadOnly lookup attribute must be true or false.")
    return str(key), value


def _as_time(value: Any) -> datetime | None:
    """A request timestamp (datetime, naive meaning UTC; or epoch seconds) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    raise InvalidTimeRangeException(f"Timestamp {value!r} is not valid.")


def _max_results(value: Any) -> int:
    if value is None:
        return MAX_RESULTS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RESULTS:
        raise InvalidMaxResultsException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
    return value


def _fingerprint(key: str | None, value: str | None, start: datetime | None, end: datetime | None,
                 category: Any) -> str:
    """A short hash of the parameters a token must be reused with (not MaxResults, as in AWS)."""
    stamp = [None if t is None else int(t.timestamp()) for t in (start, end)]
    text = json.dumps([key, value, *stamp, category], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_token(event_time: int, event_id: str, fingerprint: str) -> str:
    """The opaque NextToken resuming after the event (``event_time``, ``event_id``)."""
    body = json.dumps({"v": _TOKEN_VERSION, "t": event_time, "i": event_id, "f": fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> tuple[int, str]:
    """The cursor in a NextToken issued for the same parameters.

    :raises InvalidNextTokenException: anything else.
    """
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidNextTokenException("The NextToken is not valid.") from None
    if not isinstance(body, dict) or body.get("v") != _TOKEN_VERSION:
        raise InvalidNextTokenException("The NextToken is not valid.")
    cursor_time, cursor_id = body.get("t"), body.get("i")
    if not isinstance(cursor_time, int) or isinstance(cursor_time, bool) or not isinstance(cursor_id, str):
        raise InvalidNextTokenException("The NextToken is not valid.")
    if body.get("f") != fingerprint:
        raise InvalidNextTokenException("The NextToken was issued for a request with different parameters.")
    return cursor_time, cursor_id


def lookup_page(plan: LookupPlan, rows: list[Row]) -> dict[str, Any]:
    """The LookupEvents response for the rows the plan's query returned (``limit + 1`` at most)."""
    page = rows[: plan.limit]
    response: dict[str, Any] = {"Events": [event_output(str(row["record"])) for row in page]}
    if len(rows) > plan.limit and page:
        last = page[-1]
        response["NextToken"] = encode_token(int(last["event_time"]), str(last["event_id"]), plan.fingerprint)
    return response


def event_output(record_json: str) -> dict[str, Any]:
    """One ``Event`` of the LookupEvents output (botocore's cloudtrail ``Event`` shape)."""
    record = json.loads(record_json)
    output: dict[str, Any] = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") else "false",
        "EventTime": parse_time(record["eventTime"]),
        "EventSource": record["eventSource"],
        "Resources": [
            {"ResourceType": item.get("type"), "ResourceName": item.get("ARN")} for item in record.get("resources", ())
        ],
        "CloudTrailEvent": record_json,
    }
    access_key = record.get("userIdentity", {}).get("accessKeyId")
    if access_key:
        output["AccessKeyId"] = access_key
    username = username_of(record)
    if username:
        output["Username"] = username
    return output


def username_of(record: Mapping[str, Any]) -> str | None:
    """The event history's Username: the IAM user name, the role session name, ``root``, or the service."""
    identity = record.get("userIdentity") or {}
    kind = identity.get("type")
    if kind == "IAMUser":
        return identity.get("userName")
    if kind == "AssumedRole":
        return str(identity.get("arn", "")).rsplit("/", 1)[-1] or None
    if kind == "Root":
        return "root"
    if kind == "AWSService":
        return identity.get("invokedBy")
    return None


def event_row(record: Mapping[str, Any]) -> dict[str, object]:
    """The ``audit_events`` row of a record (the columns LookupEvents filters on, and the JSON)."""
    resources = record.get("resources") or [{}]
    row: dict[str, object] = {
        "event_id": record["eventID"],
        "account_id": record.get("recipientAccountId", ""),
        "event_time": int(parse_time(record["eventTime"]).timestamp()),
        "event_name": record["eventName"],
        "event_source": record["eventSource"],
        "username": username_of(record),
        "access_key_id": (record.get("userIdentity") or {}).get("accessKeyId"),
        "resource_type": resources[0].get("type"),
        "resource_name": resources[0].get("ARN"),
        "read_only": "true" if record.get("readOnly") else "false",
        "record": record_json(record),
    }
    # A column quoting the request (an ARN a caller sent) may hold what the store refuses
    # (U+0000): the row is kept with U+FFFD there, as one refused row would block the
    # history's batched inserts; the record itself keeps the exact text, escaped.
    return {name: storable(value) if isinstance(value, str) else value for name, value in row.items()}


async def lookup_events(store: Store, account_id: str, params: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """LookupEvents for ``account_id``: the handler body (authorization is the caller's job)."""
    plan = plan_lookup(account_id, params, now=now)
    rows = await store.fetch_all(plan.query, **plan.params) if plan.params["limit"] else []
    return lookup_page(plan, rows)
