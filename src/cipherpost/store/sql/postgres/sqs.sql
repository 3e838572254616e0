-- PostgreSQL texts of SQS queries (see sql/core.sql for the format): row locks so that
-- concurrent receivers on several nodes skip each other's messages instead of waiting.

-- name: sqs_queue_lock
-- Serialize FIFO receives of one queue: group state is read after this lock is held.
SELECT queue_id FROM sqs_queues WHERE queue_id = :queue_id FOR UPDATE;

-- name: sqs_receive
-- Standard queue: as the portable text, but the candidates are picked once (a materialized CTE:
-- a FOR UPDATE subquery under IN may be rescanned) and SKIP LOCKED, so concurrent receivers
-- on several nodes take different messages without waiting for each other.
WITH picked AS (
    SELECT message_id FROM sqs_messages
    WHERE queue_id = :queue_id AND visible_at <= :now AND sent_at > :expired_before
      AND receive_count < :max_receive_count
    ORDER BY seq LIMIT :n
    FOR UPDATE SKIP LOCKED)
UPDATE sqs_messages m
SET visible_at = :visible_until, receive_count = m.receive_count + 1,
    first_received_at = COALESCE(m.first_received_at, :now), receipt_token = :token
FROM picked
WHERE m.queue_id = :queue_id AND m.message_id = picked.message_id AND m.visible_at <= :now
RETURNING m.message_id, m.seq, m.body, m.body_encoding, m.md5_body, m.message_attributes, m.md5_message_attributes,
          m.system_attributes, m.md5_system_attributes, m.sender_id, m.sent_at, m.receive_count,
          m.first_received_at, m.group_id, m.dedup_id, m.dead_letter_source_arn, m.sealed_arn;
