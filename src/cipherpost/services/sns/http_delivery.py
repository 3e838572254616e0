"""HTTP/S delivery: one POST per message, with AWS's headers, throttled per subscription.

AWS ("HTTP/S headers", "Step 1: Make sure your endpoint is ready to process Amazon SNS
messages"): the request carries ``x-amz-sns-message-type``, ``x-amz-sns-message-id``,
``x-amz-sns-topic-arn`` and, for notifications and unsubscribe confirmations,
``x-amz-sns-subscription-arn``; raw deliveries add ``x-amz-sns-rawdelivery: true``. The
``Content-Type`` is the delivery policy's ``requestPolicy.headerContentType`` (default
``text/plain; charset=UTF-8``). Beside those, AWS's requests (as recorded) carry
``User-Agent: Amazon Simple Notification Service Agent``, ``Accept-Encoding: gzip,deflate``,
``Host``, ``Content-Length`` and ``Connection``, and no ``Accept``. A response status
from 200 to 499 counts as delivered; any other status, a connection failure, or no
answer within 15 seconds is a failure that the delivery policy retries.

HTTPS endpoints are verified against the system trust store, or against the PEM bundle
named by ``CIPHERPOST_SNS_CA_BUNDLE`` (for endpoints with a private CA).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import httpx

CA_BUNDLE_ENV: Final = "CIPHERPOST_SNS_CA_BUNDLE"
TIMEOUT_SECONDS: Final = 15.0
USER_AGENT: Final = "Amazon Simple Notification Service Agent"
#: The headers every delivery request carries, as AWS sends them (spelling included).
CLIENT_HEADERS: Final = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip,deflate"}


@dataclass(frozen=True, slots=True)
class HttpOutcome:
    """What one POST came to."""

    delivered: bool
    detail: str


def tls_context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The trust store HTTPS endpoints are verified against (see the module docstring)."""
    bundle = (environ if environ is not None else os.environ).get(CA_BUNDLE_ENV)
    return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()


class Throttle:
    """``throttlePolicy.maxReceivesPerSecond``: at most that many POSTs a second to one
    subscription from this node (a token bucket of one second's worth)."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, key: str, rate: int | None) -> None:
        if not rate:
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            tokens, stamp = self._buckets.get(key, (float(rate), now))
            tokens = min(float(rate), tokens + (now - stamp) * rate)
            if tokens < 1.0:
                await asyncio.sleep((1.0 - tokens) / rate)
                tokens, now = 1.0, time.monotonic()
            self._buckets[key] = (tokens - 1.0, now)


class HttpSender:
    """The async HTTP client deliveries share."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._client = httpx.AsyncClient(verify=tls_context(environ), timeout=TIMEOUT_SECONDS,
                                         follow_redirects=False, trust_env=False, headers=CLIENT_HEADERS)
        del self._client.headers["Accept"]  # httpx's default; AWS sends none
        self.throttle = Throttle()

    async def post(self, url: str, body: str, headers: Mapping[str, str]) -> HttpOutcome:
        """POST ``body``; delivered when the endpoint answered 200..499."""
        try:
            response = await self._client.post(url, content=body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            return HttpOutcome(False, f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 500:
            return HttpOutcome(True, f"HTTP {response.status_code}")
        return HttpOutcome(False, f"HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()


def sns_headers(kind: str, message_id: str, topic_arn: str, subscription_arn: str | None, *,
                content_type: str, raw: bool = False) -> dict[str, str]:
    """AWS's request headers for a delivery (see the module docstring)."""
    headers = {"x-amz-sns-message-type": kind, "x-amz-sns-message-id": message_id,
               "x-amz-sns-topic-arn": topic_arn, "Content-Type": content_type}
    if subscription_arn is not None:
        headers["x-amz-sns-subscription-arn"] = subscription_arn
    if raw:
        headers["x-amz-sns-rawdelivery"] = "true"
    return headers
