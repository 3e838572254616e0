-- IAM and STS queries (see sql/core.sql for the file format).

-- name: iam_entity_get
-- One user, group or role by kind and case-insensitive name.
SELECT * FROM iam_entities WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key;

-- name: iam_entity_list
-- Users, groups or roles of an account whose path starts with :path_prefix, by name.
SELECT * FROM iam_entities
WHERE account_id = :account_id AND kind = :kind AND substr(path, 1, length(:path_prefix)) = :path_prefix
ORDER BY name_key;

-- name: iam_entity_insert
-- Create a user, group or role.
INSERT INTO iam_entities (account_id, kind, name_key, name, path, entity_id, arn, created_at, trust_policy,
                          description, max_session_duration, permissions_boundary)
VALUES (:account_id, :kind, :name_key, :name, :path, :entity_id, :arn, :created_at, :trust_policy,
        :description, :max_session_duration, :permissions_boundary);

-- name: iam_entity_delete
-- Delete a user, group or role.
DELETE FROM iam_entities WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key;

-- name: iam_entity_rename
-- UpdateUser / UpdateGroup: new name and/or path (the ARN follows).
UPDATE iam_entities SET name = :name, name_key = :new_key, path = :path, arn = :arn
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key;

-- name: iam_role_set_trust
-- UpdateAssumeRolePolicy.
UPDATE iam_entities SET trust_policy = :trust_policy
WHERE account_id = :account_id AND kind = 'role' AND name_key = :name_key;

-- name: iam_role_update
-- UpdateRole: description and maximum session duration.
UPDATE iam_entities SET description = :description, max_session_duration = :max_session_duration
WHERE account_id = :account_id AND kind = 'role' AND name_key = :name_key;

-- name: iam_group_member_add
-- AddUserToGroup (idempotent).
INSERT INTO iam_group_members (account_id, group_key, user_key) VALUES (:account_id, :group_key, :user_key)
ON CONFLICT (account_id, group_key, user_key) DO NOTHING;

-- name: iam_group_member_remove
-- RemoveUserFromGroup.
DELETE FROM iam_group_members WHERE account_id = :account_id AND group_key = :group_key AND user_key = :user_key;

-- name: iam_group_members
-- Users in a group.
SELECT e.* FROM iam_group_members m
JOIN iam_entities e ON e.account_id = m.account_id AND e.kind = 'user' AND e.name_key = m.user_key
WHERE m.account_id = :account_id AND m.group_key = :group_key ORDER BY e.name_key;

-- name: iam_groups_for_user
-- Groups a user belongs to.
SELECT e.* FROM iam_group_members m
JOIN iam_entities e ON e.account_id = m.account_id AND e.kind = 'group' AND e.name_key = m.group_key
WHERE m.account_id = :account_id AND m.user_key = :user_key ORDER BY e.name_key;

-- name: iam_member_rows_for_user
-- Memberships of a user (for DeleteUser's conflict check and renames).
SELECT group_key FROM iam_group_members WHERE account_id = :account_id AND user_key = :user_key;

-- name: iam_members_of_group_count
-- How many users a group has.
SELECT COUNT(*) AS n FROM iam_group_members WHERE account_id = :account_id AND group_key = :group_key;

-- name: iam_inline_put
-- PutUserPolicy / PutGroupPolicy / PutRolePolicy (create or replace).
INSERT INTO iam_inline_policies (account_id, kind, name_key, policy_name, document)
VALUES (:account_id, :kind, :name_key, :policy_name, :document)
ON CONFLICT (account_id, kind, name_key, policy_name) DO UPDATE SET document = excluded.document;

-- name: iam_inline_get
-- One inline policy.
SELECT policy_name, document FROM iam_inline_policies
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key AND policy_name = :policy_name;

-- name: iam_inline_list
-- Inline policies of one entity, by name.
SELECT policy_name, document FROM iam_inline_policies
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key ORDER BY policy_name;

-- name: iam_inline_delete
-- Delete one inline policy.
DELETE FROM iam_inline_policies
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key AND policy_name = :policy_name;

-- name: iam_managed_insert
-- CreatePolicy.
INSERT INTO iam_managed_policies (arn, account_id, name_key, policy_name, path, policy_id, description,
                                  default_version, next_version, created_at, updated_at)
VALUES (:arn, :account_id, :name_key, :policy_name, :path, :policy_id, :description, 'v1', 2, :created_at,
        :created_at);

-- name: iam_managed_get
-- One customer managed policy by ARN.
SELECT * FROM iam_managed_policies WHERE arn = :arn;

-- name: iam_managed_list
-- Customer managed policies of an account under a path prefix.
SELECT * FROM iam_managed_policies
WHERE account_id = :account_id AND substr(path, 1, length(:path_prefix)) = :path_prefix ORDER BY name_key;

-- name: iam_managed_delete
-- DeletePolicy (versions go with it in the same write).
DELETE FROM iam_managed_policies WHERE arn = :arn;

-- name: iam_managed_set_default
-- SetDefaultPolicyVersion.
UPDATE iam_managed_policies SET default_version = :version_id, updated_at = :updated_at WHERE arn = :arn;

-- name: iam_managed_bump_version
-- Reserve the next version number of a policy.
UPDATE iam_managed_policies SET next_version = next_version + 1, updated_at = :updated_at WHERE arn = :arn
RETURNING next_version - 1 AS version_number;

-- name: iam_version_insert
-- Add a policy version.
INSERT INTO iam_policy_versions (policy_arn, version_id, document, created_at)
VALUES (:policy_arn, :version_id, :document, :created_at);

-- name: iam_version_get
-- One policy version.
SELECT * FROM iam_policy_versions WHERE policy_arn = :policy_arn AND version_id = :version_id;

-- name: iam_version_list
-- All versions of a policy, newest first.
SELECT * FROM iam_policy_versions WHERE policy_arn = :policy_arn ORDER BY created_at DESC, version_id DESC;

-- name: iam_version_delete
-- Delete one version.
DELETE FROM iam_policy_versions WHERE policy_arn = :policy_arn AND version_id = :version_id;

-- name: iam_versions_delete_all
-- Delete every version of a policy.
DELETE FROM iam_policy_versions WHERE policy_arn = :policy_arn;

-- name: iam_attach
-- Attach a managed policy to a user, group or role (idempotent).
INSERT INTO iam_attachments (account_id, kind, name_key, policy_arn) VALUES (:account_id, :kind, :name_key, :policy_arn)
ON CONFLICT (account_id, kind, name_key, policy_arn) DO NOTHING;

-- name: iam_detach
-- Detach a managed policy.
DELETE FROM iam_attachments
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key AND policy_arn = :policy_arn;

-- name: iam_attached_list
-- Managed policies attached to one entity.
SELECT policy_arn FROM iam_attachments
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key ORDER BY policy_arn;

-- name: iam_attachment_count
-- How many entities a managed policy is attached to.
SELECT COUNT(*) AS n FROM iam_attachments WHERE policy_arn = :policy_arn;

-- name: iam_tags_put
-- Add or replace a tag on a user or role.
INSERT INTO iam_tags (account_id, kind, name_key, tag_key, tag_value)
VALUES (:account_id, :kind, :name_key, :tag_key, :tag_value)
ON CONFLICT (account_id, kind, name_key, tag_key) DO UPDATE SET tag_value = excluded.tag_value;

-- name: iam_tags_delete
-- Remove one tag.
DELETE FROM iam_tags WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key AND tag_key = :tag_key;

-- name: iam_tags_list
-- Tags of a user or role.
SELECT tag_key, tag_value FROM iam_tags
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key ORDER BY tag_key;

-- name: iam_entity_purge_tags
-- Remove every tag of an entity (on delete).
DELETE FROM iam_tags WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key;

-- name: access_key_set_status
-- UpdateAccessKey: Active / Inactive.
UPDATE access_keys SET status = :status
WHERE access_key_id = :access_key_id AND account_id = :account_id AND principal_arn = :principal_arn;

-- name: access_key_delete
-- DeleteAccessKey.
DELETE FROM access_keys
WHERE access_key_id = :access_key_id AND account_id = :account_id AND principal_arn = :principal_arn;

-- name: sts_session_insert
-- Record what a temporary credential's session carries (role or federating user, session
-- policies, session tags).
INSERT INTO sts_sessions (access_key_id, account_id, role_key, session_policy, policy_arns, expires_at,
                          session_tags, transitive_tag_keys, user_key)
VALUES (:access_key_id, :account_id, :role_key, :session_policy, :policy_arns, :expires_at,
        :session_tags, :transitive_tag_keys, :user_key);

-- name: sts_session_get
-- The session behind a temporary access key.
SELECT * FROM sts_sessions WHERE access_key_id = :access_key_id;

-- name: access_keys_rename_principal
-- UpdateUser renamed the user: its access keys follow.
UPDATE access_keys SET principal_arn = :new_arn, user_name = :new_name
WHERE account_id = :account_id AND principal_arn = :principal_arn;

-- name: access_keys_delete_for_principal
-- Remove every access key of a principal (none left when DeleteUser runs; kept for roles' sessions).
DELETE FROM access_keys WHERE account_id = :account_id AND principal_arn = :principal_arn;

-- name: iam_entity_set_boundary
-- Put/Delete{User,Role}PermissionsBoundary (NULL removes it).
UPDATE iam_entities SET permissions_boundary = :permissions_boundary
WHERE account_id = :account_id AND kind = :kind AND name_key = :name_key;

-- name: iam_account_summary
-- GetAccountSummary's usage counts for one account (root_key_count: the root's long-term keys).
SELECT
    (SELECT COUNT(*) FROM iam_entities WHERE account_id = :account_id AND kind = 'user') AS user_count,
    (SELECT COUNT(*) FROM iam_entities WHERE account_id = :account_id AND kind = 'group') AS group_count,
    (SELECT COUNT(*) FROM iam_entities WHERE account_id = :account_id AND kind = 'role') AS role_count,
    (SELECT COUNT(*) FROM iam_managed_policies WHERE account_id = :account_id) AS policy_count,
    (SELECT COUNT(*) FROM iam_attachments WHERE account_id = :account_id) AS attachment_count,
    (SELECT COUNT(*) FROM access_keys
     WHERE account_id = :account_id AND principal_arn = :root_arn AND session_token_hash IS NULL) AS root_key_count;
