"""What Publish accepts: message, subject, attributes and FIFO ids, checked as AWS checks them.

AWS's limits ("Publish", "Amazon SNS message attributes"): a message of at most 256 KiB,
attributes included (names, types and values); a subject of 1..100 printable ASCII
characters with no line break; at most 10 message attributes, each named with letters,
digits, ``_``, ``-`` and ``.`` (not starting with ``AWS.``/``Amazon.``, no leading,
trailing or doubled period, at most 256 characters), typed ``String``, ``Number``,
``Binary`` or ``String.Array`` (with an optional ``.label`` suffix); FIFO ids of 1..128
characters of letters, digits and punctuation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from cipherpost.services.sns.errors import InvalidParameter, InvalidParameterValue
from cipherpost.services.sns.notification import parse_message_structure

MAX_MESSAGE_BYTES: Final = 256 * 1024
MAX_ATTRIBUTES: Final = 10
MAX_SUBJECT: Final = 100
MAX_ATTRIBUTE_NAME_BYTES: Final = 256
_NAME_CHARACTER: Final = re.compile(r"[^A-Za-z0-9_.-]")  # what a message attribute name may not hold
_FIFO_ID: Final = re.compile(r"[\x21-\x7e]{1,128}")
_BASE_TYPES: Final = ("String", "Number", "Binary")


@dataclass(slots=True)  # not frozen (made per message; frozen __init__ costs ~5x): never mutated
class Outgoing:
    """A checked message, ready to store."""

    message: str
    subject: str | None
    attributes: dict[str, dict[str, Any]]
    structure: dict[str, str] | None
    group_id: str | None
    dedup_id: str | None


def sequence_number(seq: int) -> str:
    """A FIFO SequenceNumber: 20 digits, as AWS prints them."""
    return f"{seq:020d}"


def check_subject(subject: object) -> str | None:
    """:raises InvalidParameter: empty, too long, non-ASCII, or with control characters."""
    if subject is None:
        return None
    text = str(subject)
    if not text or len(text) > MAX_SUBJECT or not all(" " <= ch <= "~" for ch in text):
        raise InvalidParameter("Invalid parameter: Subject")
    return text


def _check_name(name: str) -> None:
    """AWS's checks and texts, in the order AWS's recorded answers imply: length, then
    characters (the first one refused, as ``#x5E``), then the periods."""
    if len(name.encode("utf-8", "surrogatepass")) > MAX_ATTRIBUTE_NAME_BYTES:
        raise InvalidParameterValue("Length of message attribute name must be less than 256 bytes.")
    bad = _NAME_CHARACTER.search(name)
    if bad is not None:
        raise InvalidParameterValue(f"Invalid non-alphanumeric character '#x{ord(bad.group()):X}' was found in the "
                                    "message attribute name. Can only include alphanumeric characters, hyphens, "
                                    "underscores, or dots.")
    if name.startswith("."):
        raise InvalidParameterValue("Invalid message attribute name starting with character '.' was found.")
    if name.endswith("."):
        raise InvalidParameterValue("Invalid message attribute name ending with character '.' was found.")
    if ".." in name:
        raise InvalidParameterValue("Message attribute name can not have successive '.' character.")
    if not name or name.lower().startswith(("aws.", "amazon.")):  # AWS's text for these is not on record
        raise InvalidParameterValue(f"Invalid attribute name: {name}. Message attribute names may not be empty or "
                                    "start with AWS. or Amazon.")


def _check_value(name: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """A String/Number attribute carries ``StringValue``, a Binary one ``BinaryValue``: the
    other field alone is refused (``must use field``), no value or an empty one too."""
    data_type = str(value.get("DataType") or "")
    base = data_type.split(".", 1)[0]
    if base not in _BASE_TYPES or (data_type.startswith("String.") and data_type != "String.Array"
                                   and not data_type[7:]):
        raise InvalidParameterValue(f"The message attribute '{name}' has an invalid message attribute type, the set "
                                    "of supported type prefixes is Binary, Number, and String.")
    field, other = ("Binary", "String") if base == "Binary" else ("String", "Binary")
    given = value.get(f"{field}Value")
    if given is None and value.get(f"{other}Value") is not None:
        raise InvalidParameterValue(f"The message attribute '{name}' with type '{data_type}' must use field "
                                    f"'{field}'.")
    if given is None or len(given) == 0:
        raise InvalidParameterValue(f"The message attribute '{name}' must contain non-empty message attribute "
                                    f"value for message attribute type '{data_type}'.")
    if base == "Binary":
        return {"DataType": data_type, "BinaryValue": bytes(given)}
    text = str(given)
    if base == "Number":
        _check_number(name, text)
    if data_type == "String.Array":
        _check_array(name, text)
    return {"DataType": data_type, "StringValue": text}


def _check_number(name: str, text: str) -> None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or abs(number) > Decimal("1e9") or len(text) > 64:
        raise InvalidParameterValue(f"Could not cast message attribute '{name}' value to number.")


def _check_array(name: str, text: str) -> None:
    try:
        array = json.loads(text)
    except (ValueError, RecursionError):
        array = None
    if not isinstance(array, list) or any(isinstance(item, dict | list) for item in array):
        raise InvalidParameterValue(f"Invalid parameter: Message attribute '{name}' of type String.Array must be a "
                                    "JSON array of strings, numbers, booleans or null.")


def check_attributes(attributes: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    """:raises InvalidParameterValue: AWS's messages, naming the attribute."""
    given = dict(attributes or {})
    if len(given) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(f"Number of message attributes [{len(given)}] exceeds the allowed maximum "
                                    f"[{MAX_ATTRIBUTES}].")
    checked: dict[str, dict[str, Any]] = {}
    for name, value in given.items():
        _check_name(name)
        checked[name] = _check_value(name, value)
    return checked


def attributes_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    size = 0
    for name, value in attributes.items():
        size += len(name.encode()) + len(str(value["DataType"]).encode())
        size += len(value["BinaryValue"]) if "BinaryValue" in value else len(str(value["StringValue"]).encode())
    return size


def check_fifo_id(name: str, value: object) -> str:
    """:raises InvalidParameter: not 1..128 characters of letters, digits and punctuation."""
    text = str(value)
    if not _FIFO_ID.fullmatch(text):
        raise InvalidParameter(f"Invalid parameter: {name} Reason: {name} can only include alphanumeric and "
                               "punctuation characters. 1 to 128 in length.")
    return text


def check_message(params: Mapping[str, Any], *, fifo: bool, content_based_dedup: bool) -> Outgoing:
    """Everything Publish (or a PublishBatch entry) says about its message, checked.

    :raises InvalidParameter, InvalidParameterValue: as AWS answers each problem.
    """
    message = params.get("Message")
    if message is None or message == "":
        raise InvalidParameter("Invalid parameter: Empty message")
    message = str(message)
    subject = check_subject(params.get("Subject"))
    attributes = check_attributes(params.get("MessageAttributes"))
    if len(message.encode("utf-8", "surrogatepass")) + attributes_size(attributes) > MAX_MESSAGE_BYTES:
        raise InvalidParameter("Invalid parameter: Message too long")
    structure = None
    if params.get("MessageStructure") is not None:
        if params["MessageStructure"] != "json":
            raise InvalidParameter("Invalid parameter: MessageStructure")
        structure = parse_message_structure(message)
    group_id, dedup_id = _fifo_ids(params, message, fifo=fifo, content_based_dedup=content_based_dedup)
    return Outgoing(message, subject, attributes, structure, group_id, dedup_id)


def _fifo_ids(params: Mapping[str, Any], message: str, *, fifo: bool,
              content_based_dedup: bool) -> tuple[str | None, str | None]:
    group = params.get("MessageGroupId")
    dedup = params.get("MessageDeduplicationId")
    if not fifo:
        if dedup is not None:
            raise InvalidParameter("Invalid parameter: MessageDeduplicationId Reason: The request includes "
                                   "MessageDeduplicationId parameter that is not valid for this topic type")
        return (check_fifo_id("MessageGroupId", group) if group is not None else None), None
    if group is None:
        raise InvalidParameter("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    group_id = check_fifo_id("MessageGroupId", group)
    if dedup is not None:
        return group_id, check_fifo_id("MessageDeduplicationId", dedup)
    if not content_based_dedup:
        raise InvalidParameter("Invalid parameter: The topic should either have ContentBasedDeduplication enabled "
                               "or MessageDeduplicationId provided explicitly")
    return group_id, hashlib.sha256(message.encode("utf-8", "surrogatepass")).hexdigest()


def message_for(message: str, structure: Mapping[str, str] | None, protocol: str) -> str:
    """What a ``protocol`` subscriber receives of a (``MessageStructure=json``) message."""
    if structure is None:
        return message
    return structure.get(protocol, structure["default"])


def stored_attributes(attributes: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Message attributes as stored (JSON; Binary values as hex)."""
    if not attributes:
        return None
    return json.dumps({name: ({"DataType": v["DataType"], "BinaryHex": bytes(v["BinaryValue"]).hex()}
                              if "BinaryValue" in v else dict(v)) for name, v in attributes.items()})


def loaded_attributes(text: str | None) -> dict[str, dict[str, Any]]:
    """The inverse of :func:`stored_attributes`."""
    if not text:
        return {}
    loaded: dict[str, dict[str, Any]] = json.loads(text)
    for value in loaded.values():
        if "BinaryHex" in value:
            value["BinaryValue"] = bytes.fromhex(value.pop("BinaryHex"))
    return loaded
