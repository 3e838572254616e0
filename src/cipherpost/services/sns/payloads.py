"""What a subscription receives of a published message: the raw text, or the signed envelope.

Publish builds payloads for the queues it delivers to at once (:mod:`.publish_ops`), the
delivery worker for the rest (:mod:`.delivery`); both go through :class:`Payloads`, so a
subscriber gets the same bytes either way. The signature covers the same fields for every
subscription of a message, and the envelope differs between them only in ``UnsubscribeURL``:
so both are made once per (message, text, version), shared by concurrent callers, and
completed per subscription. The signature (RSA-2048: about half a millisecond) is computed
off the event loop, by :meth:`.SigningKey.sign_async`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import urllib.parse
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cipherpost.services.sns import messages, notification
from cipherpost.services.sns.signing import SignatureVersion, SigningKey
from cipherpost.services.sns.subscriptions import Subscription
from cipherpost.store import Row

_TEMPLATES: Final = 4096
#: Message text the template cache may hold in all (messages are up to 256 KiB each).
_TEMPLATE_TEXT: Final = 16 << 20


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class Notice:
    """A published Notification, as its deliveries see it (the body in plaintext)."""

    message_id: str
    topic_arn: str
    subject: str | None
    message: str
    structure: Mapping[str, str] | None
    """The parsed message of ``MessageStructure=json``, else None."""
    attributes: dict[str, dict[str, Any]]
    published_at: int
    """Epoch milliseconds."""
    signature_version: SignatureVersion
    group_id: str | None = None
    """FIFO topics: the MessageGroupId."""
    dedup_id: str | None = None
    """FIFO topics: the deduplication id (explicit or content-based)."""
    sequence_number: str | None = None
    """FIFO topics: the message's SequenceNumber (its envelope carries it and no signature)."""
    trace_header: str | None = None
    """Publish's X-Amzn-Trace-Id header: the AWSTraceHeader of the SQS messages delivered."""

    @classmethod
    def from_row(cls, row: Row, body: str) -> Notice:
        """A stored message (its body already decrypted to ``body``)."""
        return cls(message_id=str(row["message_id"]), topic_arn=str(row["topic_arn"]), subject=row["subject"],
                   message=body,
                   structure=notification.parse_message_structure(body) if row["message_structure"] == "json"
                   else None,
                   attributes=messages.loaded_attributes(row["message_attributes"]),
                   published_at=int(row["published_at"]),
                   signature_version="2" if row["signature_version"] == "2" else "1",
                   group_id=row["group_id"], dedup_id=row["dedup_id"],
                   sequence_number=(messages.sequence_number(int(row["seq"]))
                                    if str(row["topic_arn"]).endswith(".fifo") else None),
                   trace_header=row.get("trace_header"))

    @property
    def queue_dedup_id(self) -> str:
        """The MessageDeduplicationId a FIFO queue gets: the topic's, else the MessageId."""
        return self.dedup_id or self.message_id

    def text_for(self, protocol: str) -> str:
        return messages.message_for(self.message, self.structure, protocol)


class Payloads:
    """Builds payloads; ``signing_key`` loads the installation's key (see :mod:`.core`)."""

    def __init__(self, signing_key: Callable[[], Awaitable[SigningKey]], *, base_url: str,
                 signing_cert_url: str) -> None:
        self._signing_key = signing_key
        self.base_url = base_url
        self.signing_cert_url = signing_cert_url
        self._templates: OrderedDict[tuple[str, str], asyncio.Future[notification.NotificationTemplate]] = (
            OrderedDict())
        self._template_text = 0  # characters of message text the cached templates hold

    async def payload(self, notice: Notice, subscription: Subscription) -> str:
        """The body ``subscription`` receives: raw text or the signed JSON envelope."""
        text = notice.text_for(subscription.protocol)
        if subscription.raw:
            return text
        template = await self._template(notice, text)
        return template.body(self.unsubscribe_url(subscription.arn))

    async def _template(self, notice: Notice, text: str) -> notification.NotificationTemplate:
        """The envelope of (message, text, version) but its UnsubscribeURL, signed: made once
        and shared by concurrent callers."""
        cache_key = (f"{notice.message_id}/{notice.signature_version}", text)
        future = self._templates.get(cache_key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._templates[cache_key] = future
            self._template_text += len(text)
            while len(self._templates) > _TEMPLATES or self._template_text > _TEMPLATE_TEXT:
                (_, dropped), _ = self._templates.popitem(last=False)
                self._template_text -= len(dropped)
            try:
                template = (_fifo_template(notice, text) if notice.sequence_number is not None else
                            await _signed_template(notice, text, await self._signing_key(), self.signing_cert_url))
            except BaseException as exc:
                if self._templates.pop(cache_key, None) is not None:
                    self._template_text -= len(text)
                future.set_exception(exc)
                future.exception()  # retrieved: later awaiters get their own attempt
                raise
            future.set_result(template)
        return await asyncio.shield(future)

    def unsubscribe_url(self, subscription_arn: str) -> str:
        return f"{self.base_url}/?Action=Unsubscribe&SubscriptionArn={quoted(subscription_arn)}"


def _fifo_template(notice: Notice, text: str) -> notification.NotificationTemplate:
    """A FIFO topic's envelope (unsigned, as AWS's)."""
    assert notice.sequence_number is not None
    return notification.fifo_notification_template(
        message_id=notice.message_id, sequence_number=notice.sequence_number, topic_arn=notice.topic_arn,
        subject=notice.subject, message=text, timestamp=dt.datetime.fromtimestamp(notice.published_at / 1000, dt.UTC),
        message_attributes=notice.attributes)


async def _signed_template(notice: Notice, text: str, key: SigningKey,
                           signing_cert_url: str) -> notification.NotificationTemplate:
    """The signed envelope of ``notice`` for subscribers that receive ``text``."""
    timestamp = dt.datetime.fromtimestamp(notice.published_at / 1000, dt.UTC)
    signed = notification.notification_signed_fields(notice.message_id, notice.topic_arn, notice.subject, text,
                                                     timestamp)
    signature = await key.sign_async(signed, version=notice.signature_version)
    return notification.notification_template(
        message_id=notice.message_id, topic_arn=notice.topic_arn, subject=notice.subject, message=text,
        timestamp=timestamp, signature_version=notice.signature_version, signing_cert_url=signing_cert_url,
        message_attributes=notice.attributes, signature=signature)


@functools.lru_cache(maxsize=4096)
def quoted(text: str) -> str:
    """``text`` percent-encoded for a query string value (urllib's quote is slow; ARNs repeat).

    ``:`` stays as is, as AWS writes ARNs in ``SubscribeURL`` / ``UnsubscribeURL``
    (``...&SubscriptionArn=arn:aws:sns:...``): it is legal in a query (RFC 3986) and the
    links' handler decodes either form.
    """
    return urllib.parse.quote(text, safe=":")
