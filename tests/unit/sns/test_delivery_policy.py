"""Delivery policies: phases, backoff curves, AWS's limits, topic/subscription precedence."""

from __future__ import annotations

import json

import pytest

from cipherpost.services.sns import delivery_policy as dp
from cipherpost.services.sns.errors import InvalidParameter


def test_default_policy_retries_three_times_twenty_seconds_apart() -> None:
    policy = dp.RetryPolicy()
    assert [policy.delay(i) for i in range(1, 5)] == [20.0, 20.0, 20.0, None]


def test_phases_in_order() -> None:
    policy = dp.parse_retry_policy({"numRetries": 10, "numNoDelayRetries": 2, "numMinDelayRetries": 2,
                                    "numMaxDelayRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 9,
                                    "backoffFunction": "linear"})
    delays = [policy.delay(i) for i in range(1, 12)]
    assert delays[:4] == [0.0, 0.0, 1.0, 1.0]
    assert delays[4:8] == [3.0, 5.0, 7.0, 9.0]  # backoff: 4 retries from 1 to 9
    assert delays[8:] == [9.0, 9.0, None]


@pytest.mark.parametrize("function", dp.BACKOFF_FUNCTIONS)
def test_backoff_curves_rise_from_min_to_max(function: str) -> None:
    policy = dp.parse_retry_policy({"numRetries": 6, "minDelayTarget": 2, "maxDelayTarget": 60,
                                    "backoffFunction": function})
    delays = [policy.delay(i) or 0.0 for i in range(1, 7)]
    assert delays == sorted(delays) and delays[-1] == pytest.approx(60)
    assert all(2 <= d <= 60 for d in delays)


def test_curves_differ_in_shape() -> None:
    middle = {f: dp.parse_retry_policy({"numRetries": 8, "minDelayTarget": 1, "maxDelayTarget": 100,
                                        "backoffFunction": f}).delay(4) for f in dp.BACKOFF_FUNCTIONS}
    assert middle["linear"] > middle["arithmetic"] > middle["geometric"] > middle["exponential"]


@pytest.mark.parametrize("policy", [
    {"numRetries": 101}, {"numRetries": -1}, {"minDelayTarget": 0}, {"maxDelayTarget": 3601},
    {"minDelayTarget": 10, "maxDelayTarget": 5}, {"backoffFunction": "cubic"}, {"numRetries": "3"},
    {"numRetries": 2, "numNoDelayRetries": 3}, {"numRetries": 100, "minDelayTarget": 60, "maxDelayTarget": 60},
], ids=str)
def test_limits(policy: dict[str, object]) -> None:
    with pytest.raises(InvalidParameter):
        dp.parse_retry_policy(policy)


def test_subscription_overrides_topic_unless_disabled() -> None:
    topic = json.dumps({"http": {"defaultHealthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1,
                                                               "maxDelayTarget": 1},
                                 "defaultThrottlePolicy": {"maxReceivesPerSecond": 3}}})
    own = json.dumps({"healthyRetryPolicy": {"numRetries": 1}, "requestPolicy": {"headerContentType": "text/xml"}})
    merged = dp.http_policy(topic, own)
    assert merged.retry.num_retries == 1 and merged.max_receives_per_second == 3 and merged.content_type == "text/xml"
    locked = json.loads(topic)
    locked["http"]["disableSubscriptionOverrides"] = True
    assert dp.http_policy(json.dumps(locked), own).retry.num_retries == 5
    assert dp.http_policy(None, None).content_type == dp.DEFAULT_CONTENT_TYPE


def test_managed_endpoint_policy() -> None:
    managed = dp.MANAGED_RETRY
    assert [managed.delay(i) for i in (1, 2, 3, 4, 5)] == [0.0, 0.0, 0.0, 1.0, 1.0]
    assert managed.delay(15) == pytest.approx(20)
    assert managed.delay(100_015) == 20.0 and managed.delay(100_016) is None
