"""KMS key policies enforced end to end: the SNS encryption blog's key policy with real IAM
principals, a policy without the account root, grants of IAM delegation, and cross-account use."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from e2e_support import ServerProcess, fails, new_user_client

ACCOUNT = "000000000000"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def blog_policy(account: str) -> str:
    """The key policy of the SNS encryption blog, with this installation's account."""
    admin_actions = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
                     "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
                     "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "EMR-System-KeyPolicy",
        "Statement": [
            {"Sid": "Allow access for Root User", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Allow access for Key Administrator", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:user/EMRAdmin"}, "Action": admin_actions, "Resource": "*"},
            {"Sid": "Allow access for Key User (SNS IAM User)", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:user/EMRUser"},
             "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"},
            {"Sid": "Allow access for Key User (SNS Service Principal)", "Effect": "Allow",
             "Principal": {"Service": "sns.amazonaws.com"},
             "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"},
        ],
    })


def test_blog_key_policy_allows_exactly_what_it_says(server: ServerProcess) -> None:
    root = server.client("kms")
    admin = new_user_client(server, "kms", "EMRAdmin")
    user = new_user_client(server, "kms", "EMRUser")
    stranger = new_user_client(server, "kms", "Stranger")
    key = root.create_key(Description="EMR")["KeyMetadata"]
    key_id = key["KeyId"]
    root.put_key_policy(KeyId=key_id, PolicyName="default", Policy=blog_policy(ACCOUNT))
    assert json.loads(root.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])["Id"] == \
        "EMR-System-KeyPolicy"

    # EMRUser: GenerateDataKey* and Decrypt, nothing else.
    data_key = user.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext={"topic": "records"})
    user.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256")
    assert user.decrypt(CiphertextBlob=data_key["CiphertextBlob"],
                        EncryptionContext={"topic": "records"})["Plaintext"] == data_key["Plaintext"]
    message = fails(user.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    # The key policy delegates to the account (its root statement), so IAM policies could have
    # allowed it: the denial names the identity-based policy that is missing.
    assert message == (f"User: arn:aws:iam::{ACCOUNT}:user/EMRUser is not authorized to perform: kms:Encrypt "
                       f"on resource: {key['Arn']} because no identity-based policy allows the kms:Encrypt action")
    for call, params in ((user.describe_key, {}), (user.disable_key, {}),
                         (user.put_key_policy, {"PolicyName": "default", "Policy": blog_policy(ACCOUNT)})):
        fails(call, "AccessDeniedException", KeyId=key_id, **params)

    # EMRAdmin: administration, no cryptography.
    assert admin.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    admin.update_key_description(KeyId=key_id, Description="EMR records key")
    admin.disable_key(KeyId=key_id)
    admin.enable_key(KeyId=key_id)
    admin.tag_resource(KeyId=key_id, Tags=[{"TagKey": "owner", "TagValue": "emr"}])
    admin.get_key_policy(KeyId=key_id, PolicyName="default")
    admin.put_key_policy(KeyId=key_id, PolicyName="default", Policy=blog_policy(ACCOUNT))  # passes the lockout check
    admin.enable_key_rotation(KeyId=key_id)
    admin.list_grants(KeyId=key_id)
    denied: list[tuple[Any, dict[str, Any]]] = [
        (admin.encrypt, {"Plaintext": b"x"}),
        (admin.generate_data_key, {"KeySpec": "AES_256"}),
        (admin.decrypt, {"CiphertextBlob": data_key["CiphertextBlob"], "EncryptionContext": {"topic": "records"}}),
        (admin.rotate_key_on_demand, {}),
    ]
    for call, params in denied:
        fails(call, "AccessDeniedException", KeyId=key_id, **params)

    # A principal the policy does not name, without IAM policies: nothing.
    fails(stranger.describe_key, "AccessDeniedException", KeyId=key_id)
    fails(stranger.generate_data_key, "AccessDeniedException", KeyId=key_id, KeySpec="AES_256")


def test_identity_policies_count_only_where_the_key_policy_delegates(server: ServerProcess) -> None:
    root = server.client("kms")
    allow_kms = json.dumps({"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
    operator = new_user_client(server, "kms", "KmsOperator", allow_kms)
    delegated = root.create_key()["KeyMetadata"]["KeyId"]  # default policy: the account root, kms:*
    assert operator.encrypt(KeyId=delegated, Plaintext=b"x")["KeyId"].endswith(delegated)
    not_delegated_policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/EMRAdmin"},
        "Action": "kms:*", "Resource": "*"}]})
    not_delegated = root.create_key(Policy=not_delegated_policy, BypassPolicyLockoutSafetyCheck=True)
    key_id = not_delegated["KeyMetadata"]["KeyId"]
    fails(operator.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    # A key policy that omits the account root denies even the root.
    message = fails(root.encrypt, "AccessDeniedException", KeyId=key_id, Plaintext=b"x")
    assert message.startswith(f"User: {ROOT} is not authorized to perform: kms:Encrypt")
    fails(root.describe_key, "AccessDeniedException", KeyId=key_id)
    fails(root.schedule_key_deletion, "AccessDeniedException", KeyId=key_id)
    # The lockout check protects a caller from writing such a policy by mistake.
    fails(root.create_key, "MalformedPolicyDocumentException", Policy=not_delegated_policy)


def test_explicit_deny_wins(server: ServerProcess) -> None:
    root = server.client("kms")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:EncryptionContext:department": "emr"}}},
    ]})
    key_id = root.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    good = root.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"department": "emr"})["CiphertextBlob"]
    bad = root.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"department": "other"})["CiphertextBlob"]
    assert root.decrypt(CiphertextBlob=good, EncryptionContext={"department": "emr"})["Plaintext"] == b"x"
    message = fails(root.decrypt, "AccessDeniedException", CiphertextBlob=bad,
                    EncryptionContext={"department": "other"})
    assert "explicit deny" in message


def test_cross_account_use_by_arn(fresh_server: Callable[..., ServerProcess]) -> None:
    server = fresh_server("--dev")
    owner = server.client("kms")
    friend = server.client("kms", access_key_id="111111111111", secret="dev")
    foe = server.client("kms", access_key_id="222222222222", secret="dev")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"], "Resource": "*"},
    ]})
    key = owner.create_key(Policy=policy)["KeyMetadata"]
    owner.create_alias(AliasName="alias/shared", TargetKeyId=key["KeyId"])
    alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/shared"
    blob = friend.encrypt(KeyId=key["Arn"], Plaintext=b"across")["CiphertextBlob"]
    assert friend.encrypt(KeyId=alias_arn, Plaintext=b"x")["KeyId"] == key["Arn"]
    assert owner.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across"
    assert friend.decrypt(CiphertextBlob=blob)["Plaintext"] == b"across"
    assert friend.describe_key(KeyId=key["Arn"])["KeyMetadata"]["AWSAccountId"] == ACCOUNT
    # A key id or alias name means "in my account"; administration is never cross-account.
    fails(friend.encrypt, "NotFoundException", KeyId=key["KeyId"], Plaintext=b"x")
    fails(friend.encrypt, "NotFoundException", KeyId="alias/shared", Plaintext=b"x")
    fails(friend.disable_key, "NotFoundException", KeyId=key["Arn"])
    fails(friend.get_key_policy, "NotFoundException", KeyId=key["Arn"], PolicyName="default")
    assert key["KeyId"] not in {k["KeyId"] for k in friend.list_keys()["Keys"]}
    # An account the key policy does not name gets nothing.
    fails(foe.encrypt, "AccessDeniedException", KeyId=key["Arn"], Plaintext=b"x")
    fails(foe.decrypt, "AccessDeniedException", CiphertextBlob=blob)
    # Each account gets its own AWS-managed keys.
    assert friend.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]["AWSAccountId"] == "111111111111"
    assert owner.describe_key(KeyId="alias/aws/sqs")["KeyMetadata"]["AWSAccountId"] == ACCOUNT
