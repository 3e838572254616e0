-- Core schema. Every file in store/migrations/ is one component's schema history: blocks
-- starting with `-- version: N`, applied in order on start (core first, then the other
-- components by name). `{blob}` is the backend's binary type (SQLite BLOB, PostgreSQL
-- BYTEA); `{int}` its 64-bit integer type. Never edit an applied block: add a new one.

-- version: 1
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    created_at {int} NOT NULL
);
CREATE TABLE access_keys (
    access_key_id      TEXT PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (account_id),
    principal_arn      TEXT NOT NULL,
    principal_id       TEXT NOT NULL,
    user_name          TEXT,
    secret_wrapped     {blob} NOT NULL,
    status             TEXT NOT NULL,
    session_token_hash TEXT,
    expires_at         {int},
    created_at         {int} NOT NULL
);
CREATE INDEX access_keys_by_principal ON access_keys (account_id, principal_arn);
CREATE TABLE probe (
    id      TEXT PRIMARY KEY,
    payload TEXT NOT NULL
);
