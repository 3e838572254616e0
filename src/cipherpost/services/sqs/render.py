"""ReceiveMessage's view of a stored message: which system and message attributes to return.

"ReceiveMessage": ``MessageSystemAttributeNames`` (and the older ``AttributeNames``) select
system attributes, ``All`` selecting every one; ``MessageAttributeNames`` selects message
attributes by name, ``All``, ``*`` or ``.*`` selecting every one and ``prefix.*`` those whose
name starts with ``prefix`` (``Hel.*`` selects ``Hello`` and ``Help.Me``).
``MD5OfMessageAttributes`` covers the attributes returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from cipherpost.services.sqs.contents import Attributes
from cipherpost.services.sqs.md5 import md5_of_attributes, md5_of_body
from cipherpost.services.sqs.messages import encode_receipt, load_attributes, sequence_number
from cipherpost.store import Row

SYSTEM_NAMES: Final = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


def system_names(*lists: Iterable[str] | None) -> frozenset[str]:
    """The system attribute names a receive asks for (union of both request members)."""
    wanted: set[str] = set()
    for names in lists:
        wanted.update(names or ())
    if "All" in wanted:
        return frozenset(SYSTEM_NAMES)
    return frozenset(name for name in wanted if name in SYSTEM_NAMES)


def select_attributes(attributes: Attributes, names: Iterable[str] | None) -> Attributes:
    """The message attributes a receive asks for."""
    wanted = list(names or ())
    if not wanted or not attributes:
        return {}
    if {"All", "*", ".*"} & set(wanted):
        return attributes
    exact = {name for name in wanted if not name.endswith(".*")}
    prefixes = tuple(name[:-2] for name in wanted if name.endswith(".*"))
    return {name: value for name, value in attributes.items() if name in exact or name.startswith(prefixes)}


def _system_values(row: Row, queue_id: str, fifo: bool) -> dict[str, str | None]:
    seq = int(row["seq"])
    trace = load_attributes(row["system_attributes"]).get("AWSTraceHeader")
    return {
        "SenderId": str(row["sender_id"]),
        "SentTimestamp": str(row["sent_at"]),
        "ApproximateReceiveCount": str(row["receive_count"]),
        "ApproximateFirstReceiveTimestamp": str(row["first_received_at"]),
        "SequenceNumber": sequence_number(queue_id, seq) if fifo else None,
        "MessageDeduplicationId": row["dedup_id"] if fifo else None,
        "MessageGroupId": row["group_id"],
        "AWSTraceHeader": trace["StringValue"] if trace else None,
        "DeadLetterQueueSourceArn": row["dead_letter_source_arn"],
    }


def render_message(row: Row, body: str, *, queue_id: str, token: str, fifo: bool, system: frozenset[str],
                   attribute_names: Iterable[str] | None) -> dict[str, Any]:
    """One ``Message`` of the ReceiveMessage output; ``body`` is the row's body as text (decrypted)."""
    message: dict[str, Any] = {
        "MessageId": row["message_id"],
        "ReceiptHandle": encode_receipt(queue_id, str(row["message_id"]), token),
        "MD5OfBody": row["md5_body"] or md5_of_body(body),
        "Body": body,
    }
    if system:
        values = _system_values(row, queue_id, fifo)
        chosen: Mapping[str, str] = {name: value for name in system if (value := values[name]) is not None}
        if chosen:
            message["Attributes"] = dict(chosen)
    selected = select_attributes(load_attributes(row["message_attributes"]), attribute_names)
    if selected:
        message["MessageAttributes"] = selected
        message["MD5OfMessageAttributes"] = md5_of_attributes(selected)
    return message
