"""Permission and dead-letter handlers: AddPermission, RemovePermission, ListDeadLetterSourceQueues."""

from __future__ import annotations

import json
import re
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.sqs.access import GRANTABLE
from cipherpost.services.sqs.core import SqsCore, bounded, decode_token, encode_token, required
from cipherpost.services.sqs.errors import InvalidParameterValue, OverLimit
from cipherpost.services.sqs.queues import Queue

_LABEL: Final = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ACCOUNT: Final = re.compile(r"[0-9]{12}")
#: "AddPermission": a queue policy holds at most 7 actions per statement.
MAX_ACTIONS: Final = 7


def _policy_document(queue: Queue) -> dict[str, Any]:
    """The queue's policy as a dict (a fresh one in the shape AddPermission creates: AWS writes
    policy language version 2008-10-17 there)."""
    text = queue.attributes.get("Policy")
    if text:
        document: dict[str, Any] = json.loads(text)
        statements = document.get("Statement", [])
        document["Statement"] = statements if isinstance(statements, list) else [statements]
        return document
    return {"Version": "2008-10-17", "Id": f"{queue.arn}/SQSDefaultPolicy", "Statement": []}


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


class AdminOperations(SqsCore):
    """AddPermission, RemovePermission, ListDeadLetterSourceQueues."""

    @operation("AddPermission")
    async def add_permission(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        label = str(required(params, "Label"))
        if not _LABEL.fullmatch(label):
            raise InvalidParameterValue(f"Value {label} for parameter Label is invalid. Reason: Can only include "
                                        f"alphanumeric characters, hyphens, or underscores. 1 to 80 in length.")
        actions = [str(action) for action in required(params, "Actions")]
        accounts = [str(account) for account in params.get("AWSAccountIds") or ()]
        if not accounts:
            raise InvalidParameterValue("Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.")
        for account in accounts:
            if not _ACCOUNT.fullmatch(account):
                raise InvalidParameterValue(f"Value {account} for parameter PrincipalId is invalid. Reason: "
                                            f"Unable to verify.")
        for action in actions:
            if action not in GRANTABLE:
                raise InvalidParameterValue(f"Value SQS:{action} for parameter ActionName is invalid. Reason: "
                                            f"Only the queue owner is allowed to invoke this action.")
        if len(actions) > MAX_ACTIONS:
            raise OverLimit(f"{len(actions)} actions were found, maximum allowed is {MAX_ACTIONS}.")
        document = _policy_document(queue)
        if any(statement.get("Sid") == label for statement in document["Statement"]):
            raise InvalidParameterValue(f"Value {label} for parameter Label is invalid. Reason: Already exists.")
        document["Statement"].append({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_list([f"arn:aws:iam::{account}:root" for account in accounts])},
            "Action": _one_or_list([f"SQS:{action}" for action in actions]),
            "Resource": queue.arn,
        })
        await self.queues.set_attributes(queue, {**queue.attributes, "Policy": json.dumps(document)})
        return {}

    @operation("RemovePermission")
    async def remove_permission(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        label = str(required(params, "Label"))
        document = _policy_document(queue)
        kept = [statement for statement in document["Statement"] if statement.get("Sid") != label]
        if len(kept) == len(document["Statement"]):
            raise InvalidParameterValue(f"Value {label} for parameter Label is invalid. Reason: can't find label.")
        values = dict(queue.attributes)
        if kept:
            document["Statement"] = kept
            values["Policy"] = json.dumps(document)
        else:
            values.pop("Policy", None)
        await self.queues.set_attributes(queue, values)
        return {}

    @operation("ListDeadLetterSourceQueues")
    async def list_dead_letter_source_queues(self, ctx: RequestContext, params: Params) -> Result:
        queue = await self.queue_for(ctx, params)
        limit = bounded(params, "MaxResults", 1, 1000, 1000)
        after = decode_token(params.get("NextToken"))
        refs = [ref for ref in await self.queues.dead_letter_sources(queue.arn) if ref.queue_name > after]
        page = refs[:limit]
        result: Result = {"queueUrls": [f"{self.queues.base_url}/{ref.account_id}/{ref.queue_name}"
                                        for ref in page]}
        if params.get("MaxResults") is not None and len(refs) > limit:
            result["NextToken"] = encode_token(page[-1].queue_name)
        return result
