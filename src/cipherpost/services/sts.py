"""STS: who am I (GetCallerIdentity). AssumeRole and GetSessionToken come with IAM."""

from __future__ import annotations

from cipherpost.context import RequestContext
from cipherpost.services.base import Params, Provider, Result, operation


class StsProvider(Provider):
    service = "sts"

    @operation("GetCallerIdentity")
    async def get_caller_identity(self, ctx: RequestContext, params: Params) -> Result:
        caller = ctx.caller
        return {"UserId": caller.principal_id, "Account": caller.account_id, "Arn": caller.arn}
