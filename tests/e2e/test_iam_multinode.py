"""IAM changes made on one node take effect on another sharing the PostgreSQL database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from e2e_support import BACKEND, ServerProcess, code, launch

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="several nodes share a PostgreSQL database")
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    data_dir = tmp_path_factory.mktemp("iam-multinode") / "data"
    node_a = launch(data_dir)
    node_b = launch(data_dir)
    yield node_a, node_b
    node_b.stop()
    node_a.stop()


def test_deactivated_key_and_removed_policy_apply_on_the_other_node(
        nodes: tuple[ServerProcess, ServerProcess]) -> None:
    node_a, node_b = nodes
    iam_b = node_b.client("iam")
    iam_b.create_user(UserName="Roaming")
    iam_b.put_user_policy(UserName="Roaming", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam_b.create_access_key(UserName="Roaming")["AccessKey"]
    on_a = node_a.client("iam", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    on_a.list_roles()  # node A now caches the key and the user's policies
    iam_b.delete_user_policy(UserName="Roaming", PolicyName="all")
    time.sleep(0.3)
    with pytest.raises(ClientError) as exc:
        on_a.list_roles()
    assert code(exc) == "AccessDenied"
    iam_b.update_access_key(UserName="Roaming", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    time.sleep(0.3)
    sts_a = node_a.client("sts", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        sts_a.get_caller_identity()
    assert code(exc) == "InvalidClientTokenId"


def test_tag_change_applies_on_the_other_node(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    """aws:PrincipalTag/* is cached with the policies: TagUser / UntagUser on one node reach the other."""
    node_a, node_b = nodes
    iam_b = node_b.client("iam")
    iam_b.create_user(UserName="Tagged")
    iam_b.put_user_policy(UserName="Tagged", PolicyName="by-tag", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
                                                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}}}]}))
    key = iam_b.create_access_key(UserName="Tagged")["AccessKey"]
    on_a = node_a.client("iam", access_key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as exc:
        on_a.list_roles()  # node A now caches the user's policies and (no) tags
    assert code(exc) == "AccessDenied"
    iam_b.tag_user(UserName="Tagged", Tags=[{"Key": "team", "Value": "ops"}])
    time.sleep(0.3)
    on_a.list_roles()
    iam_b.untag_user(UserName="Tagged", TagKeys=["team"])
    time.sleep(0.3)
    with pytest.raises(ClientError) as exc:
        on_a.list_roles()
    assert code(exc) == "AccessDenied"
