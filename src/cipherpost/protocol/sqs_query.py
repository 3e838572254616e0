"""SQS's Query protocol, derived as data from botocore's JSON model of SQS.

Why this exists: SQS moved from the Query protocol (form-encoded requests, XML responses)
to JSON 1.0 in 2023, and botocore ships only the JSON model (marked ``awsQueryCompatible``).
Older SDKs — the Java SDK v1 among them — still speak Query, and AWS still answers them.
The JSON model kept the shapes and the ``flattened`` traits but dropped the Query-side
names (``locationName``) and the Query error codes (``error.code``, e.g.
``AWS.SimpleQueueService.NonExistentQueue``). We put exactly those back with the small
patch tables below, applied to a copy of the loaded model, and hand the result to
botocore's ``ServiceModel`` as a second, ``query`` model of the same service. The Query
parser and serializer then treat it like any other Query model: no SQS-specific code.

The names come from AWS's SQS API reference (Query API: ``Attribute.N.Name``,
``MessageAttribute.N.Value.StringValue``, ``SendMessageBatchRequestEntry.N.Id``,
``<ReceiveMessageResult><Message>...``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

#: ``/<12-digit account>/<queue name>``: an SQS queue URL's path.
QUEUE_PATH: Final = re.compile(r"/(?P<account>[0-9]{12})/(?P<queue>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?")

#: XML namespace of every SQS Query response.
XML_NAMESPACE: Final = "http://queue.amazonaws.com/doc/2012-11-05/"

#: List shape -> wire name of one element. Every one of these lists is flattened, so the
#: element name replaces the member name: ``AttributeName.1=All``, ``<QueueUrl>..``.
LIST_ITEM_NAMES: Final[Mapping[str, str]] = {
    "AWSAccountIdList": "AWSAccountId",
    "ActionNameList": "ActionName",
    "AttributeNameList": "AttributeName",
    "BatchResultErrorEntryList": "BatchResultErrorEntry",
    "BinaryList": "BinaryListValue",
    "ChangeMessageVisibilityBatchRequestEntryList": "ChangeMessageVisibilityBatchRequestEntry",
    "ChangeMessageVisibilityBatchResultEntryList": "ChangeMessageVisibilityBatchResultEntry",
    "DeleteMessageBatchRequestEntryList": "DeleteMessageBatchRequestEntry",
    "DeleteMessageBatchResultEntryList": "DeleteMessageBatchResultEntry",
    "ListMessageMoveTasksResultEntryList": "ListMessageMoveTasksResultEntry",
    "MessageAttributeNameList": "MessageAttributeName",
    "MessageList": "Message",
    "MessageSystemAttributeList": "MessageSystemAttributeName",
    "QueueUrlList": "QueueUrl",
    "SendMessageBatchRequestEntryList": "SendMessageBatchRequestEntry",
    "SendMessageBatchResultEntryList": "SendMessageBatchResultEntry",
    "StringList": "StringListValue",
    "TagKeyList": "TagKey",
}

#: Map shape -> (key name, value name) of one flattened entry: ``Tag.1.Key``/``Tag.1.Value``.
MAP_ENTRY_NAMES: Final[Mapping[str, tuple[str, str]]] = {
    "MessageBodyAttributeMap": ("Name", "Value"),
    "MessageBodySystemAttributeMap": ("Name", "Value"),
    "MessageSystemAttributeMap": ("Name", "Value"),
    "QueueAttributeMap": ("Name", "Value"),
    "TagMap": ("Key", "Value"),
}

_MESSAGE_ATTRIBUTES: Final = {
    "MessageAttributes": "MessageAttribute",
    "MessageSystemAttributes": "MessageSystemAttribute",
}
_LIST_VALUES: Final = {"StringListValues": "StringListValue", "BinaryListValues": "BinaryListValue"}

#: Structure shape -> member -> wire name (singular on the Query wire: ``Attribute.1.Name``).
MEMBER_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "CreateQueueRequest": {"Attributes": "Attribute", "tags": "Tag"},
    "SetQueueAttributesRequest": {"Attributes": "Attribute"},
    "GetQueueAttributesResult": {"Attributes": "Attribute"},
    "TagQueueRequest": {"Tags": "Tag"},
    "ListQueueTagsResult": {"Tags": "Tag"},
    "Message": {"Attributes": "Attribute", "MessageAttributes": "MessageAttribute"},
    "SendMessageRequest": _MESSAGE_ATTRIBUTES,
    "SendMessageBatchRequestEntry": _MESSAGE_ATTRIBUTES,
    "MessageAttributeValue": _LIST_VALUES,
    "MessageSystemAttributeValue": _LIST_VALUES,
}

_PREFIX: Final = "AWS.SimpleQueueService."

#: Error shape -> (Query error code, HTTP status). Shapes not listed (``KmsDisabled``,
#: ``InvalidAttributeName``, ...) answer with their shape name, as AWS does.
ERROR_CODES: Final[Mapping[str, tuple[str, int]]] = {
    "BatchEntryIdsNotDistinct": (_PREFIX + "BatchEntryIdsNotDistinct", 400),
    "BatchRequestTooLong": (_PREFIX + "BatchRequestTooLong", 400),
    "EmptyBatchRequest": (_PREFIX + "EmptyBatchRequest", 400),
    "InvalidBatchEntryId": (_PREFIX + "InvalidBatchEntryId", 400),
    "MessageNotInflight": (_PREFIX + "MessageNotInflight", 400),
    "PurgeQueueInProgress": (_PREFIX + "PurgeQueueInProgress", 403),
    "QueueDeletedRecently": (_PREFIX + "QueueDeletedRecently", 400),
    "QueueDoesNotExist": (_PREFIX + "NonExistentQueue", 400),
    "QueueNameExists": ("QueueAlreadyExists", 400),
    "TooManyEntriesInBatchRequest": (_PREFIX + "TooManyEntriesInBatchRequest", 400),
    "UnsupportedOperation": (_PREFIX + "UnsupportedOperation", 400),
    "OverLimit": ("OverLimit", 403),
}


#: Messages AWS words differently over the Query protocol (its older API's wording).
QUERY_MESSAGES: Final[Mapping[str, str]] = {
    "The specified queue does not exist.": "The specified queue does not exist for this wsdl version.",
}

#: SQS's Query errors carry an empty ``<Detail/>`` element (botocore reports ``Detail: None``).
ERROR_DETAIL: Final = "<Detail/>"

#: Request shape -> members required by the JSON model that the Query model leaves optional.
#: An empty list cannot be written in a form (``Entries`` is then absent), and AWS answers
#: that with ``EmptyBatchRequest``, as it does an empty JSON list, not ``MissingParameter``.
OPTIONAL_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "SendMessageBatchRequest": ("Entries",),
    "DeleteMessageBatchRequest": ("Entries",),
    "ChangeMessageVisibilityBatchRequest": ("Entries",),
}


def derive_query_model(json_model: Mapping[str, Any]) -> dict[str, Any]:
    """A Query-protocol copy of SQS's JSON model, with the Query names put back.

    Args:
        json_model: botocore's ``sqs`` ``service-2`` data (not modified).
    Returns:
        New model data for ``botocore.model.ServiceModel``.
    Raises:
        KeyError: a patched shape or member is missing from the model (botocore changed).
    """
    model = copy.deepcopy(dict(json_model))
    model["metadata"] = _query_metadata(model["metadata"])
    shapes = model["shapes"]
    for name, item in LIST_ITEM_NAMES.items():
        shapes[name]["member"]["locationName"] = item
        shapes[name]["flattened"] = True
    for name, (key, value) in MAP_ENTRY_NAMES.items():
        shapes[name]["key"]["locationName"] = key
        shapes[name]["value"]["locationName"] = value
        shapes[name]["flattened"] = True
    for name, members in MEMBER_NAMES.items():
        for member, wire_name in members.items():
            shapes[name]["members"][member]["locationName"] = wire_name
    for name, optional in OPTIONAL_MEMBERS.items():
        shapes[name]["required"] = [member for member in shapes[name]["required"] if member not in optional]
    for name, (code, status) in ERROR_CODES.items():
        shapes[name]["error"] = {"code": code, "httpStatusCode": status, "senderFault": True}
    for op_name, operation in model["operations"].items():
        if "output" in operation:
            operation["output"]["resultWrapper"] = f"{op_name}Result"
    return model


def _query_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-only metadata removed, Query protocol and namespace set."""
    dropped = {"jsonVersion", "targetPrefix", "awsQueryCompatible", "protocols"}
    result = {key: value for key, value in metadata.items() if key not in dropped}
    result.update(protocol="query", protocols=["query"], xmlNamespace=XML_NAMESPACE)
    return result


def fill_queue_url(
    params: Mapping[str, str], path: str, host: str | None,
    queue_url_from_path: Callable[[str], str] | None,
) -> Mapping[str, str]:
    """``params`` with ``QueueUrl`` taken from the request path when absent.

    SQS quirk: Query clients may POST to the queue URL itself (``POST /123456789012/q``
    with ``Action=SendMessage&MessageBody=...``, as AWS's Query API examples and the Java
    SDK v1 do) and leave ``QueueUrl`` out; AWS then acts on the queue the path names.

    Args:
        params: the decoded Query parameters.
        path: the raw request path.
        host: the ``Host`` header, used only when ``queue_url_from_path`` is ``None``.
        queue_url_from_path: maps a queue path to the public queue URL (the server knows
            its public base URL); by default ``http://<Host><path>``.
    """
    if "QueueUrl" in params or not QUEUE_PATH.fullmatch(path):
        return params
    if queue_url_from_path is not None:
        url = queue_url_from_path(path)
    elif host:
        url = f"http://{host}{path}"
    else:
        return params
    return {**params, "QueueUrl": url}
