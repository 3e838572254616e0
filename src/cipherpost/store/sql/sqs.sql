-- SQS named queries (component "sqs"; schema in migrations/sqs.sql). Times are epoch ms
-- unless a column says *_at_s. The message queries keep "receive" as one statement so a
-- PostgreSQL override can add FOR UPDATE SKIP LOCKED to its inner SELECT.

-- name: sqs_queue_get
-- One queue by account and name.
SELECT queue_id, account_id, queue_name, attributes, tags, created_at_s, modified_at_s, purged_at, last_seq,
       dead_letter_target
FROM sqs_queues WHERE account_id = :account_id AND queue_name = :queue_name;

-- name: sqs_queue_insert
-- Create a queue (the unique index on account and name refuses a second one).
INSERT INTO sqs_queues (queue_id, account_id, queue_name, attributes, tags, created_at_s, modified_at_s, purged_at,
                        last_seq, dead_letter_target)
VALUES (:queue_id, :account_id, :queue_name, :attributes, :tags, :created_at_s, :created_at_s, 0, 0,
        :dead_letter_target);

-- name: sqs_queue_list
-- Names of an account's queues starting with a prefix, after a name (pagination), in name order.
SELECT queue_name FROM sqs_queues
WHERE account_id = :account_id AND substr(queue_name, 1, :prefix_length) = :prefix AND queue_name > :after
ORDER BY queue_name LIMIT :limit;

-- name: sqs_queue_set_attributes
-- Replace a queue's settable attributes (and the dead-letter target derived from them).
UPDATE sqs_queues SET attributes = :attributes, modified_at_s = :modified_at_s,
                      dead_letter_target = :dead_letter_target
WHERE queue_id = :queue_id;

-- name: sqs_queue_set_tags
-- Replace a queue's tags.
UPDATE sqs_queues SET tags = :tags WHERE queue_id = :queue_id;

-- name: sqs_queue_delete
-- Remove a queue record.
DELETE FROM sqs_queues WHERE queue_id = :queue_id;

-- name: sqs_queue_delete_messages
-- Remove every message of a queue (queue deletion).
DELETE FROM sqs_messages WHERE queue_id = :queue_id;

-- name: sqs_queue_delete_dedup
-- Remove a queue's deduplication records (queue deletion, PurgeQueue).
DELETE FROM sqs_dedup WHERE queue_id = :queue_id;

-- name: sqs_deleted_put
-- Remember when a queue name was deleted (CreateQueue refuses it for 60 seconds).
INSERT INTO sqs_deleted_queues (account_id, queue_name, deleted_at) VALUES (:account_id, :queue_name, :deleted_at)
ON CONFLICT (account_id, queue_name) DO UPDATE SET deleted_at = excluded.deleted_at;

-- name: sqs_deleted_get
-- When a queue name was last deleted, if it was.
SELECT deleted_at FROM sqs_deleted_queues WHERE account_id = :account_id AND queue_name = :queue_name;

-- name: sqs_deleted_sweep
-- Forget deletions older than the 60-second wait.
DELETE FROM sqs_deleted_queues WHERE deleted_at <= :before;

-- name: sqs_dead_letter_sources
-- Queues whose RedrivePolicy names a dead-letter queue, in name order.
SELECT account_id, queue_name FROM sqs_queues WHERE dead_letter_target = :arn ORDER BY queue_name, account_id;

-- name: sqs_queue_ids
-- Every queue with its attributes (for the retention sweeper).
SELECT queue_id, attributes FROM sqs_queues;

-- name: sqs_queue_purge
-- Record a purge (PurgeQueueInProgress for 60 seconds).
UPDATE sqs_queues SET purged_at = :now WHERE queue_id = :queue_id;

-- name: sqs_messages_purge
-- Delete every message sent before a purge.
DELETE FROM sqs_messages WHERE queue_id = :queue_id AND sent_at <= :now;

-- name: sqs_queue_next_seq
-- Take the queue's next sequence number (read back by the insert that follows in the same transaction).
UPDATE sqs_queues SET last_seq = last_seq + 1 WHERE queue_id = :queue_id;

-- name: sqs_message_insert
-- Store a sent message under the sequence number just taken; no row if the queue is gone.
INSERT INTO sqs_messages (queue_id, message_id, seq, body, body_encoding, md5_body, message_attributes,
                          md5_message_attributes, system_attributes, md5_system_attributes, sender_id, sent_at,
                          visible_at, receive_count, group_id, dedup_id, dead_letter_source_arn, sealed_arn)
SELECT queue_id, :message_id, last_seq, :body, :body_encoding, :md5_body, :message_attributes,
       :md5_message_attributes, :system_attributes, :md5_system_attributes, :sender_id, :sent_at,
       :visible_at, 0, :group_id, :dedup_id, :dead_letter_source_arn, :sealed_arn
FROM sqs_queues WHERE queue_id = :queue_id
RETURNING seq;

-- name: sqs_message_insert_standard
-- Standard queue: sqs_message_insert without RETURNING (nobody reports the sequence number of a
-- standard message); the row count says whether it was stored (0: the queue is gone).
INSERT INTO sqs_messages (queue_id, message_id, seq, body, body_encoding, md5_body, message_attributes,
                          md5_message_attributes, system_attributes, md5_system_attributes, sender_id, sent_at,
                          visible_at, receive_count, group_id, dedup_id, dead_letter_source_arn, sealed_arn)
SELECT queue_id, :message_id, last_seq, :body, :body_encoding, :md5_body, :message_attributes,
       :md5_message_attributes, :system_attributes, :md5_system_attributes, :sender_id, :sent_at,
       :visible_at, 0, :group_id, :dedup_id, :dead_letter_source_arn, :sealed_arn
FROM sqs_queues WHERE queue_id = :queue_id;

-- name: sqs_dedup_expire
-- FIFO: forget a deduplication id whose 5-minute interval has passed.
DELETE FROM sqs_dedup WHERE queue_id = :queue_id AND dedup_key = :dedup_key AND expires_at <= :sent_at;

-- name: sqs_dedup_claim
-- FIFO: claim a deduplication id for a message; no row when it is taken, or when the other
-- scope's key of the id is held and unexpired (a duplicate: messages.dedup_keys).
INSERT INTO sqs_dedup (queue_id, dedup_key, message_id, expires_at)
SELECT :queue_id, :dedup_key, :message_id, :dedup_expires_at
WHERE NOT EXISTS (SELECT 1 FROM sqs_dedup o
                  WHERE o.queue_id = :queue_id AND o.dedup_key = :other_key AND o.expires_at > :sent_at)
ON CONFLICT (queue_id, dedup_key) DO NOTHING;

-- name: sqs_queue_next_seq_claimed
-- FIFO: take the next sequence number only if this message won its deduplication id.
UPDATE sqs_queues SET last_seq = last_seq + 1
WHERE queue_id = :queue_id AND EXISTS (
    SELECT 1 FROM sqs_dedup d WHERE d.queue_id = :queue_id AND d.dedup_key = :dedup_key
                                AND d.message_id = :message_id);

-- name: sqs_message_insert_claimed
-- FIFO: store the message only if it won its deduplication id.
INSERT INTO sqs_messages (queue_id, message_id, seq, body, body_encoding, md5_body, message_attributes,
                          md5_message_attributes, system_attributes, md5_system_attributes, sender_id, sent_at,
                          visible_at, receive_count, group_id, dedup_id, dead_letter_source_arn, sealed_arn)
SELECT q.queue_id, :message_id, q.last_seq, :body, :body_encoding, :md5_body, :message_attributes,
       :md5_message_attributes, :system_attributes, :md5_system_attributes, :sender_id, :sent_at,
       :visible_at, 0, :group_id, :dedup_id, :dead_letter_source_arn, :sealed_arn
FROM sqs_queues q WHERE q.queue_id = :queue_id AND EXISTS (
    SELECT 1 FROM sqs_dedup d WHERE d.queue_id = :queue_id AND d.dedup_key = :dedup_key
                                AND d.message_id = :message_id)
RETURNING seq;

-- name: sqs_dedup_set_seq
-- FIFO: remember the sequence number a deduplication id was given (duplicates report it).
UPDATE sqs_dedup SET seq = (SELECT last_seq FROM sqs_queues WHERE queue_id = :queue_id)
WHERE queue_id = :queue_id AND dedup_key = :dedup_key AND message_id = :message_id;

-- name: sqs_dedup_get
-- FIFO: the message that holds a deduplication id (under the queue's scope, else the other's).
SELECT message_id, seq FROM sqs_dedup
WHERE queue_id = :queue_id AND dedup_key IN (:dedup_key, :other_key) AND expires_at > :sent_at
ORDER BY CASE WHEN dedup_key = :dedup_key THEN 0 ELSE 1 END LIMIT 1;

-- name: sqs_dedup_sweep
-- Forget deduplication ids past their interval.
DELETE FROM sqs_dedup WHERE expires_at <= :now;

-- name: sqs_queue_lock
-- Serialize FIFO receives of one queue (PostgreSQL locks the row; SQLite's writer is serial anyway).
SELECT queue_id FROM sqs_queues WHERE queue_id = :queue_id;

-- name: sqs_receive
-- Standard queue: take up to :n visible, unexpired messages (oldest first) in flight until :visible_until.
-- `+visible_at` keeps SQLite off the visibility index: the inner SELECT walks (queue_id, seq) in order
-- and stops after :n, the outer UPDATE finds its rows by primary key; neither scans every visible
-- message of a deep queue on each receive.
-- The outer `visible_at <= :now` matters on PostgreSQL: a row another receive took meanwhile
-- fails the re-check and is not delivered twice.
UPDATE sqs_messages
SET visible_at = :visible_until, receive_count = receive_count + 1,
    first_received_at = COALESCE(first_received_at, :now), receipt_token = :token
WHERE queue_id = :queue_id AND +visible_at <= :now AND message_id IN (
    SELECT message_id FROM sqs_messages
    WHERE queue_id = :queue_id AND +visible_at <= :now AND sent_at > :expired_before
      AND receive_count < :max_receive_count
    ORDER BY seq LIMIT :n)
RETURNING message_id, seq, body, body_encoding, md5_body, message_attributes, md5_message_attributes,
          system_attributes, md5_system_attributes, sender_id, sent_at, receive_count, first_received_at,
          group_id, dedup_id, dead_letter_source_arn, sealed_arn;

-- name: sqs_receive_fifo
-- FIFO queue: take up to :n available messages in flight, one message group at a time ("Amazon
-- SQS FIFO queue logic": a receive returns as many messages of one group as it can before the
-- next group), each group's messages in order.
-- A message is available while no older message of its group is hidden (in flight or still
-- delayed): a group with a message in flight still serves its older messages that became
-- visible again, never the newer ones.
-- Groups are served in the order they became available, that is, when their head (oldest
-- message) became visible: AWS queues a group whose visibility timeout ended (or was ended by
-- ChangeMessageVisibility) behind the groups that waited meanwhile, so a group never received
-- comes before one received earlier and back since. Each message taken records that time
-- (group_available_at) so the caller can put the groups in order.
-- `h`: the groups found by two bounded walks: `a`, the first :n available messages in sequence
-- order (a group found there has its head there too: the head is older and available), and `b`,
-- the first :n heads that were received and are visible again, in the order they became
-- visible (index sqs_messages_returned); `hm`, each one's head. (When one group's backlog fills
-- `a`, groups beyond it wait for the next receive even if they waited longer: AWS promises no
-- order between groups, and walking further would read that backlog on every receive.)
-- `last`: the seq of each group's :n-th message from its head, so each group is read over at
-- most :n rows (index sqs_messages_by_group_seq) instead of its whole backlog; CROSS JOIN keeps
-- SQLite on that plan: the groups first, then each one's range.
UPDATE sqs_messages
SET visible_at = :visible_until, receive_count = receive_count + 1,
    first_received_at = COALESCE(first_received_at, :now), receipt_token = :token,
    group_available_at = picked.available_at
FROM (
    SELECT m.message_id AS picked_id, g.available_at
    FROM (SELECT heads.group_id, heads.head, heads.available_at,
                 COALESCE((SELECT x.seq FROM sqs_messages x
                           WHERE x.queue_id = :queue_id AND x.group_id = heads.group_id AND x.seq >= heads.head
                           ORDER BY x.seq LIMIT 1 OFFSET :n - 1), 9223372036854775807) AS last
          FROM (SELECT h.group_id, h.head, hm.visible_at AS available_at
                FROM (SELECT cand.group_id, MIN(cand.seq) AS head
                      FROM (SELECT * FROM (
                                SELECT c.group_id, c.seq FROM sqs_messages c
                                WHERE c.queue_id = :queue_id AND +c.visible_at <= :now
                                  AND c.sent_at > :expired_before AND c.receive_count < :max_receive_count
                                  AND NOT EXISTS (
                                      SELECT 1 FROM sqs_messages f
                                      WHERE f.queue_id = :queue_id AND f.group_id = c.group_id
                                        AND f.visible_at > :now AND f.seq < c.seq)
                                ORDER BY c.seq LIMIT :n) a
                            UNION ALL
                            SELECT * FROM (
                                SELECT r.group_id, r.seq FROM sqs_messages r
                                WHERE r.queue_id = :queue_id AND r.visible_at <= :now AND r.receive_count > 0
                                  AND r.group_id IS NOT NULL AND r.sent_at > :expired_before
                                  AND r.receive_count < :max_receive_count
                                  AND NOT EXISTS (
                                      SELECT 1 FROM sqs_messages f
                                      WHERE f.queue_id = :queue_id AND f.group_id = r.group_id AND f.seq < r.seq)
                                ORDER BY r.visible_at, r.seq LIMIT :n) b) cand
                      GROUP BY cand.group_id) h
                CROSS JOIN sqs_messages hm
                WHERE hm.queue_id = :queue_id AND hm.seq = h.head
                ORDER BY available_at, h.head LIMIT :n) heads) g
    CROSS JOIN sqs_messages m
    WHERE m.queue_id = :queue_id AND m.group_id = g.group_id AND m.seq >= g.head AND m.seq <= g.last
      AND +m.visible_at <= :now AND m.sent_at > :expired_before
      AND m.receive_count < :max_receive_count
      AND NOT EXISTS (
          SELECT 1 FROM sqs_messages f
          WHERE f.queue_id = :queue_id AND f.group_id = m.group_id AND f.visible_at > :now AND f.seq < m.seq)
    ORDER BY g.available_at, g.head, m.seq LIMIT :n) picked
WHERE sqs_messages.queue_id = :queue_id AND sqs_messages.message_id = picked.picked_id
  AND +sqs_messages.visible_at <= :now
RETURNING message_id, seq, body, body_encoding, md5_body, message_attributes, md5_message_attributes,
          system_attributes, md5_system_attributes, sender_id, sent_at, receive_count, first_received_at,
          group_id, dedup_id, dead_letter_source_arn, sealed_arn, group_available_at;

-- name: sqs_messages_by_token
-- The messages one receive took (ReceiveRequestAttemptId retries), still in flight under that receive.
SELECT message_id, seq, body, body_encoding, md5_body, message_attributes, md5_message_attributes,
       system_attributes, md5_system_attributes, sender_id, sent_at, receive_count, first_received_at,
       group_id, dedup_id, dead_letter_source_arn, sealed_arn, group_available_at
FROM sqs_messages WHERE queue_id = :queue_id AND receipt_token = :token AND visible_at > :now
ORDER BY seq;

-- name: sqs_messages_release
-- Undo a receive that failed after taking its messages (SSE: KMS refused the receiver):
-- visible again, and that receive not counted.
UPDATE sqs_messages SET visible_at = :now, receive_count = receive_count - 1, receipt_token = NULL
WHERE queue_id = :queue_id AND receipt_token = :token AND receive_count > 0;

-- name: sqs_redrive_candidates
-- Visible messages that reached maxReceiveCount: they move to the dead-letter queue.
SELECT message_id FROM sqs_messages
WHERE queue_id = :queue_id AND visible_at <= :now AND receive_count >= :max_receive_count
ORDER BY seq LIMIT :n;

-- name: sqs_message_copy
-- Copy a message into another queue under its next sequence number (dead-letter move, move task);
-- no row if that queue is gone (deleted after the caller looked it up).
-- A dead-letter move (:keep_receives = 1) keeps the receive count and first receive time, as AWS does.
INSERT INTO sqs_messages (queue_id, message_id, seq, body, body_encoding, md5_body, message_attributes,
                          md5_message_attributes, system_attributes, md5_system_attributes, sender_id, sent_at,
                          visible_at, receive_count, first_received_at, group_id, dedup_id, dead_letter_source_arn,
                          sealed_arn)
SELECT q.queue_id, m.message_id, q.last_seq,
       m.body, m.body_encoding, m.md5_body, m.message_attributes, m.md5_message_attributes, m.system_attributes,
       m.md5_system_attributes, m.sender_id, m.sent_at, :now,
       CASE WHEN :keep_receives = 1 THEN m.receive_count ELSE 0 END,
       CASE WHEN :keep_receives = 1 THEN m.first_received_at ELSE NULL END,
       m.group_id, m.dedup_id, :dead_letter_source_arn, m.sealed_arn
FROM sqs_messages m, sqs_queues q
WHERE q.queue_id = :target_queue_id AND m.queue_id = :queue_id AND m.message_id = :message_id
  AND m.visible_at <= :now AND m.receive_count >= :min_receive_count
ON CONFLICT (queue_id, message_id) DO NOTHING;

-- name: sqs_message_delete_moved
-- Remove a message from its queue once copied (same conditions as sqs_message_copy, and the copy
-- is there: a message whose target queue is gone stays where it is).
DELETE FROM sqs_messages
WHERE queue_id = :queue_id AND message_id = :message_id AND visible_at <= :now
  AND receive_count >= :min_receive_count
  AND EXISTS (SELECT 1 FROM sqs_messages t WHERE t.queue_id = :target_queue_id AND t.message_id = :message_id);

-- name: sqs_move_candidates
-- Visible messages of a queue in order, with the queue they were dead-lettered from (message move tasks).
SELECT message_id, dead_letter_source_arn FROM sqs_messages
WHERE queue_id = :queue_id AND visible_at <= :now AND sent_at > :expired_before
ORDER BY seq LIMIT :n;

-- name: sqs_message_delete
-- Delete a message by id (standard queues accept an older receipt handle of it).
DELETE FROM sqs_messages WHERE queue_id = :queue_id AND message_id = :message_id;

-- name: sqs_message_delete_exact
-- Delete a message only under its latest receipt handle, while that receive's visibility timeout
-- lasts (FIFO queues).
DELETE FROM sqs_messages
WHERE queue_id = :queue_id AND message_id = :message_id AND receipt_token = :token AND visible_at > :now;

-- name: sqs_message_change_visibility
-- Set an in-flight message's visibility deadline.
UPDATE sqs_messages SET visible_at = :visible_at
WHERE queue_id = :queue_id AND message_id = :message_id AND visible_at > :now AND receive_count > 0
  AND receipt_token = :token;

-- name: sqs_message_change_visibility_received
-- Standard queues: set a received message's visibility deadline under any of its receipt handles,
-- in flight or not (AWS answers such a change with success).
UPDATE sqs_messages SET visible_at = :visible_at
WHERE queue_id = :queue_id AND message_id = :message_id AND receive_count > 0;

-- name: sqs_message_state
-- Whether a message exists, is in flight, and under which receipt.
SELECT visible_at, receive_count, receipt_token FROM sqs_messages WHERE queue_id = :queue_id AND message_id = :message_id;

-- name: sqs_queue_counts
-- The approximate counters: visible, in flight, delayed (unexpired messages only).
SELECT COALESCE(SUM(CASE WHEN visible_at <= :now THEN 1 ELSE 0 END), 0) AS visible,
       COALESCE(SUM(CASE WHEN visible_at > :now AND receive_count > 0 THEN 1 ELSE 0 END), 0) AS in_flight,
       COALESCE(SUM(CASE WHEN visible_at > :now AND receive_count = 0 THEN 1 ELSE 0 END), 0) AS delayed
FROM sqs_messages WHERE queue_id = :queue_id AND sent_at > :expired_before;

-- name: sqs_next_visible
-- When the next hidden message of a queue becomes visible (long-poll wake-up time).
SELECT MIN(visible_at) AS next_at FROM sqs_messages WHERE queue_id = :queue_id AND visible_at > :now;

-- name: sqs_messages_expire
-- Delete a queue's messages older than its retention period.
DELETE FROM sqs_messages WHERE queue_id = :queue_id AND sent_at <= :expired_before;

-- name: sqs_move_task_insert
-- Record a new message move task.
INSERT INTO sqs_move_tasks (task_handle, source_queue_id, source_arn, destination_arn, max_per_second, status, moved,
                            to_move, started_at)
VALUES (:task_handle, :source_queue_id, :source_arn, :destination_arn, :max_per_second, 'RUNNING', 0, :to_move,
        :started_at);

-- name: sqs_move_task_update
-- Record a move task's progress and status.
UPDATE sqs_move_tasks SET status = :status, moved = :moved, failure_reason = :failure_reason
WHERE task_handle = :task_handle;

-- name: sqs_move_task_get
-- One move task.
SELECT task_handle, source_queue_id, source_arn, destination_arn, max_per_second, status, moved, to_move,
       failure_reason, started_at
FROM sqs_move_tasks WHERE task_handle = :task_handle;

-- name: sqs_move_tasks_for_source
-- The most recent move tasks of a source queue, newest first.
SELECT task_handle, source_queue_id, source_arn, destination_arn, max_per_second, status, moved, to_move,
       failure_reason, started_at
FROM sqs_move_tasks WHERE source_arn = :source_arn ORDER BY started_at DESC LIMIT :limit;

-- name: sqs_move_tasks_running
-- Move tasks still running (resumed after a restart).
SELECT task_handle, source_queue_id, source_arn, destination_arn, max_per_second, status, moved, to_move,
       failure_reason, started_at
FROM sqs_move_tasks WHERE status IN ('RUNNING', 'CANCELLING');
