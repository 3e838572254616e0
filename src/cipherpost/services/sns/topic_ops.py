"""Topic handlers: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes,
AddPermission, RemovePermission, tags, and the data protection policy."""

from __future__ import annotations

import json
from typing import Any, Final

from cipherpost.context import RequestContext
from cipherpost.services.base import Params, Result, operation
from cipherpost.services.sns import delivery_policy, topics
from cipherpost.services.sns.core import SnsCore, decode_token, encode_token, now_ms
from cipherpost.services.sns.errors import InvalidParameter, ResourceNotFound, TagLimitExceeded
from cipherpost.services.sns.topics import Topic
from cipherpost.store import Step, UniqueViolation

PAGE: Final = 100
#: AddPermission ActionName values (``Publish``, ...); the SNS actions a topic policy may grant.
GRANTABLE: Final = frozenset({"GetTopicAttributes", "SetTopicAttributes", "AddPermission", "RemovePermission",
                              "DeleteTopic", "Subscribe", "ListSubscriptionsByTopic", "Publish", "Receive"})


class TopicOperations(SnsCore):
    """Topic handlers."""

    @operation("CreateTopic")
    async def create_topic(self, ctx: RequestContext, params: Params) -> Result:
        name = str(params.get("Name") or "")
        given = {str(k): str(v) for k, v in (params.get("Attributes") or {}).items()}
        fifo_text = given.get("FifoTopic", "false").lower()
        if fifo_text not in ("true", "false"):
            raise InvalidParameter("Invalid parameter: Attributes Reason: FifoTopic: Invalid value. "
                                   "Must be true or false.")
        fifo = fifo_text == "true" or name.endswith(".fifo")
        if name.endswith(".fifo") and fifo_text != "true":
            raise InvalidParameter("Invalid parameter: Topic Name")
        topics.check_name(name, fifo=fifo)
        arn = topics.topic_arn(self.region, ctx.caller.account_id, name)
        await self.authorize_account(ctx, "CreateTopic", arn)
        attributes = topics.new_attributes(arn, ctx.caller.account_id, given)
        tags = topics.parse_tags(params.get("Tags"))
        if len(tags) > topics.MAX_TAGS:
            raise TagLimitExceeded("Could not complete request: tag quota of per resource exceeded")
        if given.get("KmsMasterKeyId"):
            await self._check_kms_key(ctx, given["KmsMasterKeyId"])
        existing = await self.find_topic(arn)
        if existing is None:
            try:
                await self.write_topic(arn, [Step("sns_topic_insert", {
                    "topic_arn": arn, "account_id": ctx.caller.account_id, "topic_name": name,
                    "attributes": json.dumps(attributes), "tags": json.dumps(tags), "created_at": now_ms()})])
                return {"TopicArn": arn}
            except UniqueViolation:
                existing = await self.find_topic(arn)
                assert existing is not None
        for key in given:
            if key != "FifoTopic" and existing.attributes.get(key, "") != attributes.get(key, ""):
                raise InvalidParameter("Invalid parameter: Attributes Reason: Topic already exists with "
                                       "different attributes")
        if tags and any(existing.tags.get(k) != v for k, v in tags.items()):
            raise InvalidParameter("Invalid parameter: Tags Reason: Topic already exists with different tags")
        return {"TopicArn": arn}

    async def _check_kms_key(self, ctx: RequestContext, key_id: str) -> None:
        """A KmsMasterKeyId must look like a key id, key ARN, alias or alias ARN (existence is
        checked at publish, as AWS does)."""
        if not key_id.strip() or any(ch.isspace() for ch in key_id):
            raise InvalidParameter("Invalid parameter: KmsMasterKeyId")
        del ctx

    @operation("DeleteTopic")
    async def delete_topic(self, ctx: RequestContext, params: Params) -> Result:
        arn = params.get("TopicArn")
        topics.require_topic_arn(arn)
        topic = await self.find_topic(str(arn))
        if topic is None:  # "DeleteTopic": idempotent; deleting a missing topic is no error
            await self.authorize_account(ctx, "DeleteTopic", str(arn))
            return {}
        await self.authorize_topic(ctx, topic, "DeleteTopic")
        await self.write_topic(topic.arn, [Step("sns_subscriptions_delete_of_topic", {"topic_arn": topic.arn}),
                                           Step("sns_unsubscribed_delete_of_topic", {"topic_arn": topic.arn}),
                                           Step("sns_topic_delete", {"topic_arn": topic.arn})])
        return {}

    @operation("ListTopics")
    async def list_topics(self, ctx: RequestContext, params: Params) -> Result:
        account = ctx.caller.account_id
        await self.authorize_account(ctx, "ListTopics", f"arn:aws:sns:{self.region}:{account}:*")
        rows = await self.store.fetch_all("sns_topic_list", account_id=account,
                                          after=decode_token(params.get("NextToken")), limit=PAGE + 1)
        arns = [str(row["topic_arn"]) for row in rows]
        result: dict[str, Any] = {"Topics": [{"TopicArn": arn} for arn in arns[:PAGE]]}
        if len(arns) > PAGE:
            result["NextToken"] = encode_token(arns[PAGE - 1])
        return result

    @operation("GetTopicAttributes")
    async def get_topic_attributes(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self.topic_for(ctx, params.get("TopicArn"), "GetTopicAttributes")
        counts = {str(row["status"]): int(row["n"]) for row in
                  await self.store.fetch_all("sns_subscription_counts", topic_arn=topic.arn)}
        attributes = {k: v for k, v in topic.attributes.items() if k != "DataProtectionPolicy"}
        attributes |= {
            "TopicArn": topic.arn,
            "Owner": topic.account_id,
            "SubscriptionsConfirmed": str(counts.get("confirmed", 0)),
            "SubscriptionsPending": str(counts.get("pending", 0)),
            "SubscriptionsDeleted": str(topic.deleted_subscriptions),
            "EffectiveDeliveryPolicy": json.dumps(
                delivery_policy.effective_topic_policy(topic.attributes.get("DeliveryPolicy")),
                separators=(",", ":")),
        }
        if not attributes.get("DeliveryPolicy"):
            attributes.pop("DeliveryPolicy", None)
        return {"Attributes": attributes}  # (like AWS, no SignatureVersion until one is set)

    @operation("SetTopicAttributes")
    async def set_topic_attributes(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self.topic_for(ctx, params.get("TopicArn"), "SetTopicAttributes")
        name = str(params.get("AttributeName") or "")
        value = str(params.get("AttributeValue") or "")
        if name == "FifoTopic":
            raise InvalidParameter("Invalid parameter: AttributeName")  # (AWS: only at creation)
        if name == "KmsMasterKeyId" and value:
            await self._check_kms_key(ctx, value)
        checked = topics.check_attribute(name, value, fifo=topic.fifo, arn=topic.arn)
        attributes = dict(topic.attributes)
        if name == "Policy" and not checked:
            attributes["Policy"] = topics.default_policy(topic.arn, topic.account_id)
        elif checked == "" and name not in ("DisplayName",):
            attributes.pop(name, None)
        else:
            attributes[name] = checked
        await self.write_topic(topic.arn, [Step("sns_topic_set_attributes", {
            "topic_arn": topic.arn, "attributes": json.dumps(attributes)})])
        return {}

    @operation("AddPermission")
    async def add_permission(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self.topic_for(ctx, params.get("TopicArn"), "AddPermission")
        label = str(params.get("Label") or "")
        accounts = [str(a) for a in params.get("AWSAccountId") or ()]
        actions = [str(a) for a in params.get("ActionName") or ()]
        if not label or not accounts or not actions:
            raise InvalidParameter("Invalid parameter: Label, AWSAccountId and ActionName are required")
        unknown = [a for a in actions if a not in GRANTABLE and a != "*"]
        if unknown:
            raise InvalidParameter("Invalid parameter: Policy statement action out of service scope!")
        document = json.loads(topic.attributes["Policy"])
        statements = document.setdefault("Statement", [])
        if isinstance(statements, dict):
            statements = document["Statement"] = [statements]
        if any(s.get("Sid") == label for s in statements):
            raise InvalidParameter("Invalid parameter: Statement already exists")
        # AWS writes a single principal or action as a string, several as a list.
        principals = [f"arn:aws:iam::{a}:root" if a.isdigit() else a for a in accounts]
        granted = [f"SNS:{a}" for a in actions]
        statements.append({"Sid": label, "Effect": "Allow",
                           "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
                           "Action": granted[0] if len(granted) == 1 else granted, "Resource": topic.arn})
        await self._store_policy(topic, document)
        return {}

    @operation("RemovePermission")
    async def remove_permission(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self.topic_for(ctx, params.get("TopicArn"), "RemovePermission")
        label = str(params.get("Label") or "")
        document = json.loads(topic.attributes["Policy"])
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        kept = [s for s in statements if s.get("Sid") != label]
        if len(kept) == len(statements):
            raise InvalidParameter(f"Invalid parameter: Label Reason: No permission with label {label} exists")
        document["Statement"] = kept
        await self._store_policy(topic, document)
        return {}

    async def _store_policy(self, topic: Topic, document: dict[str, Any]) -> None:
        attributes = dict(topic.attributes)
        attributes["Policy"] = json.dumps(document, separators=(",", ":"))
        if document["Statement"]:
            topics.check_attribute("Policy", attributes["Policy"], fifo=topic.fifo, arn=topic.arn)
        await self.write_topic(topic.arn, [Step("sns_topic_set_attributes", {
            "topic_arn": topic.arn, "attributes": json.dumps(attributes)})])

    async def _tagged(self, ctx: RequestContext, arn: object, action: str) -> Topic:
        if not arn or topics.parse_topic_arn(str(arn)) is None:
            raise ResourceNotFound("Resource does not exist")
        topic = await self.find_topic(str(arn))
        if topic is None:
            raise ResourceNotFound("Resource does not exist")
        await self.authorize_topic(ctx, topic, action)
        return topic

    @operation("TagResource")
    async def tag_resource(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self._tagged(ctx, params.get("ResourceArn"), "TagResource")
        tags = topic.tags | topics.parse_tags(params.get("Tags"))
        if len(tags) > topics.MAX_TAGS:
            raise TagLimitExceeded("Could not complete request: tag quota of per resource exceeded")
        await self._set_tags(topic, tags)
        return {}

    @operation("UntagResource")
    async def untag_resource(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self._tagged(ctx, params.get("ResourceArn"), "UntagResource")
        doomed = {str(k) for k in params.get("TagKeys") or ()}
        tags = {k: v for k, v in topic.tags.items() if k not in doomed}
        await self._set_tags(topic, tags)
        return {}

    @operation("ListTagsForResource")
    async def list_tags_for_resource(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self._tagged(ctx, params.get("ResourceArn"), "ListTagsForResource")
        return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(topic.tags.items())]}

    @operation("GetDataProtectionPolicy")
    async def get_data_protection_policy(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self._tagged(ctx, params.get("ResourceArn"), "GetDataProtectionPolicy")
        return {"DataProtectionPolicy": topic.data_protection_policy or ""}

    @operation("PutDataProtectionPolicy")
    async def put_data_protection_policy(self, ctx: RequestContext, params: Params) -> Result:
        topic = await self._tagged(ctx, params.get("ResourceArn"), "PutDataProtectionPolicy")
        text = str(params.get("DataProtectionPolicy") or "")
        if text:
            topics.check_data_protection_policy(text)
        await self.write_topic(topic.arn, [Step("sns_topic_set_data_protection", {
            "topic_arn": topic.arn, "policy": text or None})])
        return {}

    async def _set_tags(self, topic: Topic, tags: dict[str, str]) -> None:
        await self.write_topic(topic.arn, [Step("sns_topic_set_tags", {"topic_arn": topic.arn,
                                                                        "tags": json.dumps(tags)})])
