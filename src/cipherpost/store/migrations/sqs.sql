-- SQS schema (component "sqs"). Times are epoch milliseconds unless named *_at_s.
-- A message body is stored as `body` bytes with `body_encoding` saying how to read them
-- ('utf-8', or an SSE envelope: services/sqs/sse.py), and the MD5 digests are computed over
-- the plaintext at send time and stored (a sealed body's MD5 is not: it is recomputed after
-- decryption, so the store holds nothing derived from an encrypted body's plaintext).

-- version: 1
CREATE TABLE sqs_queues (
    queue_id           TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL,
    queue_name         TEXT NOT NULL,
    attributes         TEXT NOT NULL,
    tags               TEXT NOT NULL,
    created_at_s       {int} NOT NULL,
    modified_at_s      {int} NOT NULL,
    purged_at          {int} NOT NULL,
    last_seq           {int} NOT NULL,
    dead_letter_target TEXT
);
CREATE UNIQUE INDEX sqs_queues_by_name ON sqs_queues (account_id, queue_name);
CREATE INDEX sqs_queues_by_dead_letter_target ON sqs_queues (dead_letter_target);
CREATE TABLE sqs_deleted_queues (
    account_id TEXT NOT NULL,
    queue_name TEXT NOT NULL,
    deleted_at {int} NOT NULL,
    PRIMARY KEY (account_id, queue_name)
);
CREATE TABLE sqs_messages (
    queue_id               TEXT NOT NULL,
    message_id             TEXT NOT NULL,
    seq                    {int} NOT NULL,
    body                   {blob} NOT NULL,
    body_encoding          TEXT NOT NULL,
    md5_body               TEXT NOT NULL,
    message_attributes     TEXT,
    md5_message_attributes TEXT,
    system_attributes      TEXT,
    md5_system_attributes  TEXT,
    sender_id              TEXT NOT NULL,
    sent_at                {int} NOT NULL,
    visible_at             {int} NOT NULL,
    receive_count          {int} NOT NULL,
    first_received_at      {int},
    receipt_token          TEXT,
    group_id               TEXT,
    dedup_id               TEXT,
    dead_letter_source_arn TEXT,
    PRIMARY KEY (queue_id, message_id)
);
CREATE INDEX sqs_messages_by_seq ON sqs_messages (queue_id, seq);
CREATE INDEX sqs_messages_by_visibility ON sqs_messages (queue_id, visible_at);
CREATE INDEX sqs_messages_by_group ON sqs_messages (queue_id, group_id, visible_at);
CREATE TABLE sqs_dedup (
    queue_id   TEXT NOT NULL,
    dedup_key  TEXT NOT NULL,
    message_id TEXT NOT NULL,
    seq        {int},
    expires_at {int} NOT NULL,
    PRIMARY KEY (queue_id, dedup_key)
);
CREATE TABLE sqs_move_tasks (
    task_handle       TEXT PRIMARY KEY,
    source_queue_id   TEXT NOT NULL,
    source_arn        TEXT NOT NULL,
    destination_arn   TEXT,
    max_per_second    {int},
    status            TEXT NOT NULL,
    moved             {int} NOT NULL,
    to_move           {int},
    failure_reason    TEXT,
    started_at        {int} NOT NULL
);
CREATE INDEX sqs_move_tasks_by_source ON sqs_move_tasks (source_arn, started_at);

-- version: 2
-- SSE: the queue ARN a sealed body is bound to (AAD and KMS encryption context); it stays
-- with the body when a dead-letter move or a move task copies it to another queue.
ALTER TABLE sqs_messages ADD COLUMN sealed_arn TEXT;

-- version: 3
-- Only FIFO messages have a group: standard messages (most of them) no longer pay an entry in
-- the group index on every send and delete. The FIFO receive's `f.group_id = m.group_id`
-- implies `group_id IS NOT NULL`, so both SQLite and PostgreSQL still use it there.
DROP INDEX sqs_messages_by_group;
CREATE INDEX sqs_messages_by_group ON sqs_messages (queue_id, group_id, visible_at) WHERE group_id IS NOT NULL;

-- version: 4
-- FIFO receives read each available message group in sequence order from its head, a few
-- messages at a time (sql/sqs.sql, sqs_receive_fifo): without this index that walk runs over
-- every message of the queue between a group's messages.
CREATE INDEX sqs_messages_by_group_seq ON sqs_messages (queue_id, group_id, seq) WHERE group_id IS NOT NULL;

-- version: 5
-- FIFO receives serve message groups in the order each became available (sql/sqs.sql,
-- sqs_receive_fifo). `group_available_at`: when the group of a message became available, as
-- of the message's latest receive (orders that receive's groups, and a retry's). The index
-- finds groups whose head was received and is visible again in the order they came back,
-- without walking the backlog of never-received messages the visibility index holds first.
ALTER TABLE sqs_messages ADD COLUMN group_available_at {int};
CREATE INDEX sqs_messages_returned ON sqs_messages (queue_id, visible_at, seq)
    WHERE receive_count > 0 AND group_id IS NOT NULL;
