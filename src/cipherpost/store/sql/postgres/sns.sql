-- PostgreSQL texts of SNS queries (see sql/core.sql for the format): row locks so that
-- the delivery workers of several nodes lease different outbox rows without waiting.

-- name: sns_outbox_claim
-- As the portable text, but candidates are picked once (a materialized CTE) and SKIP LOCKED.
WITH picked AS (
    SELECT o.delivery_id FROM sns_outbox o
    WHERE o.next_attempt_at <= :now AND NOT EXISTS (
        SELECT 1 FROM sns_outbox p
        WHERE o.group_id IS NOT NULL AND p.subscription_arn = o.subscription_arn AND p.group_id = o.group_id
          AND p.seq < o.seq)
    ORDER BY o.next_attempt_at, o.seq LIMIT :n
    FOR UPDATE SKIP LOCKED)
UPDATE sns_outbox m SET next_attempt_at = :lease_until, attempts = m.attempts + 1
FROM picked WHERE m.delivery_id = picked.delivery_id
RETURNING m.delivery_id, m.message_id, m.subscription_arn, m.attempts, m.created_at, m.target;
