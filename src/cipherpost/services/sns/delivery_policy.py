"""Delivery policies: how often and how fast SNS retries a failed delivery (pure logic).

From AWS's "Amazon SNS message delivery retries":

- Only HTTP/S deliveries follow a configurable policy. A topic's ``DeliveryPolicy`` holds
  ``{"http": {"defaultHealthyRetryPolicy": ..., "defaultThrottlePolicy": ...,
  "defaultRequestPolicy": ..., "disableSubscriptionOverrides": bool}}``; a subscription's
  holds ``{"healthyRetryPolicy": ..., "throttlePolicy": ..., "requestPolicy": ...}`` and
  overrides the topic's unless the topic disables overrides.
- A retry policy has four phases, in order: ``numNoDelayRetries`` at once,
  ``numMinDelayRetries`` ``minDelayTarget`` apart, the backoff phase (the retries left of
  ``numRetries``) going from ``minDelayTarget`` to ``maxDelayTarget`` along
  ``backoffFunction``, then ``numMaxDelayRetries`` ``maxDelayTarget`` apart. Limits:
  ``numRetries`` 0..100, ``minDelayTarget`` >= 1, ``maxDelayTarget`` <= 3600 and not below
  the minimum, and the whole policy at most 3600 seconds.
- AWS-managed endpoints (SQS): 3 immediate retries, 2 one second apart, 10 backing off
  exponentially from 1 to 20 seconds, then 100,000 twenty seconds apart.

AWS does not publish its backoff curves; ours, for retry ``i`` of ``n`` in the backoff
phase, move the fraction ``f`` of the way from the minimum to the maximum delay:
linear ``i/n``; arithmetic ``i(i+1)/(n(n+1))`` (growing steps); geometric
``(2^i-1)/(2^n-1)``; exponential ``(e^i-1)/(e^n-1)`` (steepest at the end).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cipherpost.services.sns.errors import InvalidAttribute

BACKOFF_FUNCTIONS: Final = ("linear", "arithmetic", "geometric", "exponential")
#: "requestPolicy.headerContentType": the content types AWS accepts.
CONTENT_TYPES: Final = frozenset({
    "application/json", "application/xml", "text/plain", "text/html", "text/xml", "text/css", "text/csv",
    "application/x-www-form-urlencoded", "application/javascript", "application/octet-stream",
    "text/plain; charset=UTF-8", "application/json; charset=UTF-8", "text/javascript", "multipart/form-data",
    "multipart/mixed", "application/x-amz-json-1.0", "application/x-amz-json-1.1",
})
DEFAULT_CONTENT_TYPE: Final = "text/plain; charset=UTF-8"
MAX_POLICY_SECONDS: Final = 3600


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """A ``healthyRetryPolicy``."""

    min_delay: int = 20
    max_delay: int = 20
    num_retries: int = 3
    num_no_delay: int = 0
    num_min_delay: int = 0
    num_max_delay: int = 0
    backoff: str = "linear"

    def delay(self, retry: int) -> float | None:
        """Seconds to wait before retry number ``retry`` (1-based); None once exhausted."""
        if retry < 1 or retry > self.num_retries:
            return None
        if retry <= self.num_no_delay:
            return 0.0
        retry -= self.num_no_delay
        if retry <= self.num_min_delay:
            return float(self.min_delay)
        retry -= self.num_min_delay
        backoff_count = self.num_retries - self.num_no_delay - self.num_min_delay - self.num_max_delay
        if retry <= backoff_count:
            return self.min_delay + (self.max_delay - self.min_delay) * _fraction(self.backoff, retry, backoff_count)
        return float(self.max_delay)

    def total_seconds(self) -> float:
        return sum(self.delay(i) or 0.0 for i in range(1, self.num_retries + 1))

    def as_json(self) -> dict[str, Any]:
        return {"minDelayTarget": self.min_delay, "maxDelayTarget": self.max_delay, "numRetries": self.num_retries,
                "numMaxDelayRetries": self.num_max_delay, "numNoDelayRetries": self.num_no_delay,
                "numMinDelayRetries": self.num_min_delay, "backoffFunction": self.backoff}


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """What one HTTP/S subscription's deliveries follow."""

    retry: RetryPolicy = RetryPolicy()
    max_receives_per_second: int | None = None
    content_type: str = DEFAULT_CONTENT_TYPE


#: AWS-managed endpoints (SQS): 3 + 2 + 10 + 100,000 retries.
MANAGED_RETRY: Final = RetryPolicy(min_delay=1, max_delay=20, num_retries=100_015, num_no_delay=3,
                                   num_min_delay=2, num_max_delay=100_000, backoff="exponential")


def _fraction(function: str, i: int, n: int) -> float:
    if n <= 0:
        return 1.0
    if function == "arithmetic":
        return i * (i + 1) / (n * (n + 1))
    if function == "geometric":
        return (2.0**i - 1) / (2.0**n - 1) if n < 1000 else float(i >= n)
    if function == "exponential":
        return math.expm1(i) / math.expm1(n) if n < 700 else float(i >= n)
    return i / n


def _invalid(detail: str) -> InvalidAttribute:
    return InvalidAttribute(f"DeliveryPolicy: {detail}")


def _int(obj: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = obj.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(f"{name} must be an integer between {low} and {high}")
    return value


def parse_retry_policy(obj: object) -> RetryPolicy:
    """A ``healthyRetryPolicy`` / ``defaultHealthyRetryPolicy`` object, checked against AWS's limits."""
    if not isinstance(obj, dict):
        raise _invalid("healthyRetryPolicy must be an object")
    backoff = obj.get("backoffFunction", "linear")
    if backoff not in BACKOFF_FUNCTIONS:
        raise _invalid(f"backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}")
    policy = RetryPolicy(
        min_delay=_int(obj, "minDelayTarget", 20, 1, MAX_POLICY_SECONDS),
        max_delay=_int(obj, "maxDelayTarget", 20, 1, MAX_POLICY_SECONDS),
        num_retries=_int(obj, "numRetries", 3, 0, 100),
        num_no_delay=_int(obj, "numNoDelayRetries", 0, 0, 100),
        num_min_delay=_int(obj, "numMinDelayRetries", 0, 0, 100),
        num_max_delay=_int(obj, "numMaxDelayRetries", 0, 0, 100),
        backoff=str(backoff),
    )
    if policy.min_delay > policy.max_delay:
        raise _invalid("minDelayTarget must be less than or equal to maxDelayTarget")
    if policy.num_no_delay + policy.num_min_delay + policy.num_max_delay > policy.num_retries:
        raise _invalid("numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries must not exceed numRetries")
    if policy.total_seconds() > MAX_POLICY_SECONDS:
        raise _invalid(f"the total retry time must not exceed {MAX_POLICY_SECONDS} seconds")
    return policy


def _throttle(obj: object) -> int | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise _invalid("throttlePolicy must be an object")
    value = obj.get("maxReceivesPerSecond")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid("maxReceivesPerSecond must be a positive integer")
    return value


def _content_type(obj: object) -> str | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise _invalid("requestPolicy must be an object")
    value = obj.get("headerContentType")
    if value is None:
        return None
    if value not in CONTENT_TYPES:
        raise _invalid(f"headerContentType {value!r} is not supported")
    return str(value)


def _load(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise _invalid("failed to parse JSON") from None
    if not isinstance(document, dict):
        raise _invalid("must be a JSON object")
    return document


def validate_topic_policy(text: str) -> None:
    """Check a topic's ``DeliveryPolicy`` attribute.

    :raises InvalidParameter: AWS's ``Invalid parameter: DeliveryPolicy: ...``.
    """
    document = _load(text)
    http = document.get("http", {})
    if not isinstance(http, dict):
        raise _invalid("http must be an object")
    if "defaultHealthyRetryPolicy" in http:
        parse_retry_policy(http["defaultHealthyRetryPolicy"])
    _throttle(http.get("defaultThrottlePolicy"))
    _content_type(http.get("defaultRequestPolicy"))


def validate_subscription_policy(text: str) -> None:
    """Check a subscription's ``DeliveryPolicy`` attribute.

    :raises InvalidParameter: AWS's ``Invalid parameter: DeliveryPolicy: ...``.
    """
    document = _load(text)
    if "healthyRetryPolicy" in document:
        parse_retry_policy(document["healthyRetryPolicy"])
    _throttle(document.get("throttlePolicy"))
    _content_type(document.get("requestPolicy"))


def default_topic_policy() -> dict[str, Any]:
    """The ``EffectiveDeliveryPolicy`` of a topic that sets none."""
    return {"http": {"defaultHealthyRetryPolicy": RetryPolicy().as_json(), "disableSubscriptionOverrides": False,
                     "defaultRequestPolicy": {"headerContentType": DEFAULT_CONTENT_TYPE}}}


def effective_topic_policy(topic_text: str | None) -> dict[str, Any]:
    """A topic's ``EffectiveDeliveryPolicy``: its own settings over the defaults."""
    effective = default_topic_policy()
    if topic_text:
        http = _load(topic_text).get("http", {})
        effective["http"].update(http)
        if "defaultHealthyRetryPolicy" in http:
            effective["http"]["defaultHealthyRetryPolicy"] = parse_retry_policy(
                http["defaultHealthyRetryPolicy"]).as_json()
    return effective


def http_policy(topic_text: str | None, subscription_text: str | None) -> HttpPolicy:
    """What an HTTP/S subscription's deliveries follow: its policy over its topic's."""
    http = effective_topic_policy(topic_text)["http"]
    retry = parse_retry_policy(http["defaultHealthyRetryPolicy"])
    throttle = _throttle(http.get("defaultThrottlePolicy"))
    content_type = _content_type(http.get("defaultRequestPolicy")) or DEFAULT_CONTENT_TYPE
    if subscription_text and not http.get("disableSubscriptionOverrides"):
        own = _load(subscription_text)
        if "healthyRetryPolicy" in own:
            retry = parse_retry_policy(own["healthyRetryPolicy"])
        throttle = _throttle(own.get("throttlePolicy")) or throttle
        content_type = _content_type(own.get("requestPolicy")) or content_type
    return HttpPolicy(retry, throttle, content_type)


def effective_subscription_policy(topic_text: str | None, subscription_text: str | None) -> dict[str, Any]:
    """A subscription's ``EffectiveDeliveryPolicy``."""
    policy = http_policy(topic_text, subscription_text)
    effective: dict[str, Any] = {"healthyRetryPolicy": policy.retry.as_json(),
                                 "requestPolicy": {"headerContentType": policy.content_type}}
    if policy.max_receives_per_second is not None:
        effective["throttlePolicy"] = {"maxReceivesPerSecond": policy.max_receives_per_second}
    return effective
