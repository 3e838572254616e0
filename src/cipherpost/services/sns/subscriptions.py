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
from cipherpost.services.sns.errors import InvalidAttribute, InvalidParameter
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
    """The endpoint of a protocol AWS knows (one of :data:`UNSUPPORTED` unchecked beyond
    presence: :func:`check_deliverable` refuses it once the request is otherwise valid).

    :raises InvalidParameter: unknown protocol or an endpoint that does not fit it.
    """
    if protocol not in PROTOCOLS and protocol not in UNSUPPORTED:
        raise InvalidParameter("Invalid parameter: Amazon SNS does not support this protocol string: "
                               f"{protocol}")
    if not endpoint:
        raise InvalidParameter("Invalid parameter: Endpoint")
    if protocol in UNSUPPORTED:
        return endpoint
    if protocol == "sqs":
        if queue_arn_account(endpoint) is None:
            raise InvalidParameter("Invalid parameter: SQS endpoint ARN")
        return endpoint
    parts = urlsplit(endpoint)
    if parts.scheme != protocol or not parts.hostname:
        raise InvalidParameter(f"Invalid parameter: Endpoint must match the specified protocol ({protocol})")
    return endpoint


def check_deliverable(protocol: str) -> None:
    """Refuse a protocol AWS has and Cipherpost does not deliver to. Subscribe asks last, so
    that a request AWS would refuse (a bad filter policy, say) gets AWS's answer first.

    :raises InvalidParameter: ``Invalid parameter: Protocol Reason: ...``.
    """
    if protocol in UNSUPPORTED:
        raise InvalidParameter(f"Invalid parameter: Protocol Reason: Cipherpost does not deliver to {protocol}")


#: The values of attributes a subscription has when they are not set (Subscribe compares
#: effective values: giving a default explicitly is no difference).
DEFAULTS: Final = {"RawMessageDelivery": "false", "FilterPolicyScope": "MessageAttributes"}


def check_redrive_policy(text: str, *, fifo_subscription: bool = False) -> None:
    """``{"deadLetterTargetArn": <SQS queue ARN>}``; a FIFO queue's subscription to a FIFO
    topic needs a FIFO dead-letter queue (a standard queue's subscription may use either).

    :raises InvalidAttribute: AWS's ``RedrivePolicy: ...``.
    """
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidAttribute("RedrivePolicy: failed to parse JSON.") from None
    target = document.get("deadLetterTargetArn") if isinstance(document, dict) else None
    if not isinstance(target, str):
        raise InvalidAttribute("RedrivePolicy: deadLetterTargetArn is invalid or missing")
    if queue_arn_account(target) is None:
        raise InvalidAttribute("RedrivePolicy: deadLetterTargetArn is an invalid arn")
    if fifo_subscription and not target.endswith(".fifo"):
        raise InvalidAttribute("RedrivePolicy: must use a FIFO queue as DLQ for a FIFO Subscription to a FIFO "
                               "Topic.")


def check_attribute(name: str, value: str, *, protocol: str, current: Mapping[str, str],
                    endpoint: str = "") -> str:
    """A subscription attribute's value as stored, after AWS's checks.

    :param endpoint: the subscription's (a FIFO queue's needs a FIFO dead-letter queue).
    :raises InvalidParameter: unknown attribute (AWS: ``Invalid parameter: AttributeName``).
    :raises InvalidAttribute: invalid value (the filter policy is checked with its scope:
        the given one, else the current one, else MessageAttributes).
    """
    if name not in SETTABLE:
        raise InvalidParameter("Invalid parameter: AttributeName")
    if not is_xml_text(value):  # GetSubscriptionAttributes answers in XML, which cannot carry it
        raise InvalidAttribute(f"{name}: Invalid value: control characters and unpaired surrogates are not allowed")
    if name == "RawMessageDelivery":
        if value.lower() not in ("true", "false"):
            raise InvalidAttribute(f"RawMessageDelivery: Invalid value [{value}]. Must be true or false.")
        return value.lower()
    if name == "FilterPolicy" and value:
        parse_filter_policy(value, scope=current.get("FilterPolicyScope", "MessageAttributes"))
    if name == "FilterPolicyScope":
        parse_filter_policy(current.get("FilterPolicy") or "{}", scope=value)
    if name == "DeliveryPolicy" and value:
        if protocol not in ("http", "https"):
            raise InvalidAttribute("DeliveryPolicy: only HTTP/S subscriptions take a delivery policy")
        delivery_policy.validate_subscription_policy(value)
    if name == "RedrivePolicy" and value:
        check_redrive_policy(value, fifo_subscription=protocol == "sqs" and endpoint.endswith(".fifo"))
    return value


def merge_attributes(protocol: str, current: Mapping[str, str], given: Mapping[str, str], *,
                     endpoint: str = "") -> dict[str, str]:
    """``current`` updated with ``given`` (an empty value removes an attribute), each checked.

    FilterPolicyScope is applied before FilterPolicy so both can be set at once.
    """
    values = dict(current)
    for name in sorted(given, key=lambda n: n != "FilterPolicyScope"):
        value = check_attribute(name, given[name], protocol=protocol, current=values | dict(given),
                                endpoint=endpoint)
        if value == "" and name != "FilterPolicy":
            values.pop(name, None)
        else:
            values[name] = value
    if "FilterPolicy" in values and not values["FilterPolicy"]:
        values.pop("FilterPolicy")
    return values


def same_attributes(existing: Mapping[str, str], given: Mapping[str, str]) -> bool:
    """Whether a repeated Subscribe's ``given`` attributes (checked, as merged on nothing)
    equal the existing subscription's effective values (defaults filled in; filter policies
    compared as JSON). Attributes not given are not compared, as in AWS."""
    for name, value in given.items():
        old, new = existing.get(name, DEFAULTS.get(name, "")), value or DEFAULTS.get(name, "")
        if name == "FilterPolicy" and old and new:
            if json.loads(old) != json.loads(new):
                return False
        elif old != new:
            return False
    return True


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
