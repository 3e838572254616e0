-- SNS schema (component "sns"). Times are epoch milliseconds.
-- A published message is stored once (sns_messages) with one outbox row per subscription
-- it must reach (sns_outbox), written in the same transaction as the acceptance; a body
-- of an encrypted topic is stored as envelope ciphertext (body_encoding 'sse-v1').

-- version: 1
CREATE TABLE sns_topics (
    topic_arn      TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    topic_name     TEXT NOT NULL,
    attributes     TEXT NOT NULL,
    tags           TEXT NOT NULL,
    data_protection_policy TEXT,
    created_at     {int} NOT NULL,
    last_seq       {int} NOT NULL,
    deleted_subscriptions {int} NOT NULL
);
CREATE INDEX sns_topics_by_account ON sns_topics (account_id, topic_arn);
CREATE TABLE sns_subscriptions (
    subscription_arn TEXT PRIMARY KEY,
    topic_arn        TEXT NOT NULL,
    owner_account    TEXT NOT NULL,
    protocol         TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    status           TEXT NOT NULL,
    token            TEXT,
    token_expires_at {int},
    authenticated_unsubscribe {int} NOT NULL,
    attributes       TEXT NOT NULL,
    principal_arn    TEXT NOT NULL,
    created_at       {int} NOT NULL
);
CREATE INDEX sns_subscriptions_by_topic ON sns_subscriptions (topic_arn, subscription_arn);
CREATE INDEX sns_subscriptions_by_owner ON sns_subscriptions (owner_account, subscription_arn);
CREATE INDEX sns_subscriptions_by_endpoint ON sns_subscriptions (topic_arn, protocol, endpoint);
CREATE TABLE sns_messages (
    message_id         TEXT PRIMARY KEY,
    topic_arn          TEXT NOT NULL,
    kind               TEXT NOT NULL,
    body               {blob} NOT NULL,
    body_encoding      TEXT NOT NULL,
    subject            TEXT,
    message_attributes TEXT,
    message_structure  TEXT,
    group_id           TEXT,
    dedup_id           TEXT,
    seq                {int} NOT NULL,
    signature_version  TEXT NOT NULL,
    published_at       {int} NOT NULL
);
CREATE TABLE sns_outbox (
    delivery_id      TEXT PRIMARY KEY,
    message_id       TEXT NOT NULL,
    subscription_arn TEXT NOT NULL,
    group_id         TEXT,
    seq              {int} NOT NULL,
    attempts         {int} NOT NULL,
    next_attempt_at  {int} NOT NULL,
    created_at       {int} NOT NULL,
    target           TEXT
);
CREATE INDEX sns_outbox_by_due ON sns_outbox (next_attempt_at);
CREATE INDEX sns_outbox_by_message ON sns_outbox (message_id);
CREATE INDEX sns_outbox_by_group ON sns_outbox (subscription_arn, group_id, seq);
CREATE TABLE sns_dedup (
    topic_arn  TEXT NOT NULL,
    dedup_id   TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq        {int} NOT NULL,
    expires_at {int} NOT NULL,
    PRIMARY KEY (topic_arn, dedup_id)
);

-- version: 2
-- The X-Amzn-Trace-Id header of the Publish request (X-Ray); SQS subscriptions receive it as
-- the AWSTraceHeader system attribute of the delivered message.
ALTER TABLE sns_messages ADD COLUMN trace_header TEXT;

-- version: 3
-- ConfirmSubscription finds a subscription by its token alone (AWS confirms a token given
-- with another topic's ARN of the same account); an unsubscribed one stays restorable.
CREATE INDEX sns_subscriptions_by_token ON sns_subscriptions (token);
-- An unsubscribed HTTP/S subscription, restorable for three days with the token of its
-- UnsubscribeConfirmation (AWS: "To cancel this operation and restore the subscription,
-- visit the SubscribeURL included in this message").
CREATE TABLE sns_unsubscribed (
    token            TEXT PRIMARY KEY,
    subscription_arn TEXT NOT NULL,
    topic_arn        TEXT NOT NULL,
    owner_account    TEXT NOT NULL,
    protocol         TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    authenticated_unsubscribe {int} NOT NULL,
    attributes       TEXT NOT NULL,
    principal_arn    TEXT NOT NULL,
    created_at       {int} NOT NULL,
    expires_at       {int} NOT NULL
);
CREATE INDEX sns_unsubscribed_by_topic ON sns_unsubscribed (topic_arn);
CREATE INDEX sns_unsubscribed_by_expiry ON sns_unsubscribed (expires_at);
