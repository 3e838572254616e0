-- Core named queries: installation settings, accounts, access keys.
-- Format (every file in store/sql/): blocks starting with `-- name: <query_name>` and a
-- one-line purpose comment; `:name` placeholders. SQL must run unchanged on SQLite and
-- PostgreSQL; a backend that needs another text puts a block of the same name in
-- `store/sql/<backend>/<file>.sql`. Query names are unique across all files.

-- name: meta_get
-- Read one installation-level setting.
SELECT value FROM meta WHERE key = :key;

-- name: meta_put_new
-- Record an installation-level setting once; a later put of the same key changes nothing.
INSERT INTO meta (key, value) VALUES (:key, :value) ON CONFLICT (key) DO NOTHING;

-- name: account_get
-- One account (tenant) by id.
SELECT account_id, created_at FROM accounts WHERE account_id = :account_id;

-- name: account_insert
-- Create an account if it does not exist yet.
INSERT INTO accounts (account_id, created_at) VALUES (:account_id, :created_at)
ON CONFLICT (account_id) DO NOTHING;

-- name: access_key_get
-- Everything SigV4 verification needs about one access key.
SELECT access_key_id, account_id, principal_arn, principal_id, user_name, secret_wrapped, status,
       session_token_hash, expires_at
FROM access_keys WHERE access_key_id = :access_key_id;

-- name: access_key_insert
-- Store a new access key; its secret is wrapped under the root keyring, never in plaintext.
INSERT INTO access_keys (access_key_id, account_id, principal_arn, principal_id, user_name,
                         secret_wrapped, status, session_token_hash, expires_at, created_at)
VALUES (:access_key_id, :account_id, :principal_arn, :principal_id, :user_name,
        :secret_wrapped, :status, :session_token_hash, :expires_at, :created_at);

-- name: access_keys_for_principal
-- The access keys of one principal, oldest first.
SELECT access_key_id, status, created_at FROM access_keys
WHERE account_id = :account_id AND principal_arn = :principal_arn ORDER BY created_at, access_key_id;

-- name: probe_insert
-- Durability probe: append one row (used by the store contract and crash tests).
INSERT INTO probe (id, payload) VALUES (:id, :payload);

-- name: probe_count
-- Durability probe: how many rows exist.
SELECT COUNT(*) AS n FROM probe;

-- name: probe_get
-- Durability probe: one row by id.
SELECT id, payload FROM probe WHERE id = :id;

-- name: probe_delete
-- Durability probe: delete one row, reporting the deleted payload.
DELETE FROM probe WHERE id = :id RETURNING payload;
