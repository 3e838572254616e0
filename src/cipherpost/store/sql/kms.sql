-- KMS named queries (see core.sql for the format). Times are epoch milliseconds.
-- List queries take :after (the last sort key already returned, '' for the first page)
-- and :limit (the handler asks for one row more than it returns, to know if there are more).

-- name: kms_key_insert
-- Create a key record (its first backing-key version is inserted in the same write).
-- A key of origin EXTERNAL starts in PendingImport, without a backing-key version.
INSERT INTO kms_keys (key_id, account_id, region, description, key_state, key_manager, key_spec, key_usage,
                      origin, policy, created_at, deletion_at, pending_window_days, rotation_enabled,
                      rotation_period_days, next_rotation_at, current_version)
VALUES (:key_id, :account_id, :region, :description, :key_state, :key_manager, :key_spec, :key_usage,
        :origin, :policy, :created_at, NULL, NULL, :rotation_enabled, :rotation_period_days,
        :next_rotation_at, :current_version);

-- name: kms_key_get
-- One key record by key id.
SELECT key_id, account_id, region, description, key_state, key_manager, key_spec, key_usage, origin, policy,
       created_at, deletion_at, pending_window_days, rotation_enabled, rotation_period_days,
       next_rotation_at, current_version, expiration_model, valid_to, material_digest
FROM kms_keys WHERE key_id = :key_id;

-- name: kms_keys_list
-- A page of an account's keys, by key id.
SELECT key_id, region FROM kms_keys WHERE account_id = :account_id AND key_id > :after
ORDER BY key_id LIMIT :limit;

-- name: kms_key_set_state
-- Change a key's state (EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion), only
-- from the state the request checked (:from_state): a concurrent change makes it a no-op.
UPDATE kms_keys SET key_state = :key_state, deletion_at = :deletion_at, pending_window_days = :pending_window_days
WHERE key_id = :key_id AND key_state = :from_state;

-- name: kms_key_set_description
-- UpdateKeyDescription.
UPDATE kms_keys SET description = :description WHERE key_id = :key_id;

-- name: kms_key_set_policy
-- PutKeyPolicy.
UPDATE kms_keys SET policy = :policy WHERE key_id = :key_id;

-- name: kms_key_set_rotation
-- EnableKeyRotation / DisableKeyRotation, and the next automatic rotation after one.
UPDATE kms_keys SET rotation_enabled = :rotation_enabled, rotation_period_days = :rotation_period_days,
                    next_rotation_at = :next_rotation_at
WHERE key_id = :key_id;

-- name: kms_key_advance_version
-- Make a newly inserted backing-key version current, unless another rotation won the race.
UPDATE kms_keys SET current_version = :version WHERE key_id = :key_id AND current_version = :previous;

-- name: kms_key_version_insert
-- Store one backing-key version, its material wrapped under the root keyring.
INSERT INTO kms_key_versions (key_id, version, material, created_at, rotation_type)
VALUES (:key_id, :version, :material, :created_at, :rotation_type);

-- name: kms_key_version_get
-- One wrapped backing-key version.
SELECT material FROM kms_key_versions WHERE key_id = :key_id AND version = :version;

-- name: kms_key_rotations_list
-- A page of a key's rotations (every version after the first), oldest first.
SELECT version, created_at, rotation_type FROM kms_key_versions
WHERE key_id = :key_id AND version > :after AND rotation_type IS NOT NULL
ORDER BY version LIMIT :limit;

-- name: kms_key_on_demand_count
-- How many on-demand rotations a key has had (AWS allows 10 per key).
SELECT COUNT(*) AS n FROM kms_key_versions WHERE key_id = :key_id AND rotation_type = 'ON_DEMAND';

-- name: kms_keys_due_for_deletion
-- Keys whose scheduled deletion date has passed.
SELECT key_id FROM kms_keys WHERE key_state = 'PendingDeletion' AND deletion_at <= :now ORDER BY key_id;

-- name: kms_keys_due_for_rotation
-- Enabled keys with automatic rotation whose next rotation date has passed.
SELECT key_id FROM kms_keys
WHERE rotation_enabled = 1 AND key_state = 'Enabled' AND next_rotation_at <= :now ORDER BY key_id;

-- name: kms_key_delete
-- Delete a key record (the last step of a key deletion), if still pending deletion and due.
DELETE FROM kms_keys WHERE key_id = :key_id AND key_state = 'PendingDeletion' AND deletion_at <= :now;

-- name: kms_key_versions_delete
-- Crypto-shredding: delete every wrapped backing-key version of a key.
-- Runs only if the key is still pending deletion and due
-- (a CancelKeyDeletion that won the race keeps everything).
DELETE FROM kms_key_versions WHERE key_id = :key_id AND EXISTS (
    SELECT 1 FROM kms_keys WHERE key_id = :key_id AND key_state = 'PendingDeletion' AND deletion_at <= :now);

-- name: kms_key_aliases_delete
-- Delete every alias that points to a key.
-- Runs only if the key is still pending deletion and due
-- (a CancelKeyDeletion that won the race keeps everything).
DELETE FROM kms_aliases WHERE target_key_id = :key_id AND EXISTS (
    SELECT 1 FROM kms_keys WHERE key_id = :key_id AND key_state = 'PendingDeletion' AND deletion_at <= :now);

-- name: kms_key_tags_delete
-- Delete every tag of a key.
-- Runs only if the key is still pending deletion and due
-- (a CancelKeyDeletion that won the race keeps everything).
DELETE FROM kms_tags WHERE key_id = :key_id AND EXISTS (
    SELECT 1 FROM kms_keys WHERE key_id = :key_id AND key_state = 'PendingDeletion' AND deletion_at <= :now);

-- name: kms_key_grants_delete
-- Delete every grant on a key.
-- Runs only if the key is still pending deletion and due
-- (a CancelKeyDeletion that won the race keeps everything).
DELETE FROM kms_grants WHERE key_id = :key_id AND EXISTS (
    SELECT 1 FROM kms_keys WHERE key_id = :key_id AND key_state = 'PendingDeletion' AND deletion_at <= :now);

-- name: kms_key_import_tokens_delete
-- Delete every import token of a key.
-- Runs only if the key is still pending deletion and due
-- (a CancelKeyDeletion that won the race keeps everything).
DELETE FROM kms_import_tokens WHERE key_id = :key_id AND EXISTS (
    SELECT 1 FROM kms_keys WHERE key_id = :key_id AND key_state = 'PendingDeletion' AND deletion_at <= :now);

-- name: kms_import_token_insert
-- GetParametersForImport: one wrapping key pair (private key wrapped) and its import token.
INSERT INTO kms_import_tokens (token, key_id, wrapping_algorithm, wrapping_key, valid_to)
VALUES (:token, :key_id, :wrapping_algorithm, :wrapping_key, :valid_to);

-- name: kms_import_token_get
-- The wrapping key of an import token.
SELECT token, key_id, wrapping_algorithm, wrapping_key, valid_to FROM kms_import_tokens WHERE token = :token;

-- name: kms_import_tokens_expire
-- Forget a key's import tokens that expired before :now.
DELETE FROM kms_import_tokens WHERE key_id = :key_id AND valid_to < :now;

-- name: kms_key_material_import
-- ImportKeyMaterial: the key is usable (Enabled, from PendingImport; other states keep theirs),
-- with the material's expiration and the digest of the material it must always be.
UPDATE kms_keys SET key_state = CASE WHEN key_state = 'PendingImport' THEN 'Enabled' ELSE key_state END,
                    expiration_model = :expiration_model, valid_to = :valid_to, material_digest = :material_digest
WHERE key_id = :key_id AND key_state = :from_state;

-- name: kms_key_material_versions_delete
-- DeleteImportedKeyMaterial (or its expiry): delete the imported material of a key, if the key
-- is still in the state the request checked (:from_state).
DELETE FROM kms_key_versions WHERE key_id = :key_id AND EXISTS (
    SELECT 1 FROM kms_keys WHERE key_id = :key_id AND key_state = :from_state);

-- name: kms_key_material_remove
-- DeleteImportedKeyMaterial (or its expiry): the key waits for an import again.
UPDATE kms_keys SET key_state = 'PendingImport', expiration_model = NULL, valid_to = NULL
WHERE key_id = :key_id AND key_state = :from_state;

-- name: kms_keys_material_expired
-- Keys whose imported key material expired (its ValidTo passed).
SELECT key_id FROM kms_keys
WHERE valid_to IS NOT NULL AND valid_to <= :now AND key_state IN ('Enabled', 'Disabled') ORDER BY key_id;

-- name: kms_alias_insert
-- CreateAlias (and the alias of an AWS-managed key created on first use).
INSERT INTO kms_aliases (account_id, alias_name, target_key_id, created_at, updated_at)
VALUES (:account_id, :alias_name, :target_key_id, :created_at, :created_at);

-- name: kms_alias_get
-- One alias of an account.
SELECT alias_name, target_key_id, created_at, updated_at FROM kms_aliases
WHERE account_id = :account_id AND alias_name = :alias_name;

-- name: kms_alias_update
-- UpdateAlias: point an alias at another key.
UPDATE kms_aliases SET target_key_id = :target_key_id, updated_at = :updated_at
WHERE account_id = :account_id AND alias_name = :alias_name;

-- name: kms_alias_delete
-- DeleteAlias.
DELETE FROM kms_aliases WHERE account_id = :account_id AND alias_name = :alias_name;

-- name: kms_aliases_list
-- A page of an account's aliases, by name.
SELECT alias_name, target_key_id, created_at, updated_at FROM kms_aliases
WHERE account_id = :account_id AND alias_name > :after ORDER BY alias_name LIMIT :limit;

-- name: kms_aliases_for_key
-- A page of the aliases that point to one key, by name.
SELECT alias_name, target_key_id, created_at, updated_at FROM kms_aliases
WHERE account_id = :account_id AND target_key_id = :key_id AND alias_name > :after
ORDER BY alias_name LIMIT :limit;

-- name: kms_tag_put
-- TagResource: add a tag or replace its value.
INSERT INTO kms_tags (key_id, tag_key, tag_value) VALUES (:key_id, :tag_key, :tag_value)
ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value;

-- name: kms_tag_delete
-- UntagResource: remove one tag (absent keys are ignored, as AWS does).
DELETE FROM kms_tags WHERE key_id = :key_id AND tag_key = :tag_key;

-- name: kms_tags_list
-- A page of a key's tags, by tag key.
SELECT tag_key, tag_value FROM kms_tags WHERE key_id = :key_id AND tag_key > :after ORDER BY tag_key LIMIT :limit;

-- name: kms_tag_keys
-- Every tag key of a key (for the 50-tag quota).
SELECT tag_key FROM kms_tags WHERE key_id = :key_id;

-- name: kms_grant_insert
-- CreateGrant.
INSERT INTO kms_grants (grant_id, key_id, issuing_account, name, grantee, retiring, operations, grant_constraints,
                        created_at)
VALUES (:grant_id, :key_id, :issuing_account, :name, :grantee, :retiring, :operations, :grant_constraints, :created_at);

-- name: kms_grant_get
-- One grant by id.
SELECT grant_id, key_id, issuing_account, name, grantee, retiring, operations, grant_constraints, created_at
FROM kms_grants WHERE grant_id = :grant_id;

-- name: kms_grants_for_key
-- A page of the grants on one key, by grant id (also what authorization reads).
SELECT grant_id, key_id, issuing_account, name, grantee, retiring, operations, grant_constraints, created_at
FROM kms_grants WHERE key_id = :key_id AND grant_id > :after ORDER BY grant_id LIMIT :limit;

-- name: kms_grants_retirable
-- A page of the grants a principal may retire, by grant id.
SELECT grant_id, key_id, issuing_account, name, grantee, retiring, operations, grant_constraints, created_at
FROM kms_grants WHERE retiring = :retiring AND grant_id > :after ORDER BY grant_id LIMIT :limit;

-- name: kms_grants_retirable_issued
-- A page of the grants on a principal of another account that one account created, by grant id.
SELECT grant_id, key_id, issuing_account, name, grantee, retiring, operations, grant_constraints, created_at
FROM kms_grants WHERE retiring = :retiring AND issuing_account = :issuing_account AND grant_id > :after
ORDER BY grant_id LIMIT :limit;

-- name: kms_grant_delete
-- RetireGrant / RevokeGrant.
DELETE FROM kms_grants WHERE grant_id = :grant_id;

-- name: kms_grants_count
-- How many grants a key has (AWS: 50,000 per key).
SELECT COUNT(*) AS n FROM kms_grants WHERE key_id = :key_id;
