"""Subscription handlers: Subscribe, ConfirmSubscription, Unsubscribe, ListSubscriptions,
ListSubscriptionsByTopic, Get/SetSubscriptionAttributes; and the unauthenticated
ConfirmSubscription / Unsubscribe that AWS serves at ``SubscribeURL`` / ``UnsubscribeURL``.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from collections.abc import Mapping
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.ids import random_uuid
from cipherpost.services.authz import AuthorizationError
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.sns import delivery_policy, subscriptions
from cipherpost.services.sns.core import SnsCore, check_subscription_arn, decode_token, encode_token, now_ms
from cipherpost.services.sns.errors import InvalidAttribute, InvalidParameter, NotFound
from cipherpost.services.sns.subscriptions import PENDING_ARN, Subscription
from cipherpost.services.sns.topics import Topic, parse_topic_arn
from cipherpost.store import Step

PAGE: Final = 100
CONFIRMATION: Final = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION: Final = "UnsubscribeConfirmation"
#: What AWS takes for a token's shape: hex digits (ours are 128, AWS's longer). Recorded:
#: ``randomtoken`` is ``Invalid token``, the short but hex ``abc123`` ``Invalid parameter: Token``.
_TOKEN: Final = re.compile(r"[0-9a-fA-F]{1,1024}")


class SubscriptionOperations(SnsCore):
    """Subscription handlers."""

    @operation("Subscribe")
    async def subscribe(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self.topic_for(ctx, params.get("TopicArn"), "Subscribe")
        protocol = str(params.get("Protocol") or "").lower()
        endpoint = subscriptions.check_endpoint(protocol, params.get("Endpoint"))
        if protocol == "sqs" and endpoint.endswith(".fifo") and not topic.fifo:
            raise InvalidParameter("Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not "
                                   "be subscribed to standard SNS topics")
        given = {str(k): str(v) for k, v in (params.get("Attributes") or {}).items()}
        try:
            attributes = subscriptions.merge_attributes(protocol, {}, given, endpoint=endpoint)
        except InvalidAttribute as exc:
            raise exc.in_attributes() from None
        subscriptions.check_deliverable(protocol)
        want_arn = bool(params.get("ReturnSubscriptionArn"))
        row = await self.store.fetch_one("sns_subscription_find", topic_arn=topic.arn, protocol=protocol,
                                         endpoint=endpoint)
        if row is not None:
            existing = Subscription.from_row(row)
            if not subscriptions.same_attributes(existing.attributes, {k: attributes.get(k, "") for k in given}):
                raise InvalidParameter("Invalid parameter: Attributes Reason: Subscription already exists with "
                                       "different attributes")
            return {"SubscriptionArn": existing.arn if existing.confirmed or want_arn else PENDING_ARN}
        arn = f"{topic.arn}:{uuid.uuid4()}"
        confirmed = protocol == "sqs" and subscriptions.queue_arn_account(endpoint) == ctx.caller.account_id
        token = None if confirmed else secrets.token_hex(64)
        now = now_ms()
        steps = [Step("sns_subscription_insert", {
            "subscription_arn": arn, "topic_arn": topic.arn, "owner_account": ctx.caller.account_id,
            "protocol": protocol, "endpoint": endpoint, "status": "confirmed" if confirmed else "pending",
            "token": token, "token_expires_at": None if confirmed else now + subscriptions.TOKEN_LIFETIME_MS,
            "attributes": json.dumps(attributes), "principal_arn": ctx.caller.arn, "created_at": now})]
        if token is not None:
            steps += self.confirmation_steps(topic, CONFIRMATION, arn, protocol, endpoint, token)
        await self.write_topic(topic.arn, steps)
        if token is not None:
            self.notify_worker()
        return {"SubscriptionArn": arn if confirmed or want_arn else PENDING_ARN}

    def confirmation_steps(self, topic: Topic, kind: str, subscription_arn: str, protocol: str, endpoint: str,
                           token: str) -> list[Step]:
        """Store a (Un)SubscriptionConfirmation and its one delivery."""
        message_id = random_uuid()
        now = now_ms()
        target = json.dumps({"token": token, "protocol": protocol, "endpoint": endpoint})
        return [
            Step("sns_message_insert", {
                "message_id": message_id, "topic_arn": topic.arn, "kind": kind, "body": b"",
                "body_encoding": "utf-8", "subject": None, "message_attributes": None, "message_structure": None,
                "group_id": None, "dedup_id": None, "seq": 0, "signature_version": topic.signature_version,
                "published_at": now, "trace_header": None}),
            Step("sns_outbox_insert", {"delivery_id": random_uuid(), "message_id": message_id,
                                       "subscription_arn": subscription_arn, "now": now, "target": target}),
        ]

    @operation("ConfirmSubscription")
    async def confirm_subscription(self, ctx: RequestContext, params: Params) -> Result:
        authenticate = str(params.get("AuthenticateOnUnsubscribe") or "false").lower() == "true"
        return await self._confirm(params.get("TopicArn"), params.get("Token"), authenticate)

    async def _confirm(self, topic_arn: object, token: object, authenticate: bool) -> Result:
        """The subscription ``token`` was issued for, confirmed; only that one, ever.

        As recorded against AWS: ``TopicArn`` must be a topic ARN of this region (else
        ``Invalid parameter: Topic``) but need not name the token's topic, nor one that exists
        (AWS confirms the token's subscription all the same; we ask for the same account); a
        token not shaped as one is ``Invalid token``, a well-formed token nobody holds
        ``Invalid parameter: Token``. The token of an UnsubscribeConfirmation restores the
        subscription (:meth:`_restore`).
        """
        parsed = parse_topic_arn(str(topic_arn)) if topic_arn is not None else None
        if parsed is None or parsed[0] != self.region:
            raise InvalidParameter("Invalid parameter: Topic")
        if not token:
            raise InvalidParameter("Invalid parameter: Token")
        if not _TOKEN.fullmatch(str(token)):
            raise InvalidParameter("Invalid token")
        row = await self.store.fetch_one("sns_subscription_by_token", token=str(token))
        if row is None:
            return await self._restore(str(token), parsed[1])
        subscription = Subscription.from_row(row)
        if subscription.topic_arn.split(":")[4] != parsed[1]:
            raise InvalidParameter("Invalid parameter: Token")
        topic = await self.find_topic(subscription.topic_arn)
        if topic is None:
            raise InvalidParameter("Invalid parameter: Token")
        if not subscription.confirmed:
            if subscription.token_expires_at is not None and subscription.token_expires_at < now_ms():
                raise InvalidParameter("Invalid token")
            await self.write_topic(topic.arn, [Step("sns_subscription_confirm", {
                "subscription_arn": subscription.arn, "authenticated": int(authenticate)})])
        return {"SubscriptionArn": subscription.arn}

    async def _restore(self, token: str, account: str) -> Result:
        """The SubscribeURL of an UnsubscribeConfirmation (AWS: "To cancel this operation and
        restore the subscription, visit the SubscribeURL"): the subscription comes back,
        confirmed, under its ARN; if its endpoint subscribed again since, that one stands.

        :raises InvalidParameter: ``Invalid parameter: Token`` when no restorable subscription
            of ``account`` holds ``token`` (or it expired, or its topic is gone).
        """
        row = await self.store.fetch_one("sns_unsubscribed_by_token", token=token)
        topic = None
        if row is not None and str(row["topic_arn"]).split(":")[4] == account and int(row["expires_at"]) > now_ms():
            topic = await self.find_topic(str(row["topic_arn"]))
        if row is None or topic is None:
            raise InvalidParameter("Invalid parameter: Token")
        current = await self.store.fetch_one("sns_subscription_find", topic_arn=topic.arn,
                                             protocol=row["protocol"], endpoint=row["endpoint"])
        steps = [Step("sns_unsubscribed_delete", {"token": token})]
        if current is None:
            steps.insert(0, Step("sns_unsubscribed_restore", {"token": token}))
        await self.write_topic(topic.arn, steps)
        return {"SubscriptionArn": str((current or row)["subscription_arn"])}

    @operation("Unsubscribe")
    async def unsubscribe(self, ctx: RequestContext, params: Params) -> Result:
        """Idempotent, as in AWS: a well-formed ARN of a subscription that does not exist (or
        no longer does) succeeds, once the caller may unsubscribe from its topic (or, the topic
        gone too, may act in the ARN's account)."""
        arn = check_subscription_arn(params.get("SubscriptionArn"))
        subscription = await self.find_subscription(arn)
        topic = await self.find_topic(subscription.topic_arn if subscription else arn.rpartition(":")[0])
        if topic is None:
            decision = await self.authz.decide(ctx, "sns:Unsubscribe", arn.rpartition(":")[0],
                                               resource_account=arn.split(":")[4])
            self.authz.enforce(ctx, decision)
            return {}
        await self.authorize_subscription(ctx, subscription.owner_account if subscription else "", topic,
                                          "Unsubscribe")
        if subscription is not None:
            await self._remove(subscription, topic)
        return {}

    async def _remove(self, subscription: Subscription, topic: Topic) -> None:
        steps = [Step("sns_subscription_delete", {"subscription_arn": subscription.arn}),
                 Step("sns_topic_count_deleted", {"topic_arn": topic.arn, "count": 1})]
        http = subscription.protocol in ("http", "https") and subscription.confirmed
        if http:  # a fresh token (as AWS's) restores it: see _restore
            token = secrets.token_hex(64)
            steps.insert(0, Step("sns_unsubscribed_insert", {
                "subscription_arn": subscription.arn, "token": token,
                "expires_at": now_ms() + subscriptions.TOKEN_LIFETIME_MS}))
            steps += self.confirmation_steps(topic, UNSUBSCRIBE_CONFIRMATION, subscription.arn,
                                             subscription.protocol, subscription.endpoint, token)
        await self.write_topic(topic.arn, steps)
        if http:
            self.notify_worker()

    # --- the unauthenticated URLs --------------------------------------------------------

    async def public_confirm_subscription(self, query: Mapping[str, str]) -> Result:
        """GET ``/?Action=ConfirmSubscription&TopicArn=...&Token=...`` (the ``SubscribeURL``):
        no signature needed, the token is the proof. Returns ConfirmSubscription's result."""
        return await self._confirm(query.get("TopicArn"), query.get("Token"), False)

    async def public_unsubscribe(self, query: Mapping[str, str]) -> Result:
        """GET ``/?Action=Unsubscribe&SubscriptionArn=...`` (the ``UnsubscribeURL``), refused
        with AuthorizationError when the subscription was confirmed with AuthenticateOnUnsubscribe."""
        subscription = await self.find_subscription(str(query.get("SubscriptionArn") or ""))
        if subscription is None:
            raise NotFound("Subscription does not exist")
        if subscription.authenticated_unsubscribe:
            raise AuthorizationError("This subscription requires authentication to unsubscribe.")
        topic = await self.find_topic(subscription.topic_arn)
        if topic is None:
            raise NotFound("Subscription does not exist")
        await self._remove(subscription, topic)
        return {}

    # --- listing and attributes ----------------------------------------------------------

    @operation("ListSubscriptions")
    async def list_subscriptions(self, ctx: RequestContext, params: Params) -> Result:
        account = ctx.caller.account_id
        await self.authorize_account(ctx, "ListSubscriptions", f"arn:aws:sns:{self.region}:{account}:*")
        rows = await self.store.fetch_all("sns_subscriptions_of_account", account_id=account,
                                          topic_prefix=f"arn:aws:sns:{self.region}:{account}:%",
                                          after=decode_token(params.get("NextToken")), limit=PAGE + 1)
        return _page([Subscription.from_row(row) for row in rows])

    @operation("ListSubscriptionsByTopic")
    async def list_subscriptions_by_topic(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self.topic_for(ctx, params.get("TopicArn"), "ListSubscriptionsByTopic")
        rows = await self.store.fetch_all("sns_subscriptions_of_topic", topic_arn=topic.arn,
                                          after=decode_token(params.get("NextToken")), limit=PAGE + 1)
        return _page([Subscription.from_row(row) for row in rows])

    @operation("GetSubscriptionAttributes")
    async def get_subscription_attributes(self, ctx: RequestContext, params: Params) -> Result:
        subscription, topic = await self.subscription_for(ctx, params.get("SubscriptionArn"),
                                                          "GetSubscriptionAttributes")
        attributes: dict[str, str] = {
            "SubscriptionArn": subscription.arn, "TopicArn": topic.arn, "Owner": subscription.owner_account,
            "Protocol": subscription.protocol, "Endpoint": subscription.endpoint,
            "PendingConfirmation": "false" if subscription.confirmed else "true",
            "ConfirmationWasAuthenticated": "true" if subscription.confirmed else "false",
            "RawMessageDelivery": "false", "SubscriptionPrincipal": subscription.principal_arn,
        }
        attributes |= subscription.attributes
        if "FilterPolicy" in attributes:
            attributes.setdefault("FilterPolicyScope", "MessageAttributes")
        else:  # AWS shows the scope only with a policy, even once the scope was set
            attributes.pop("FilterPolicyScope", None)
        if subscription.protocol in ("http", "https"):
            effective = delivery_policy.effective_subscription_policy(topic.attributes.get("DeliveryPolicy"),
                                                                      subscription.attributes.get("DeliveryPolicy"))
            attributes["EffectiveDeliveryPolicy"] = json.dumps(effective, separators=(",", ":"))
        return {"Attributes": attributes}

    @operation("SetSubscriptionAttributes")
    async def set_subscription_attributes(self, ctx: RequestContext, params: Params) -> Result:
        subscription, _ = await self.subscription_for(ctx, params.get("SubscriptionArn"),
                                                      "SetSubscriptionAttributes")
        name = str(params.get("AttributeName") or "")
        value = str(params.get("AttributeValue") or "")
        attributes = subscriptions.merge_attributes(subscription.protocol, subscription.attributes, {name: value},
                                                    endpoint=subscription.endpoint)
        await self.write_topic(subscription.topic_arn, [Step("sns_subscription_set_attributes", {
            "subscription_arn": subscription.arn, "attributes": json.dumps(attributes)})])
        return {}


def _page(items: list[Subscription]) -> Result:
    result: dict[str, Any] = {"Subscriptions": [_summary(item) for item in items[:PAGE]]}
    if len(items) > PAGE:
        result["NextToken"] = encode_token(items[PAGE - 1].arn)
    return result


def _summary(subscription: Subscription) -> dict[str, str]:
    return {"SubscriptionArn": subscription.arn if subscription.confirmed else "PendingConfirmation",
            "Owner": subscription.owner_account, "Protocol": subscription.protocol,
            "Endpoint": subscription.endpoint, "TopicArn": subscription.topic_arn}

