"""Service providers and the dispatch table the server routes to."""

from __future__ import annotations

from cipherpost.runtime import Runtime
from cipherpost.services.authz import Authorizer
from cipherpost.services.base import Handler, NotImplementedOperation, Provider
from cipherpost.services.cloudtrail import CloudTrailProvider
from cipherpost.services.iam import IamProvider
from cipherpost.services.kms import KmsProvider
from cipherpost.services.sns import SnsProvider
from cipherpost.services.sqs import SqsProvider
from cipherpost.services.sts import StsProvider

__all__ = ["Handler", "NotImplementedOperation", "Provider", "dispatch_table", "providers"]


def providers(runtime: Runtime, authz: Authorizer) -> list[Provider]:
    """Every service provider, wired to the runtime and the authorizer."""
    kms = KmsProvider(runtime, authz)
    sqs = SqsProvider(runtime, authz, kms=kms)
    return [
        StsProvider(runtime, authz),
        IamProvider(runtime, authz),
        CloudTrailProvider(runtime, authz),
        kms,
        sqs,
        SnsProvider(runtime, authz, sqs=sqs, kms=kms),
    ]


def dispatch_table(active: list[Provider]) -> dict[tuple[str, str], Handler]:
    """(service, operation) -> handler for every implemented operation."""
    table: dict[tuple[str, str], Handler] = {}
    for provider in active:
        for name, handler in provider.handlers().items():
            table[(provider.service, name)] = handler
    return table
