"""Subscriptions: the stored record, endpoints per protocol, and subscription attributes.

Protocols served: ``sqs`` (an SQS queue ARN), ``http`` and ``https`` (a URL). A
subscription of a queue in the subscriber's own account is confirmed at once, as in AWS;
HTTP/S endpoints and other accounts' queues get a ``SubscriptionConfirmation`` first, and
nothing is delivered to them before ``ConfirmSubscription``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from cipherpost.protocol.validation import is_xml_text
from cipherpost.services.sns import delivery_policy
from cipherpost.services.sns.errors import InvalidParameter
from cipherpost.services.sns.filter_policy import FilterPolicy, parse_filter_policy
from cipherpost.store import Row

PROTOCOLS: Final = frozenset({"sqs", "http", "https"})
#: Protocols AWS has that Cipherpost does not deliver to.
UNSUPPORTED: Final = frozenset({"email", "email-json", "sms", "application", "lambda", "firehose"})
SETTABLE: Final = frozenset({"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                             "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"})
PENDING_ARN: Final = "pending confirmation"
#: "ConfirmSubscription": a token is valid for three days.
TOKEN_LIFETIME_MS: Final = 3 * 24 * 3600 * 1000
_QUEUE_ARN: Final = re.compile(r"arn:aws:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(\.fifo)?)")


def queue_arn_account(arn: str) -> str | None:
    """The account of an SQS queue ARN, or None when it is not one."""
    match = _QUEUE_ARN.fullmatch(arn)
    return match.group(2) if match else None


def check_endpoint(protocol: str, endpoint: str | None) -> str:
    """:raises InvalidParameter: unknown protocol or an endpoint that does not fit it."""
    if protocol in UNSUPPORTED:
        raise InvalidParameter(f"Invalid parameter: Protocol Reason: Cipherpost does not deliver to {protocol}")
    if protocol not in PROTOCOLS:
        raise InvalidParameter("Invalid parameter: Amazon SNS does not support this protocol string: "
                               f"{protocol}")
    if not endpoint:
        raise InvalidParameter("Invalid parameter: Endpoint")
    if protocol == "sqs":
        if queue_arn_account(endpoint) is None:
            raise InvalidParameter("Invalid parameter: SQS endpoint ARN")
        return endpoint
    parts = urlsplit(endpoint)
    if parts.scheme != protocol or not parts.hostname:
        raise InvalidParameter(f"Invalid parameter: Endpoint must match the specified protocol ({protocol})")
    return endpoint


def check_redrive_policy(text: str) -> None:
    """``{"deadLetterTargetArn": <SQS queue ARN>}``.

    :raises InvalidParameter: AWS's ``Invalid parameter: RedrivePolicy: ...``.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidParameter("Invalid parameter: RedrivePolicy: failed to parse JSON") from None
    target = document.get("deadLetterTargetArn") if isinstance(document, dict) else None
    if not isinstance(target, str) or queue_arn_account(target) is None:
        raise InvalidParameter("Invalid parameter: RedrivePolicy: deadLetterTargetArn is invalid or missing")


def check_attribute(name: str, value: str, *, protocol: str, current: Mapping[str, str]) -> str:
    """A subscription attribute's value as stored, after AWS's checks.

    :raises InvalidParameter: unknown attribute or invalid value (the filter policy is
        checked with its scope: the given one, else the current one, else MessageAttributes).
    """
    if name not in SETTABLE:
        raise InvalidParameter(f"Invalid parameter: AttributeName Reason: Unknown attribute {name}")
    if not is_xml_text(value):  # GetSubscriptionAttributes answers in XML, which cannot carry it
        raise InvalidParameter(f"Invalid parameter: Attributes Reason: {name}: Invalid value: control characters "
                               "and unpaired surrogates are not allowed")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise InvalidParameter("Invalid parameter: RawMessageDelivery: Invalid value. Must be true or false.")
        return value.lower()
    if name == "FilterPolicy" and value:
        parse_filter_policy(value, scope=current.get("FilterPolicyScope", "MessageAttributes"))
    if name == "FilterPolicyScope":
        parse_filter_policy(current.get("FilterPolicy") or "{}", scope=value)
    if name == "DeliveryPolicy" and value:
        if protocol not in ("http", "https"):
            raise InvalidParameter("Invalid parameter: DeliveryPolicy: only HTTP/S subscriptions take a "
                                   "delivery policy")
        delivery_policy.validate_subscription_policy(value)
    if name == "RedrivePolicy" and value:
        check_redrive_policy(value)
    return value


def merge_attributes(protocol: str, current: Mapping[str, str], given: Mapping[str, str]) -> dict[str, str]:
    """``current`` updated with ``given`` (an empty value removes an attribute), each checked.

    FilterPolicyScope is applied before FilterPolicy so both can be set at once.
    """
    values = dict(current)
    for name in sorted(given, key=lambda n: n != "FilterPolicyScope"):
        value = check_attribute(name, given[name], protocol=protocol, current=values | dict(given))
        if value == "" and name != "FilterPolicy":
            values.pop(name, None)
        else:
            values[name] = value
    if "FilterPolicy" in values and not values["FilterPolicy"]:
        values.pop("FilterPolicy")
    return values


@dataclass(slots=True)
class Subscription:
    """A stored subscription."""

    arn: str
    topic_arn: str
    owner_account: str
    protocol: str
    endpoint: str
    status: str
    token: str | None
    token_expires_at: int | None
    authenticated_unsubscribe: bool
    attributes: dict[str, str]
    principal_arn: str

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery") == "true"

    @property
    def dead_letter_arn(self) -> str | None:
        text = self.attributes.get("RedrivePolicy")
        if not text:
            return None
        target = json.loads(text).get("deadLetterTargetArn")
        return str(target) if target else None

    def filter_policy(self) -> FilterPolicy | None:
        text = self.attributes.get("FilterPolicy")
        if not text:
            return None
        return _filter_cache(text, self.attributes.get("FilterPolicyScope", "MessageAttributes"))

    @classmethod
    def from_row(cls, row: Row) -> Subscription:
        return cls(arn=str(row["subscription_arn"]), topic_arn=str(row["topic_arn"]),
                   owner_account=str(row["owner_account"]), protocol=str(row["protocol"]),
                   endpoint=str(row["endpoint"]), status=str(row["status"]), token=row["token"],
                   token_expires_at=row["token_expires_at"],
                   authenticated_unsubscribe=bool(row["authenticated_unsubscribe"]),
                   attributes=json.loads(row["attributes"]), principal_arn=str(row["principal_arn"]))


_FILTERS: dict[tuple[str, str], FilterPolicy] = {}


def _filter_cache(text: str, scope: str) -> FilterPolicy:
    """Parsed filter policies by (text, scope): publishing parses each policy once."""
    key = (text, scope)
    policy = _FILTERS.get(key)
    if policy is None:
        if len(_FILTERS) > 10_000:
            _FILTERS.clear()
        policy = _FILTERS[key] = parse_filter_policy(text, scope=scope)
    return policy
