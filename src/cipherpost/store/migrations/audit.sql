-- Audit schema (component "audit"): the queryable event history behind LookupEvents, and
-- each account's trail settings. Event times are epoch seconds (CloudTrail's eventTime has
-- second precision). `record` is the full CloudTrail record as JSON (secrets already removed);
-- the other columns are the attributes LookupEvents filters on (one resource per event: the first).

-- version: 1
CREATE TABLE audit_events (
    event_id      TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    event_time    {int} NOT NULL,
    event_name    TEXT NOT NULL,
    event_source  TEXT NOT NULL,
    username      TEXT,
    access_key_id TEXT,
    resource_type TEXT,
    resource_name TEXT,
    read_only     TEXT NOT NULL,
    record        TEXT NOT NULL
);
CREATE INDEX audit_events_by_time ON audit_events (account_id, event_time, event_id);
CREATE INDEX audit_events_by_name ON audit_events (account_id, event_name, event_time);
CREATE INDEX audit_events_by_source ON audit_events (account_id, event_source, event_time);
CREATE INDEX audit_events_by_username ON audit_events (account_id, username, event_time);
CREATE INDEX audit_events_by_access_key ON audit_events (account_id, access_key_id, event_time);
CREATE INDEX audit_events_by_resource ON audit_events (account_id, resource_name, event_time);
CREATE INDEX audit_events_by_age ON audit_events (event_time);
CREATE TABLE audit_trails (
    account_id         TEXT NOT NULL,
    trail_name         TEXT NOT NULL,
    region             TEXT NOT NULL,
    logging            {int} NOT NULL,
    event_selectors    TEXT NOT NULL,
    advanced_selectors TEXT NOT NULL,
    updated_at         {int} NOT NULL,
    PRIMARY KEY (account_id, trail_name)
);
