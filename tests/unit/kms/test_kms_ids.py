"""KeyId and alias-name rules (services/kms/ids.py)."""

from __future__ import annotations

import pytest

from cipherpost.services.kms.errors import (
    InvalidAliasNameException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from cipherpost.services.kms.ids import KeyRef, alias_arn, check_alias_name, key_arn, parse_key_ref

KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
ARN = f"arn:aws:kms:us-east-2:111122223333:key/{KEY}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(KEY, KeyRef("key_id", KEY), id="key-id"),
        pytest.param(ARN, KeyRef("key_arn", KEY, "111122223333", "us-east-2"), id="key-arn"),
        pytest.param("alias/ExampleAlias", KeyRef("alias", "alias/ExampleAlias"), id="alias-name"),
        pytest.param(
            "arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias",
            KeyRef("alias_arn", "alias/ExampleAlias", "111122223333", "us-east-2"),
            id="alias-arn",
        ),
        pytest.param("alias/aws/sns", KeyRef("alias", "alias/aws/sns"), id="managed-alias"),
        # A well-formed multi-Region key id is a key that does not exist, not a malformed id
        # (AWS: "Key '...' does not exist"; LocalStack's test_get_key_does_not_exist).
        pytest.param("mrk-1234abcd12ab34cd56ef1234567890ab", KeyRef("key_id", "mrk-1234abcd12ab34cd56ef1234567890ab"),
                     id="multi-region-id"),
    ],
)
def test_accepted_key_ids(value: str, expected: KeyRef) -> None:
    assert parse_key_ref(value, aliases=True) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("alias/ExampleAlias", id="alias-name"),
        pytest.param("arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias", id="alias-arn"),
    ],
)
def test_aliases_refused_where_aws_refuses_them(value: str) -> None:
    with pytest.raises(NotFoundException):
        parse_key_ref(value, aliases=False)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("not-a-key", id="garbage"),
        pytest.param(KEY.upper(), id="uppercase-uuid"),
        pytest.param(KEY + "0", id="long-uuid"),
        pytest.param("arn:aws:kms:us-east-2:111122223333:key/nope", id="arn-bad-key-id"),
        pytest.param("arn:aws:sqs:us-east-2:111122223333:queue", id="other-service-arn"),
        pytest.param("mrk-1234ABCD12ab34cd56ef1234567890ab", id="multi-region-id-uppercase"),
    ],
)
def test_rejected_key_ids(value: str) -> None:
    with pytest.raises(NotFoundException):
        parse_key_ref(value, aliases=True)


def test_arn_builders() -> None:
    assert key_arn("us-east-2", "111122223333", KEY) == ARN
    assert alias_arn("us-east-1", "111122223333", "alias/x") == "arn:aws:kms:us-east-1:111122223333:alias/x"


@pytest.mark.parametrize("name", ["alias/ok", "alias/with/slashes_and-dashes", "alias/" + "a" * 250])
def test_good_alias_names(name: str) -> None:
    check_alias_name(name)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        pytest.param("", ValidationException, id="empty"),
        pytest.param("alias/" + "a" * 251, ValidationException, id="too-long"),
        pytest.param("alias/has space", ValidationException, id="model-pattern"),
        pytest.param("alias/ünïcode", ValidationException, id="non-ascii"),
        pytest.param("noprefix", ValidationException, id="no-prefix"),
        pytest.param("alias/", InvalidAliasNameException, id="prefix-only"),
        pytest.param("alias/a:b", InvalidAliasNameException, id="colon"),
        pytest.param("alias/aws/mine", NotAuthorizedException, id="reserved"),
    ],
)
def test_bad_alias_names(name: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_alias_name(name)


def test_reserved_prefix_allowed_for_managed_keys() -> None:
    check_alias_name("alias/aws/sns", reserved_ok=True)
