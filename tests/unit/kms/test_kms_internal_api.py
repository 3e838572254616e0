"""The internal API SNS and SQS call (generate_data_key_for, decrypt_for, resolve_key_arn),
on a real runtime: the same authorization as a client's request, kms:ViaService and the
service principal included."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cipherpost.config import Listener, Settings
from cipherpost.context import Caller, RequestContext
from cipherpost.runtime import start_runtime
from cipherpost.services.authz import Authorizer
from cipherpost.services.kms import KmsProvider
from cipherpost.services.kms.errors import (
    AccessDeniedException,
    DisabledException,
    InvalidCiphertextException,
    NotFoundException,
)

ACCOUNT = "000000000000"
ROOT = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, "Root")
SNS = Caller.for_service("sns.amazonaws.com", ACCOUNT)


def ctx(service: str = "kms", invoked_by: str | None = None) -> RequestContext:
    return RequestContext(
        request_id=str(uuid.uuid4()), received_at=datetime.now(UTC), region="us-east-1", service=service,
        operation="Test", caller=ROOT, listener=Listener("http", "127.0.0.1", 0), source_ip="127.0.0.1",
        invoked_by=invoked_by,
    )


def via(service: str) -> RequestContext:
    """What SNS or SQS pass: their own context, marked as acting for the caller."""
    return dataclasses.replace(ctx(service), invoked_by=f"{service}.amazonaws.com")


def run(tmp_path: Path, body: Callable[[KmsProvider], Awaitable[None]]) -> None:
    async def main() -> None:
        runtime = await start_runtime(Settings(data_dir=tmp_path / "data"), environ={})
        try:
            await body(KmsProvider(runtime, Authorizer()))
        finally:
            await runtime.close()

    asyncio.run(main())


def blog_policy() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
         "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}]})


def test_service_principal_named_in_the_key_policy(tmp_path: Path) -> None:
    async def body(kms: KmsProvider) -> None:
        key = (await kms.create_key(ctx(), {"Policy": blog_policy()}))["KeyMetadata"]
        data_key = await kms.generate_data_key_for(via("sns"), key["KeyId"], encryption_context={"t": "1"},
                                                   caller=SNS)
        assert data_key.key_arn == key["Arn"] and data_key.key_id == key["KeyId"]
        assert len(data_key.plaintext) == 32
        assert repr(data_key).count(data_key.plaintext.hex()) == 0
        plaintext = await kms.decrypt_for(via("sns"), data_key.ciphertext_blob, encryption_context={"t": "1"},
                                          caller=SNS)
        assert plaintext == data_key.plaintext
        with pytest.raises(InvalidCiphertextException):
            await kms.decrypt_for(via("sns"), data_key.ciphertext_blob, encryption_context={}, caller=SNS)
        await kms.disable_key(ctx(), {"KeyId": key["KeyId"]})
        with pytest.raises(DisabledException):
            await kms.generate_data_key_for(via("sns"), key["KeyId"], encryption_context={}, caller=SNS)

    run(tmp_path, body)


def test_service_principal_not_in_the_key_policy(tmp_path: Path) -> None:
    async def body(kms: KmsProvider) -> None:
        key = (await kms.create_key(ctx(), {}))["KeyMetadata"]
        # The error is KMS's own class even though the request context is SNS's.
        with pytest.raises(AccessDeniedException, match=r"Service: sns\.amazonaws\.com is not authorized"):
            await kms.generate_data_key_for(via("sns"), key["Arn"], encryption_context={}, caller=SNS)
        # The caller itself (the account root, delegated by the default policy) may.
        result = await kms.generate_data_key_for(via("sns"), key["Arn"], encryption_context={})
        assert result.key_arn == key["Arn"]

    run(tmp_path, body)


def test_aws_managed_keys_work_only_via_their_service(tmp_path: Path) -> None:
    async def body(kms: KmsProvider) -> None:
        arn = await kms.resolve_key_arn(via("sqs"), "alias/aws/sqs")
        assert arn.startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/")
        assert await kms.resolve_key_arn(ctx(), arn) == arn
        data_key = await kms.generate_data_key_for(via("sqs"), "alias/aws/sqs", encryption_context={})
        assert data_key.key_arn == arn
        assert await kms.decrypt_for(via("sqs"), data_key.ciphertext_blob, encryption_context={}) == data_key.plaintext
        with pytest.raises(AccessDeniedException):  # directly, not via SQS
            await kms.decrypt_for(ctx(), data_key.ciphertext_blob, encryption_context={})
        with pytest.raises(AccessDeniedException):  # via the wrong service
            await kms.generate_data_key_for(via("sns"), "alias/aws/sqs", encryption_context={})
        # The classic mistake: SNS, as its service principal, delivering to a queue encrypted
        # with alias/aws/sqs. The managed policy names no service principal: denied, as in AWS.
        with pytest.raises(AccessDeniedException):
            await kms.generate_data_key_for(via("sqs"), "alias/aws/sqs", encryption_context={}, caller=SNS)
        sns_arn = await kms.resolve_key_arn(via("sns"), "alias/aws/sns")
        assert sns_arn != arn
        assert (await kms.generate_data_key_for(via("sns"), "alias/aws/sns", encryption_context={})).key_arn == sns_arn

    run(tmp_path, body)


def test_resolve_key_arn_unknown(tmp_path: Path) -> None:
    async def body(kms: KmsProvider) -> None:
        for key_id in ("alias/missing", "alias/aws/s3", str(uuid.uuid4()), "garbage"):
            with pytest.raises(NotFoundException):
                await kms.resolve_key_arn(via("sqs"), key_id)

    run(tmp_path, body)
