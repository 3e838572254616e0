"""GetCallerIdentity end to end: boto3 (query), the AWS CLI, presigned GET, and STS over JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3
import botocore.session
from e2e_support import REGION, ServerProcess, http_get


def test_get_caller_identity_with_boto3(server: ServerProcess) -> None:
    identity = server.client("sts").get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    assert identity["UserId"] == "000000000000"
    assert identity["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert identity["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == identity["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_with_the_aws_cli(server: ServerProcess) -> None:
    env = {
        **os.environ,
        "AWS_SHARED_CREDENTIALS_FILE": str(server.data_dir / "credentials"),
        "AWS_PROFILE": "cipherpost",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
    }
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "sts", "get-caller-identity", "--endpoint-url", server.url,
         "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"] == "arn:aws:iam::000000000000:root"


def test_presigned_url(server: ServerProcess) -> None:
    """botocore presigns Query operations for POST: the URL alone authenticates the request."""
    url = server.client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=60)
    status, _, body = http_get(url, data=b"", method="POST")
    assert status == 200, body
    assert b"<Arn>arn:aws:iam::000000000000:root</Arn>" in body
    assert b"<GetCallerIdentityResult>" in body


def test_presigned_get_as_kubernetes_authenticators_do(server: ServerProcess) -> None:
    """A GET presigned with Action/Version in the query string (the EKS-token pattern)."""
    client = server.client("sts")
    request = {
        "method": "GET",
        "url": server.url + "/?Action=GetCallerIdentity&Version=2011-06-15",
        "body": {},
        "headers": {},
        "context": {},
        "url_path": "/",
        "query_string": "",
    }
    url = client._request_signer.generate_presigned_url(
        request, operation_name="GetCallerIdentity", expires_in=60
    )
    status, _, body = http_get(url)
    assert status == 200, body
    assert b"<Account>000000000000</Account>" in body


def _json_sts_client(server: ServerProcess) -> Any:
    """An STS client whose model speaks JSON 1.0 (target prefix from STS's Smithy service name)."""
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    model = loader.load_service_model("sts", "service-2")
    model["metadata"] = {**model["metadata"], "protocol": "json", "protocols": ["json"], "jsonVersion": "1.0",
                         "targetPrefix": "AWSSecurityTokenServiceV20110615"}
    original = loader.load_service_model

    def patched(service_name: str, type_name: str, api_version: str | None = None) -> Any:
        if service_name == "sts" and type_name == "service-2":
            return model
        return original(service_name, type_name, api_version)

    loader.load_service_model = patched
    return boto3.Session(botocore_session=session).client(
        "sts", endpoint_url=server.url, region_name=REGION,
        aws_access_key_id=server.access_key_id, aws_secret_access_key=server.secret_access_key,
    )


def test_get_caller_identity_over_json(server: ServerProcess) -> None:
    client = _json_sts_client(server)
    identity = client.get_caller_identity()
    assert identity["Arn"] == "arn:aws:iam::000000000000:root"
    headers = identity["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"].startswith("application/x-amz-json-1.0")
