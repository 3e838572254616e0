"""Who may do what to a queue: every SQS operation asks here before it acts.

The decision is the policy engine's (``Authorizer.decide``): the caller's identity
policies (from IAM, once it provides them) and the queue's ``Policy`` attribute, with
AWS's rules — the account root may do anything in its own account; another account's
principal needs the queue policy to allow it (and its own account to allow it too); a
service principal such as ``sns.amazonaws.com`` has only the queue policy. The queue's
tags are the ``aws:ResourceTag/<key>`` condition keys of every operation on it (CreateQueue
has ``aws:RequestTag`` instead: the queue does not exist yet).

Batch operations are authorized as their single forms ("Amazon SQS API permissions"):
``SendMessageBatch`` needs ``sqs:SendMessage``, and so on.

A service principal sending on behalf of a source (SNS delivering a topic's messages) is
decided once per (queue record, principal, source) and the decision kept with the cached
queue record: nothing else enters that decision (a service principal has no identity
policies and no network), so it can only change with the record — unless the queue
policy tests the time, in which case every send is decided afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cipherpost.context import Caller, RequestContext
from cipherpost.errors import AccessDenied
from cipherpost.policy import ContextValue, Decision
from cipherpost.services.authz import Authorizer
from cipherpost.services.sqs.queues import Queue

#: Batch operations and the action they are authorized as.
ACTION_OF: Final[Mapping[str, str]] = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}

#: Service decisions remembered per queue record (distinct sources sending to one queue).
_MEMO_LIMIT: Final = 256

#: Actions AddPermission may grant ("AddPermission": any SQS action but these, or ``*``).
GRANTABLE: Final = frozenset({
    "*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes",
    "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags", "StartMessageMoveTask",
    "ListMessageMoveTasks", "CancelMessageMoveTask", "SendMessageBatch", "DeleteMessageBatch",
    "ChangeMessageVisibilityBatch",
})


#: "Cross-account permissions don't apply to this action" (SQS API reference): only the
#: queue owner's account may call these, whatever the queue policy says.
OWNER_ONLY: Final = frozenset({
    "AddPermission", "RemovePermission", "SetQueueAttributes", "DeleteQueue", "TagQueue", "UntagQueue",
    "ListQueueTags",
})


def action_for(operation: str) -> str:
    """The IAM action an SQS operation is authorized as (``sqs:SendMessage``)."""
    return "sqs:" + ACTION_OF.get(operation, operation)


class QueueAccess:
    """Authorization of queue operations (see the module docstring)."""

    def __init__(self, authz: Authorizer) -> None:
        self.authz = authz

    async def check(self, ctx: RequestContext, queue: Queue, *, operation: str | None = None,
                    caller: Caller | None = None, context: Mapping[str, ContextValue] | None = None) -> None:
        """Raise SQS's ``AccessDenied`` unless the caller may perform ``operation`` on ``queue``."""
        name = operation or ctx.operation
        who = caller or ctx.caller
        if name in OWNER_ONLY and who.account_id != queue.ref.account_id:
            denied = self.authz.denied.get("sqs", AccessDenied)
            raise denied(f"{who.arn} is not authorized to perform: {action_for(name)} on resource: {queue.arn} "
                         f"because cross-account permissions do not apply to this action")
        decision = await self.authz.decide(
            ctx, action_for(name), queue.arn, caller=caller, resource_policy=queue.policy,
            resource_account=queue.ref.account_id, context=context, resource_tags=queue.tags)
        self.authz.enforce(ctx, decision)

    async def check_service(self, ctx: RequestContext, queue: Queue, caller: Caller, source_arn: str,
                            source_account: str) -> None:
        """``check`` of ``sqs:SendMessage`` for a service principal acting for ``source_arn``
        (``aws:SourceArn``, ``aws:SourceAccount``), remembered with the queue record."""
        memo = queue.service_decisions
        key = (caller.arn, source_arn, source_account)
        decision: Decision | None = memo.get(key) if memo is not None else None
        if decision is None:
            decision = await self.authz.decide(
                ctx, "sqs:SendMessage", queue.arn, caller=caller, resource_policy=queue.policy,
                resource_account=queue.ref.account_id, resource_tags=queue.tags,
                context={"aws:SourceArn": source_arn, "aws:SourceAccount": source_account})
            if memo is not None and len(memo) < _MEMO_LIMIT:
                memo[key] = decision
        self.authz.enforce(ctx, decision)

    async def check_account(self, ctx: RequestContext, resource: str, *, operation: str | None = None) -> None:
        """Authorize an operation on the caller's own account (CreateQueue, ListQueues)."""
        decision = await self.authz.decide(ctx, action_for(operation or ctx.operation), resource,
                                           resource_account=ctx.caller.account_id)
        self.authz.enforce(ctx, decision)
