-- SNS named queries (component "sns"; schema in migrations/sns.sql). Times are epoch ms.
-- The outbox is claimed with one statement (a lease: next_attempt_at moves past the lease)
-- so a PostgreSQL override can add FOR UPDATE SKIP LOCKED to its inner SELECT.

-- name: sns_topic_get
-- One topic by ARN.
SELECT topic_arn, account_id, topic_name, attributes, tags, data_protection_policy, created_at, last_seq,
       deleted_subscriptions
FROM sns_topics WHERE topic_arn = :topic_arn;

-- name: sns_topic_insert
-- Create a topic (the primary key refuses a second one).
INSERT INTO sns_topics (topic_arn, account_id, topic_name, attributes, tags, data_protection_policy, created_at,
                        last_seq, deleted_subscriptions)
VALUES (:topic_arn, :account_id, :topic_name, :attributes, :tags, NULL, :created_at, 0, 0);

-- name: sns_topic_list
-- An account's topic ARNs after a given ARN (pagination), in ARN order.
SELECT topic_arn FROM sns_topics WHERE account_id = :account_id AND topic_arn > :after
ORDER BY topic_arn LIMIT :limit;

-- name: sns_topic_set_attributes
-- Replace a topic's attributes.
UPDATE sns_topics SET attributes = :attributes WHERE topic_arn = :topic_arn;

-- name: sns_topic_set_tags
-- Replace a topic's tags.
UPDATE sns_topics SET tags = :tags WHERE topic_arn = :topic_arn;

-- name: sns_topic_set_data_protection
-- Replace a topic's data protection policy.
UPDATE sns_topics SET data_protection_policy = :policy WHERE topic_arn = :topic_arn;

-- name: sns_topic_delete
-- Remove a topic record.
DELETE FROM sns_topics WHERE topic_arn = :topic_arn;

-- name: sns_topic_count_deleted
-- Count a removed subscription in the topic's SubscriptionsDeleted.
UPDATE sns_topics SET deleted_subscriptions = deleted_subscriptions + :count WHERE topic_arn = :topic_arn;

-- name: sns_subscription_counts
-- Confirmed and pending subscriptions of a topic.
SELECT status, COUNT(*) AS n FROM sns_subscriptions WHERE topic_arn = :topic_arn GROUP BY status;

-- name: sns_subscription_get
-- One subscription by ARN.
SELECT subscription_arn, topic_arn, owner_account, protocol, endpoint, status, token, token_expires_at,
       authenticated_unsubscribe, attributes, principal_arn, created_at
FROM sns_subscriptions WHERE subscription_arn = :subscription_arn;

-- name: sns_subscription_find
-- The subscription of an endpoint to a topic over a protocol, if any.
SELECT subscription_arn, topic_arn, owner_account, protocol, endpoint, status, token, token_expires_at,
       authenticated_unsubscribe, attributes, principal_arn, created_at
FROM sns_subscriptions WHERE topic_arn = :topic_arn AND protocol = :protocol AND endpoint = :endpoint;

-- name: sns_subscription_by_token
-- The subscription a confirmation token belongs to (a token is unguessable and names one).
SELECT subscription_arn, topic_arn, owner_account, protocol, endpoint, status, token, token_expires_at,
       authenticated_unsubscribe, attributes, principal_arn, created_at
FROM sns_subscriptions WHERE token = :token;

-- name: sns_unsubscribed_insert
-- Keep a subscription about to be deleted restorable with :token until :expires_at.
INSERT INTO sns_unsubscribed (token, subscription_arn, topic_arn, owner_account, protocol, endpoint,
                              authenticated_unsubscribe, attributes, principal_arn, created_at, expires_at)
SELECT :token, subscription_arn, topic_arn, owner_account, protocol, endpoint, authenticated_unsubscribe,
       attributes, principal_arn, created_at, :expires_at
FROM sns_subscriptions WHERE subscription_arn = :subscription_arn;

-- name: sns_unsubscribed_by_token
-- The restorable subscription an UnsubscribeConfirmation's token names.
SELECT subscription_arn, topic_arn, protocol, endpoint, expires_at FROM sns_unsubscribed WHERE token = :token;

-- name: sns_unsubscribed_restore
-- Restore an unsubscribed subscription, confirmed, under its old ARN.
INSERT INTO sns_subscriptions (subscription_arn, topic_arn, owner_account, protocol, endpoint, status, token,
                               token_expires_at, authenticated_unsubscribe, attributes, principal_arn, created_at)
SELECT subscription_arn, topic_arn, owner_account, protocol, endpoint, 'confirmed', NULL, NULL,
       authenticated_unsubscribe, attributes, principal_arn, created_at
FROM sns_unsubscribed WHERE token = :token;

-- name: sns_unsubscribed_delete
-- Forget a restorable subscription (restored, or superseded).
DELETE FROM sns_unsubscribed WHERE token = :token;

-- name: sns_unsubscribed_delete_of_topic
-- Forget the restorable subscriptions of a deleted topic.
DELETE FROM sns_unsubscribed WHERE topic_arn = :topic_arn;

-- name: sns_unsubscribed_sweep
-- Forget restorable subscriptions whose token expired.
DELETE FROM sns_unsubscribed WHERE expires_at <= :now;

-- name: sns_subscription_insert
-- Create a subscription.
INSERT INTO sns_subscriptions (subscription_arn, topic_arn, owner_account, protocol, endpoint, status, token,
                               token_expires_at, authenticated_unsubscribe, attributes, principal_arn, created_at)
VALUES (:subscription_arn, :topic_arn, :owner_account, :protocol, :endpoint, :status, :token, :token_expires_at,
        0, :attributes, :principal_arn, :created_at);

-- name: sns_subscription_confirm
-- Confirm a pending subscription.
UPDATE sns_subscriptions SET status = 'confirmed', authenticated_unsubscribe = :authenticated
WHERE subscription_arn = :subscription_arn;

-- name: sns_subscription_set_attributes
-- Replace a subscription's attributes.
UPDATE sns_subscriptions SET attributes = :attributes WHERE subscription_arn = :subscription_arn;

-- name: sns_subscription_delete
-- Remove a subscription.
DELETE FROM sns_subscriptions WHERE subscription_arn = :subscription_arn;

-- name: sns_subscriptions_of_topic
-- A topic's subscriptions after a given ARN (pagination), in ARN order.
SELECT subscription_arn, topic_arn, owner_account, protocol, endpoint, status, token, token_expires_at,
       authenticated_unsubscribe, attributes, principal_arn, created_at
FROM sns_subscriptions WHERE topic_arn = :topic_arn AND subscription_arn > :after
ORDER BY subscription_arn LIMIT :limit;

-- name: sns_subscriptions_of_account
-- Subscriptions owned by an account, or to its topics, after a given ARN, in ARN order.
SELECT subscription_arn, topic_arn, owner_account, protocol, endpoint, status, token, token_expires_at,
       authenticated_unsubscribe, attributes, principal_arn, created_at
FROM sns_subscriptions WHERE (owner_account = :account_id OR topic_arn LIKE :topic_prefix)
  AND subscription_arn > :after
ORDER BY subscription_arn LIMIT :limit;

-- name: sns_subscriptions_delete_of_topic
-- Remove every subscription of a deleted topic.
DELETE FROM sns_subscriptions WHERE topic_arn = :topic_arn;

-- name: sns_message_insert
-- Store an accepted message.
INSERT INTO sns_messages (message_id, topic_arn, kind, body, body_encoding, subject, message_attributes,
                          message_structure, group_id, dedup_id, seq, signature_version, published_at, trace_header)
VALUES (:message_id, :topic_arn, :kind, :body, :body_encoding, :subject, :message_attributes, :message_structure,
        :group_id, :dedup_id, :seq, :signature_version, :published_at, :trace_header);

-- name: sns_message_insert_fifo
-- FIFO: store an accepted message under the sequence number just taken, only if it won its deduplication id.
INSERT INTO sns_messages (message_id, topic_arn, kind, body, body_encoding, subject, message_attributes,
                          message_structure, group_id, dedup_id, seq, signature_version, published_at, trace_header)
SELECT :message_id, t.topic_arn, :kind, :body, :body_encoding, :subject, :message_attributes, :message_structure,
       :group_id, :dedup_id, t.last_seq, :signature_version, :published_at, :trace_header
FROM sns_topics t WHERE t.topic_arn = :topic_arn AND EXISTS (
    SELECT 1 FROM sns_dedup d WHERE d.topic_arn = :topic_arn AND d.dedup_id = :dedup_id
                                AND d.message_id = :message_id)
RETURNING seq;

-- name: sns_message_get
-- One stored message.
SELECT message_id, topic_arn, kind, body, body_encoding, subject, message_attributes, message_structure, group_id,
       dedup_id, seq, signature_version, published_at, trace_header
FROM sns_messages WHERE message_id = :message_id;

-- name: sns_message_delete_if_done
-- Forget a message once no delivery of it is left.
DELETE FROM sns_messages WHERE message_id = :message_id
  AND NOT EXISTS (SELECT 1 FROM sns_outbox WHERE message_id = :message_id);

-- name: sns_dedup_get
-- FIFO: the message that holds a deduplication id, while its 5-minute interval lasts.
SELECT message_id, seq FROM sns_dedup
WHERE topic_arn = :topic_arn AND dedup_id = :dedup_id AND expires_at > :now;

-- name: sns_dedup_expire
-- FIFO: forget a deduplication id whose interval has passed.
DELETE FROM sns_dedup WHERE topic_arn = :topic_arn AND dedup_id = :dedup_id AND expires_at <= :now;

-- name: sns_dedup_claim
-- FIFO: claim a deduplication id; nothing happens when another message holds it.
INSERT INTO sns_dedup (topic_arn, dedup_id, message_id, seq, expires_at)
VALUES (:topic_arn, :dedup_id, :message_id, 0, :expires_at)
ON CONFLICT (topic_arn, dedup_id) DO NOTHING;

-- name: sns_dedup_set_seq
-- FIFO: record the sequence number of the message that won its deduplication id.
UPDATE sns_dedup SET seq = (SELECT last_seq FROM sns_topics WHERE topic_arn = :topic_arn)
WHERE topic_arn = :topic_arn AND dedup_id = :dedup_id AND message_id = :message_id;

-- name: sns_topic_next_seq_claimed
-- FIFO: take the next sequence number only if this message won its deduplication id.
UPDATE sns_topics SET last_seq = last_seq + 1
WHERE topic_arn = :topic_arn AND EXISTS (
    SELECT 1 FROM sns_dedup d WHERE d.topic_arn = :topic_arn AND d.dedup_id = :dedup_id
                                AND d.message_id = :message_id);

-- name: sns_dedup_sweep
-- Forget every expired deduplication id.
DELETE FROM sns_dedup WHERE expires_at <= :now;

-- name: sns_outbox_insert
-- One delivery of a message to a subscription, due at once; none if the message was not stored.
INSERT INTO sns_outbox (delivery_id, message_id, subscription_arn, group_id, seq, attempts, next_attempt_at,
                        created_at, target)
SELECT :delivery_id, message_id, :subscription_arn, group_id, seq, 0, :now, :now, :target
FROM sns_messages WHERE message_id = :message_id;

-- name: sns_outbox_claim
-- Lease due deliveries (up to :n); FIFO deliveries wait for earlier ones of their group.
UPDATE sns_outbox SET next_attempt_at = :lease_until, attempts = attempts + 1
WHERE delivery_id IN (
    SELECT o.delivery_id FROM sns_outbox o
    WHERE o.next_attempt_at <= :now AND NOT EXISTS (
        SELECT 1 FROM sns_outbox p
        WHERE o.group_id IS NOT NULL AND p.subscription_arn = o.subscription_arn AND p.group_id = o.group_id
          AND p.seq < o.seq)
    ORDER BY o.next_attempt_at, o.seq LIMIT :n)
RETURNING delivery_id, message_id, subscription_arn, attempts, created_at, target;

-- name: sns_outbox_done
-- A delivery finished (delivered, dead-lettered, or given up).
DELETE FROM sns_outbox WHERE delivery_id = :delivery_id;

-- name: sns_outbox_retry
-- Schedule the next attempt of a failed delivery.
UPDATE sns_outbox SET next_attempt_at = :next_attempt_at WHERE delivery_id = :delivery_id;

-- name: sns_outbox_count
-- Deliveries still to be made (for tests and operators).
SELECT COUNT(*) AS n FROM sns_outbox;
