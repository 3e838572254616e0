"""KMS end to end: keys, aliases, key policies, tags — boto3 against a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from e2e_support import ServerProcess, code

ACCOUNT = "000000000000"
REGION_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}"



def fails(call: Any, expected: str, **params: Any) -> str:
    """Call, expect a ClientError with code ``expected``; returns the message."""
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert code(exc) == expected, exc.value.response
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    return str(exc.value.response["Error"]["Message"])


@pytest.fixture(scope="module")
def kms(server: ServerProcess) -> Any:
    return server.client("kms")


def test_create_and_describe_key(kms: Any) -> None:
    created = kms.create_key(Description="patient records", Tags=[{"TagKey": "team", "TagValue": "emr"}])
    metadata = created["KeyMetadata"]
    key_id = metadata["KeyId"]
    assert metadata["Arn"] == f"{REGION_ARN}:key/{key_id}"
    assert metadata["AWSAccountId"] == ACCOUNT
    assert metadata["Enabled"] is True
    assert metadata["KeyState"] == "Enabled"
    assert metadata["KeyManager"] == "CUSTOMER"
    assert metadata["KeySpec"] == metadata["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert metadata["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert metadata["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert metadata["Origin"] == "AWS_KMS"
    assert metadata["MultiRegion"] is False
    assert metadata["Description"] == "patient records"
    assert "DeletionDate" not in metadata
    for ref in (key_id, metadata["Arn"]):
        described = kms.describe_key(KeyId=ref)["KeyMetadata"]
        assert described == metadata
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "team", "TagValue": "emr"}]


def test_default_key_policy(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy["Statement"] == [{
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }]
    assert kms.get_key_policy(KeyId=key_id)["PolicyName"] == "default"
    assert kms.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]
    fails(kms.get_key_policy, "NotFoundException", KeyId=key_id, PolicyName="other")


def test_update_key_description(kms: Any) -> None:
    key_id = kms.create_key(Description="old")["KeyMetadata"]["KeyId"]
    kms.update_key_description(KeyId=key_id, Description="new")
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "new"
    fails(kms.update_key_description, "ValidationException", KeyId=key_id, Description="x" * 8193)


def test_list_keys_paginates(kms: Any) -> None:
    made = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)}
    seen: list[str] = []
    marker: dict[str, str] = {}
    while True:
        page = kms.list_keys(Limit=2, **marker)
        assert len(page["Keys"]) <= 2
        for entry in page["Keys"]:
            assert entry["KeyArn"] == f"{REGION_ARN}:key/{entry['KeyId']}"
        seen += [entry["KeyId"] for entry in page["Keys"]]
        if not page["Truncated"]:
            break
        marker = {"Marker": page["NextMarker"]}
    assert made <= set(seen)
    assert len(seen) == len(set(seen))
    fails(kms.list_keys, "InvalidMarkerException", Marker="bogus")
    fails(kms.list_keys, "ValidationException", Limit=1001)


def test_every_key_id_form(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/forms", TargetKeyId=key["KeyId"])
    forms = [key["KeyId"], key["Arn"], "alias/forms", f"{REGION_ARN}:alias/forms"]
    for form in forms:
        assert kms.describe_key(KeyId=form)["KeyMetadata"]["KeyId"] == key["KeyId"]
        assert kms.encrypt(KeyId=form, Plaintext=b"x")["KeyId"] == key["Arn"]
    # Aliases are not accepted where AWS takes only a key id or key ARN.
    fails(kms.disable_key, "NotFoundException", KeyId="alias/forms")
    fails(kms.get_key_policy, "NotFoundException", KeyId=f"{REGION_ARN}:alias/forms")
    for missing in ("alias/nope", "00000000-0000-0000-0000-000000000000", "nonsense",
                    f"{REGION_ARN}:key/00000000-0000-0000-0000-000000000000",
                    f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{key['KeyId']}"):
        fails(kms.describe_key, "NotFoundException", KeyId=missing)


def test_alias_lifecycle(kms: Any) -> None:
    first = kms.create_key()["KeyMetadata"]["KeyId"]
    second = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/emr/records", TargetKeyId=first)
    message = fails(kms.create_alias, "AlreadyExistsException", AliasName="alias/emr/records", TargetKeyId=second)
    assert "alias/emr/records" in message
    entry = next(a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/emr/records")
    assert entry["AliasArn"] == f"{REGION_ARN}:alias/emr/records"
    assert entry["TargetKeyId"] == first
    assert "CreationDate" in entry and "LastUpdatedDate" in entry
    kms.update_alias(AliasName="alias/emr/records", TargetKeyId=second)
    assert kms.describe_key(KeyId="alias/emr/records")["KeyMetadata"]["KeyId"] == second
    assert [a["AliasName"] for a in kms.list_aliases(KeyId=second)["Aliases"]] == ["alias/emr/records"]
    assert kms.list_aliases(KeyId=first)["Aliases"] == []
    kms.delete_alias(AliasName="alias/emr/records")
    fails(kms.describe_key, "NotFoundException", KeyId="alias/emr/records")
    fails(kms.delete_alias, "NotFoundException", AliasName="alias/emr/records")
    fails(kms.update_alias, "NotFoundException", AliasName="alias/emr/records", TargetKeyId=first)
    fails(kms.create_alias, "NotFoundException", AliasName="alias/dangling",
          TargetKeyId="00000000-0000-0000-0000-000000000000")
    fails(kms.create_alias, "NotFoundException", AliasName="alias/by-alias", TargetKeyId="alias/aws/sns")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("no-prefix", "ValidationException", id="no-prefix"),
        pytest.param("alias/has space", "ValidationException", id="space"),
        pytest.param("alias/" + "a" * 251, "ValidationException", id="too-long"),
        pytest.param("alias/a:b", "InvalidAliasNameException", id="colon"),
        pytest.param("alias/", "InvalidAliasNameException", id="empty-name"),
        pytest.param("alias/aws/mine", "NotAuthorizedException", id="reserved-prefix"),
    ],
)
def test_bad_alias_names(kms: Any, name: str, expected: str) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    fails(kms.create_alias, expected, AliasName=name, TargetKeyId=key_id)


def test_list_aliases_paginates(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    names = [f"alias/page/{index}" for index in range(5)]
    for name in names:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    first = kms.list_aliases(KeyId=key_id, Limit=3)
    assert first["Truncated"] is True
    rest = kms.list_aliases(KeyId=key_id, Limit=3, Marker=first["NextMarker"])
    assert rest["Truncated"] is False
    assert [a["AliasName"] for a in first["Aliases"] + rest["Aliases"]] == names
    fails(kms.list_aliases, "ValidationException", Limit=101)


def test_put_key_policy_and_lockout_check(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    locked_out = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]})
    message = fails(kms.put_key_policy, "MalformedPolicyDocumentException", KeyId=key_id, PolicyName="default",
                    Policy=locked_out)
    assert "will not allow you to update the key policy" in message
    fails(kms.create_key, "MalformedPolicyDocumentException", Policy=locked_out)
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=locked_out, BypassPolicyLockoutSafetyCheck=True)
    # The root can still use the key, but no longer read or change its policy.
    fails(kms.get_key_policy, "AccessDeniedException", KeyId=key_id, PolicyName="default")
    fails(kms.put_key_policy, "AccessDeniedException", KeyId=key_id, PolicyName="default", Policy=locked_out)
    assert kms.encrypt(KeyId=key_id, Plaintext=b"still usable")["KeyId"].endswith(key_id)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        pytest.param("{not json", "MalformedPolicyDocumentException", id="not-json"),
        pytest.param(json.dumps({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
                     "MalformedPolicyDocumentException", id="no-principal"),
        pytest.param(json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "bob"},
                                                "Action": "kms:*", "Resource": "*"}]}),
                     "MalformedPolicyDocumentException", id="bad-principal"),
        pytest.param(json.dumps({"Statement": [{"Sid": "x" * 40000, "Effect": "Allow", "Principal": "*",
                                                "Action": "kms:*", "Resource": "*"}]}),
                     "LimitExceededException", id="too-large"),
    ],
)
def test_malformed_policies(kms: Any, policy: str, expected: str) -> None:
    fails(kms.create_key, expected, Policy=policy)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    fails(kms.put_key_policy, expected, KeyId=key_id, PolicyName="default", Policy=policy)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"KeySpec": "RSA_2048"}, "ValidationException", id="rsa-without-usage"),
        pytest.param({"KeySpec": "HMAC_256"}, "ValidationException", id="hmac-without-usage"),
        pytest.param({"KeySpec": "RSA_2048", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException",
                     id="rsa-key-agreement"),
        pytest.param({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"}, "ValidationException",
                     id="secp256k1-key-agreement"),
        pytest.param({"KeySpec": "ECC_NIST_P256", "KeyUsage": "ENCRYPT_DECRYPT"}, "ValidationException",
                     id="ecc-encrypt"),
        pytest.param({"KeySpec": "HMAC_256", "KeyUsage": "SIGN_VERIFY"}, "ValidationException", id="hmac-sign"),
        pytest.param({"KeySpec": "ML_DSA_44", "KeyUsage": "SIGN_VERIFY"}, "UnsupportedOperationException",
                     id="ml-dsa"),
        pytest.param({"KeySpec": "NOPE"}, "ValidationException", id="unknown-spec"),
        pytest.param({"KeyUsage": "SIGN_VERIFY"}, "ValidationException", id="sign-usage"),
        pytest.param({"KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"},
                     "ValidationException", id="both-specs"),
        pytest.param({"Origin": "AWS_CLOUDHSM"}, "UnsupportedOperationException", id="cloudhsm"),
        pytest.param({"MultiRegion": True}, "UnsupportedOperationException", id="multi-region"),
        pytest.param({"Description": "x" * 8193}, "ValidationException", id="long-description"),
        pytest.param({"Tags": [{"TagKey": "aws:reserved", "TagValue": "v"}]}, "TagException", id="aws-tag"),
        pytest.param({"Tags": [{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)]},
                     "TagException", id="51-tags"),
    ],
)
def test_create_key_bad_input(kms: Any, params: dict[str, Any], expected: str) -> None:
    fails(kms.create_key, expected, **params)


def test_tags(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "b", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "b", "TagValue": "3"}])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [
        {"TagKey": "a", "TagValue": "2"}, {"TagKey": "b", "TagValue": "3"}]
    first = kms.list_resource_tags(KeyId=key_id, Limit=1)
    assert first["Truncated"] and first["Tags"] == [{"TagKey": "a", "TagValue": "2"}]
    assert kms.list_resource_tags(KeyId=key_id, Marker=first["NextMarker"])["Tags"] == [
        {"TagKey": "b", "TagValue": "3"}]
    kms.untag_resource(KeyId=key_id, TagKeys=["a", "missing"])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "b", "TagValue": "3"}]
    fails(kms.tag_resource, "TagException", KeyId=key_id, Tags=[{"TagKey": "aws:x", "TagValue": "v"}])
    fails(kms.tag_resource, "TagException", KeyId=key_id,
          Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    fails(kms.tag_resource, "TagException", KeyId=key_id,
          Tags=[{"TagKey": "dup", "TagValue": "1"}, {"TagKey": "dup", "TagValue": "2"}])


def test_aws_managed_keys_are_created_on_first_use(kms: Any) -> None:
    for alias, service in (("alias/aws/sns", "sns"), ("alias/aws/sqs", "sqs")):
        metadata = kms.describe_key(KeyId=alias)["KeyMetadata"]
        assert metadata["KeyManager"] == "AWS"
        assert kms.describe_key(KeyId=f"{REGION_ARN}:{alias}")["KeyMetadata"]["KeyId"] == metadata["KeyId"]
        assert metadata["KeyId"] in {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}
        aliases = {a["AliasName"]: a["TargetKeyId"] for a in kms.list_aliases(Limit=100)["Aliases"]}
        assert aliases[alias] == metadata["KeyId"]
        policy = json.loads(kms.get_key_policy(KeyId=metadata["KeyId"], PolicyName="default")["Policy"])
        condition = policy["Statement"][0]["Condition"]["StringEquals"]
        assert condition == {"kms:CallerAccount": ACCOUNT, "kms:ViaService": f"{service}.us-east-1.amazonaws.com"}
        assert kms.get_key_rotation_status(KeyId=metadata["KeyId"])["KeyRotationEnabled"] is True
        key_id = metadata["KeyId"]
        # Usable only through the service; not administrable at all, as in AWS.
        fails(kms.encrypt, "AccessDeniedException", KeyId=alias, Plaintext=b"x")
        fails(kms.generate_data_key, "AccessDeniedException", KeyId=alias, KeySpec="AES_256")
        fails(kms.put_key_policy, "AccessDeniedException", KeyId=key_id, PolicyName="default",
              Policy=json.dumps(policy))
        fails(kms.schedule_key_deletion, "AccessDeniedException", KeyId=key_id)
        fails(kms.disable_key, "AccessDeniedException", KeyId=key_id)
        fails(kms.enable_key_rotation, "AccessDeniedException", KeyId=key_id)
        fails(kms.tag_resource, "AccessDeniedException", KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "b"}])
        fails(kms.create_alias, "NotAuthorizedException", AliasName=alias, TargetKeyId=key_id)
        fails(kms.create_alias, "AccessDeniedException", AliasName="alias/mine-for-managed", TargetKeyId=key_id)
        fails(kms.delete_alias, "NotAuthorizedException", AliasName=alias)
    fails(kms.describe_key, "NotFoundException", KeyId="alias/aws/s3")


def test_imported_key_material_operations_refuse_aws_kms_keys(kms: Any) -> None:
    """AWS answers these for a key whose material it made (LocalStack's
    test_get_parameters_for_import_raises_for_non_external_kms_keys, recorded against AWS)."""
    key = kms.create_key()["KeyMetadata"]
    message = fails(kms.get_parameters_for_import, "UnsupportedOperationException", KeyId=key["KeyId"],
                    WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
    assert message == f"{key['Arn']} origin is AWS_KMS which is not valid for this operation."
    fails(kms.import_key_material, "UnsupportedOperationException", KeyId=key["KeyId"], ImportToken=b"t",
          EncryptedKeyMaterial=b"m", ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    fails(kms.delete_imported_key_material, "UnsupportedOperationException", KeyId=key["KeyId"])
    fails(kms.get_parameters_for_import, "NotFoundException", KeyId="11111111-2222-3333-4444-555555555555",
          WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048")
