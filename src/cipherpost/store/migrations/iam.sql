-- IAM: users, groups, roles, inline and managed policies, attachments, tags; STS sessions.
-- Entity names are unique case-insensitively within an account (IAM's rule): `name_key`
-- holds the lower-cased name, `*_name` the name as created.

-- version: 1
CREATE TABLE iam_entities (
    account_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    name         TEXT NOT NULL,
    path         TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    arn          TEXT NOT NULL,
    created_at   {int} NOT NULL,
    trust_policy TEXT,
    description  TEXT,
    max_session_duration {int},
    permissions_boundary TEXT,
    PRIMARY KEY (account_id, kind, name_key)
);
CREATE TABLE iam_group_members (
    account_id TEXT NOT NULL,
    group_key  TEXT NOT NULL,
    user_key   TEXT NOT NULL,
    PRIMARY KEY (account_id, group_key, user_key)
);
CREATE TABLE iam_inline_policies (
    account_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, name_key, policy_name)
);
CREATE TABLE iam_managed_policies (
    arn            TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    policy_name    TEXT NOT NULL,
    path           TEXT NOT NULL,
    policy_id      TEXT NOT NULL,
    description    TEXT,
    default_version TEXT NOT NULL,
    next_version   {int} NOT NULL,
    created_at     {int} NOT NULL,
    updated_at     {int} NOT NULL
);
CREATE UNIQUE INDEX iam_managed_policies_by_name ON iam_managed_policies (account_id, name_key);
CREATE TABLE iam_policy_versions (
    policy_arn TEXT NOT NULL,
    version_id TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at {int} NOT NULL,
    PRIMARY KEY (policy_arn, version_id)
);
CREATE TABLE iam_attachments (
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, name_key, policy_arn)
);
CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_arn);
CREATE TABLE iam_tags (
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, name_key, tag_key)
);
CREATE TABLE sts_sessions (
    access_key_id  TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    role_key       TEXT,
    session_policy TEXT,
    policy_arns    TEXT NOT NULL,
    expires_at     {int} NOT NULL
);

-- version: 2
-- Session tags (AssumeRole Tags, and transitive tags inherited in a role chain) as a JSON list
-- of [key, value] pairs, and the keys among them that are transitive (JSON list); for a
-- federated user session (GetFederationToken), the calling IAM user (NULL: the account root).
ALTER TABLE sts_sessions ADD COLUMN session_tags TEXT;
ALTER TABLE sts_sessions ADD COLUMN transitive_tag_keys TEXT;
ALTER TABLE sts_sessions ADD COLUMN user_key TEXT;
