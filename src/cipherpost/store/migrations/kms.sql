-- KMS schema (component "kms"): keys, backing-key versions (wrapped material), aliases,
-- tags and grants. Times are epoch milliseconds. Key material is stored only wrapped
-- under the root keyring (purpose kms-key-material:<key_id>:<version>); deleting a key
-- deletes its rows here, which is what makes its ciphertexts unrecoverable.

-- version: 1
CREATE TABLE kms_keys (
    key_id               TEXT PRIMARY KEY,
    account_id           TEXT NOT NULL,
    region               TEXT NOT NULL,
    description          TEXT NOT NULL,
    key_state            TEXT NOT NULL,
    key_manager          TEXT NOT NULL,
    key_spec             TEXT NOT NULL,
    key_usage            TEXT NOT NULL,
    origin               TEXT NOT NULL,
    policy               TEXT NOT NULL,
    created_at           {int} NOT NULL,
    deletion_at          {int},
    pending_window_days  {int},
    rotation_enabled     {int} NOT NULL,
    rotation_period_days {int},
    next_rotation_at     {int},
    current_version      {int} NOT NULL
);
CREATE INDEX kms_keys_by_account ON kms_keys (account_id, key_id);
CREATE INDEX kms_keys_by_deletion ON kms_keys (key_state, deletion_at);
CREATE TABLE kms_key_versions (
    key_id        TEXT NOT NULL,
    version       {int} NOT NULL,
    material      {blob} NOT NULL,
    created_at    {int} NOT NULL,
    rotation_type TEXT,
    PRIMARY KEY (key_id, version)
);
CREATE TABLE kms_aliases (
    account_id    TEXT NOT NULL,
    alias_name    TEXT NOT NULL,
    target_key_id TEXT NOT NULL,
    created_at    {int} NOT NULL,
    updated_at    {int} NOT NULL,
    PRIMARY KEY (account_id, alias_name)
);
CREATE INDEX kms_aliases_by_key ON kms_aliases (target_key_id);
CREATE TABLE kms_tags (
    key_id    TEXT NOT NULL,
    tag_key   TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (key_id, tag_key)
);
CREATE TABLE kms_grants (
    grant_id        TEXT PRIMARY KEY,
    key_id          TEXT NOT NULL,
    issuing_account TEXT NOT NULL,
    name            TEXT,
    grantee         TEXT NOT NULL,
    retiring        TEXT,
    operations      TEXT NOT NULL,
    grant_constraints TEXT,
    created_at      {int} NOT NULL
);
CREATE INDEX kms_grants_by_key ON kms_grants (key_id, grant_id);
CREATE INDEX kms_grants_by_retiring ON kms_grants (retiring, grant_id);

-- version: 2
-- Imported key material (Origin EXTERNAL): how the current material expires, and a digest of
-- the material ever imported, wrapped under the root keyring (a re-import must bring the same
-- material, which the ciphertexts are bound to). Import tokens: the wrapping key pair of one
-- GetParametersForImport (its private key wrapped under the root keyring) and when it expires.
ALTER TABLE kms_keys ADD COLUMN expiration_model TEXT;
ALTER TABLE kms_keys ADD COLUMN valid_to {int};
ALTER TABLE kms_keys ADD COLUMN material_digest {blob};
CREATE TABLE kms_import_tokens (
    token              TEXT PRIMARY KEY,
    key_id             TEXT NOT NULL,
    wrapping_algorithm TEXT NOT NULL,
    wrapping_key       {blob} NOT NULL,
    valid_to           {int} NOT NULL
);
CREATE INDEX kms_import_tokens_by_key ON kms_import_tokens (key_id);
