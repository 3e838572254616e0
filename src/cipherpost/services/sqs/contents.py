"""What a message may contain: body characters, message attributes, system attributes, size.

From "SendMessage" and "Amazon SQS message attributes" (SQS Developer Guide):
- body characters: ``#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF``;
- at most 10 message attributes; a name has up to 256 characters of alphanumerics (any
  script: AWS accepts ``attr.1øßä`` and refuses ``§``), ``_``, ``-`` and ``.``, does
  not start with ``AWS.`` or ``Amazon.`` (any case), nor start or end with ``.``, nor hold
  ``..``; a data type is ``String``, ``Number`` or ``Binary`` with an optional
  ``.custom-suffix``, 256 characters at most; a Number has up to 38 significant digits
  between 10^-128 and 10^126;
- the body plus every attribute's name, type and value count toward MaximumMessageSize;
  a whole SendMessageBatch counts toward 1 MiB (the largest MaximumMessageSize), whatever
  the queue's own MaximumMessageSize;
- the only system attribute is ``AWSTraceHeader``, of type String.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from cipherpost.services.sqs.errors import InvalidMessageContents, InvalidParameterValue, MissingParameter

MAX_ATTRIBUTES: Final = 10
MAX_NAME_LENGTH: Final = 256
_INVALID_CHARS: Final = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME: Final = re.compile(r"[\w.-]+")  # \w: Unicode letters and digits, and _
_RESERVED_PREFIXES: Final = ("aws.", "amazon.")
_BASE_TYPES: Final = ("String", "Number", "Binary")
SYSTEM_ATTRIBUTES: Final = frozenset({"AWSTraceHeader"})

Attributes = dict[str, dict[str, Any]]


_ALLOWED_TEXT: Final = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"


def _refused_char(text: str) -> str | None:
    """The first character of ``text`` SQS refuses, as AWS names it (``#xD800``), or None."""
    bad = _INVALID_CHARS.search(text)
    return None if bad is None else f"#x{ord(bad.group()):X}"


def check_text(text: str) -> None:
    """Raise ``InvalidMessageContents`` when ``text`` holds a character SQS refuses."""
    bad = _refused_char(text)
    if bad is not None:
        raise InvalidMessageContents(f"Invalid binary character '{bad}' was found in the message body, the set of "
                                     f"allowed characters is {_ALLOWED_TEXT}")


def _check_value_text(name: str, text: str) -> None:
    """A String/Number attribute value's characters: as a body's, but ``InvalidParameterValue``."""
    bad = _refused_char(text)
    if bad is not None:
        raise InvalidParameterValue(f"Invalid binary character '{bad}' was found in the value of message (user) "
                                    f"attribute '{name}', the set of allowed characters is {_ALLOWED_TEXT}")


def check_body(body: str | None) -> str:
    """The body, checked for presence and allowed characters."""
    if not body:
        raise MissingParameter("The request must contain the parameter MessageBody.")
    check_text(body)
    return body


def _check_name(name: str) -> None:
    lowered = name.lower()
    valid = (
        0 < len(name) <= MAX_NAME_LENGTH
        and _ATTRIBUTE_NAME.fullmatch(name) is not None
        and not lowered.startswith(_RESERVED_PREFIXES)
        and not name.startswith(".") and not name.endswith(".") and ".." not in name
    )
    if not valid:
        raise InvalidParameterValue(f"Message (user) attribute name '{name}' is invalid. The attribute name can "
                                    f"contain A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.) characters.")


def _check_type(name: str, data_type: str) -> str:
    """The base type (String, Number, Binary) of ``data_type``."""
    base, _, _custom = data_type.partition(".")
    if base not in _BASE_TYPES or len(data_type) > MAX_NAME_LENGTH or data_type.endswith("."):
        raise InvalidParameterValue(f"The type of message (user) attribute '{name}' is invalid. You must use "
                                    f"only the following supported type prefixes: Binary, Number, String.")
    return base


def _check_number(name: str, text: str) -> None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise InvalidParameterValue(f"Can't cast the value of message (user) attribute '{name}' to a number.")
    # Significant digits, counted without Decimal's context rounding (28 digits by default).
    digits = len("".join(map(str, number.as_tuple().digits)).strip("0"))
    if number != 0 and (digits > 38 or not Decimal("1e-128") <= abs(number) <= Decimal("1e126")):
        raise InvalidParameterValue(f"Value of message (user) attribute '{name}' is out of range or has more "
                                    f"than 38 significant digits.")


def _one_attribute(name: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """One attribute, checked; only DataType and the value member are kept."""
    _check_name(name)
    data_type = value.get("DataType")
    if not data_type:
        raise InvalidParameterValue(f"The message attribute '{name}' must contain non-empty message attribute "
                                    f"type.")
    base = _check_type(name, data_type)
    if base == "Binary":
        binary = value.get("BinaryValue")
        if not binary:
            raise InvalidParameterValue(f"The message attribute '{name}' with type 'Binary' must use field "
                                        f"'Binary'.")
        return {"DataType": data_type, "BinaryValue": bytes(binary)}
    text = value.get("StringValue")
    if text == "":
        raise InvalidParameterValue(f"Message (user) attribute '{name}' must contain a non-empty value of type "
                                    f"'{base}'.")
    if not text:
        raise InvalidParameterValue(f"The message attribute '{name}' with type '{base}' must use field 'String'.")
    _check_value_text(name, text)
    if base == "Number":
        _check_number(name, text)
    return {"DataType": data_type, "StringValue": text}


def check_message_attributes(attributes: Mapping[str, Mapping[str, Any]] | None) -> Attributes:
    """Validated message attributes (empty dict when none)."""
    if not attributes:
        return {}
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(f"Number of message attributes [{len(attributes)}] exceeds the allowed "
                                    f"maximum [{MAX_ATTRIBUTES}].")
    return {name: _one_attribute(name, value) for name, value in attributes.items()}


def check_system_attributes(attributes: Mapping[str, Mapping[str, Any]] | None) -> Attributes:
    """Validated message system attributes: only ``AWSTraceHeader`` (String)."""
    if not attributes:
        return {}
    out: Attributes = {}
    for name, value in attributes.items():
        if name not in SYSTEM_ATTRIBUTES:
            raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        if value.get("DataType") != "String" or not value.get("StringValue"):
            raise InvalidParameterValue(f"Message system attribute '{name}' must be of type String with a "
                                        f"non-empty StringValue.")
        check_text(value["StringValue"])
        out[name] = {"DataType": "String", "StringValue": value["StringValue"]}
    return out


def with_trace_header(system: Attributes, trace_header: str | None) -> Attributes:
    """``system`` plus ``AWSTraceHeader`` from the request's ``X-Amzn-Trace-Id`` header.

    An explicit ``AWSTraceHeader`` message system attribute takes precedence over the header
    (SQS Developer Guide, "AWS X-Ray and Amazon SQS").
    """
    if not trace_header or "AWSTraceHeader" in system:
        return system
    check_text(trace_header)
    return {**system, "AWSTraceHeader": {"DataType": "String", "StringValue": trace_header}}


def attributes_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes the attributes count toward the message size (name + type + value)."""
    total = 0
    for name, value in attributes.items():
        total += len(name.encode("utf-8")) + len(value["DataType"].encode("utf-8"))
        if "BinaryValue" in value:
            total += len(value["BinaryValue"])
        else:
            total += len(value["StringValue"].encode("utf-8"))
    return total


def message_size(body: str, attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """The size SQS checks against MaximumMessageSize."""
    return len(body.encode("utf-8")) + attributes_size(attributes)


def check_size(size: int, maximum: int, *, in_batch: bool = False) -> None:
    """Raise ``InvalidParameterValue`` when a message is larger than the queue allows (a batch
    entry's failure says "cannot be validated", as AWS's)."""
    if size > maximum:
        problem = "cannot be validated" if in_batch else "are invalid"
        raise InvalidParameterValue(f"One or more parameters {problem}. Reason: Message must be shorter than "
                                    f"{maximum} bytes.")
