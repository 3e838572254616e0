-- Audit named queries (see core.sql for the format). Event times are epoch seconds.
-- LookupEvents pages run newest first, keyed by (event_time, event_id): a page starts after
-- the cursor (:before_time, :before_id); the first page's cursor is (end time, '~'), which
-- sorts after every event id. The handler asks for one row more than it returns.

-- name: audit_event_insert
-- Add one event to the history (a replay after a crash inserts nothing twice).
INSERT INTO audit_events (event_id, account_id, event_time, event_name, event_source, username, access_key_id,
                          resource_type, resource_name, read_only, record)
VALUES (:event_id, :account_id, :event_time, :event_name, :event_source, :username, :access_key_id,
        :resource_type, :resource_name, :read_only, :record)
ON CONFLICT (event_id) DO NOTHING;

-- name: audit_events_expire
-- Retention: delete every event older than the cutoff.
DELETE FROM audit_events WHERE event_time < :cutoff;

-- name: audit_trails_all
-- Every account's trail settings (loaded when the recorder starts).
SELECT account_id, trail_name, region, logging, event_selectors, advanced_selectors, updated_at
FROM audit_trails ORDER BY account_id, trail_name;

-- name: audit_trail_get
-- One account's trail settings.
SELECT account_id, trail_name, region, logging, event_selectors, advanced_selectors, updated_at
FROM audit_trails WHERE account_id = :account_id AND trail_name = :trail_name;

-- name: audit_trail_put
-- Create or replace one account's trail settings.
INSERT INTO audit_trails (account_id, trail_name, region, logging, event_selectors, advanced_selectors, updated_at)
VALUES (:account_id, :trail_name, :region, :logging, :event_selectors, :advanced_selectors, :updated_at)
ON CONFLICT (account_id, trail_name) DO UPDATE SET
    region = excluded.region, logging = excluded.logging, event_selectors = excluded.event_selectors,
    advanced_selectors = excluded.advanced_selectors, updated_at = excluded.updated_at;

-- name: audit_events_page
-- LookupEvents without a lookup attribute: a page of an account's events, newest first.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_event_id
-- LookupEvents filtered on EventId: one event by id.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND event_id = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_event_name
-- LookupEvents filtered on EventName.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND event_name = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_read_only
-- LookupEvents filtered on ReadOnly ('true' / 'false').
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND read_only = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_username
-- LookupEvents filtered on Username.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND username = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_resource_type
-- LookupEvents filtered on ResourceType.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND resource_type = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_resource_name
-- LookupEvents filtered on ResourceName.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND resource_name = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_event_source
-- LookupEvents filtered on EventSource.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND event_source = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;

-- name: audit_events_page_by_access_key_id
-- LookupEvents filtered on AccessKeyId.
SELECT event_id, event_time, record FROM audit_events
WHERE account_id = :account_id AND access_key_id = :value AND event_time >= :start_time
  AND (event_time < :before_time OR (event_time = :before_time AND event_id < :before_id))
ORDER BY event_time DESC, event_id DESC LIMIT :limit;
