"""CloudTrail API: LookupEvents and the account's trail (one per account, named ``cipherpost``).

Every account has its trail from the start, logging management events into the data
directory (``AWSLogs/<account>/CloudTrail/...``) with digest files for validation, as if
CreateTrail had been called with log-file validation on. CreateTrail / DescribeTrails /
GetTrail / GetTrailStatus / StartLogging / StopLogging / Put|GetEventSelectors manage it;
a name other than the trail's is ``TrailNotFoundException``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cipherpost.context import RequestContext
from cipherpost.errors import AwsError
from cipherpost.services.audit import AuditTrail, lookup_events
from cipherpost.services.audit.selectors import DEFAULT_EVENT_SELECTORS
from cipherpost.services.base import Params, Provider, Result, operation


class TrailNotFoundException(AwsError):
    """This exception is thrown when the trail with the given name is not found."""

    code = "TrailNotFoundException"


class CloudTrailProvider(Provider):
    service = "cloudtrail"

    @property
    def trail(self) -> AuditTrail:
        trail = self.runtime.audit
        assert trail is not None, "the audit trail is started before providers"
        return trail

    async def _allow(self, ctx: RequestContext, action: str) -> None:
        arn = self.trail.trail_arn(ctx.caller.account_id)
        resource = "*" if action in ("LookupEvents", "DescribeTrails", "ListTrails") else arn
        self.authz.enforce(ctx, await self.authz.decide(ctx, f"cloudtrail:{action}", resource))

    def _named(self, ctx: RequestContext, name: str | None) -> None:
        """Accept the trail's name or ARN; anything else does not exist."""
        account = ctx.caller.account_id
        if name not in (None, self.trail.trail_name, self.trail.trail_arn(account)):
            raise TrailNotFoundException(f"Unknown trail: {name} for the user: {account}")

    def _trail_out(self, ctx: RequestContext) -> Result:
        account = ctx.caller.account_id
        config = self.trail.trail_config(account)
        return {
            "Name": config.name,
            "S3BucketName": f"local:{self.trail.directory}",
            "IncludeGlobalServiceEvents": True,
            "IsMultiRegionTrail": False,
            "HomeRegion": self.trail.region,
            "TrailARN": self.trail.trail_arn(account),
            "LogFileValidationEnabled": True,
            "HasCustomEventSelectors": bool(config.advanced_selectors)
            or config.event_selectors != DEFAULT_EVENT_SELECTORS,
            "HasInsightSelectors": False,
            "IsOrganizationTrail": False,
        }

    @operation("LookupEvents")
    async def lookup_events(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "LookupEvents")
        await self.trail.flush()
        return await lookup_events(self.runtime.store, ctx.caller.account_id, params, now=datetime.now(UTC))

    @operation("CreateTrail")
    async def create_trail(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "CreateTrail")
        self._named(ctx, params["Name"])
        out = self._trail_out(ctx)
        return {key: value for key, value in out.items() if key not in ("HomeRegion", "HasCustomEventSelectors",
                                                                         "HasInsightSelectors")}

    @operation("DescribeTrails")
    async def describe_trails(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "DescribeTrails")
        names = params.get("trailNameList") or []
        account = ctx.caller.account_id
        wanted = not names or any(name in (self.trail.trail_name, self.trail.trail_arn(account)) for name in names)
        return {"trailList": [self._trail_out(ctx)] if wanted else []}

    @operation("ListTrails")
    async def list_trails(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "ListTrails")
        account = ctx.caller.account_id
        return {"Trails": [{"TrailARN": self.trail.trail_arn(account), "Name": self.trail.trail_name,
                            "HomeRegion": self.trail.region}]}

    @operation("GetTrail")
    async def get_trail(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "GetTrail")
        self._named(ctx, params["Name"])
        return {"Trail": self._trail_out(ctx)}

    @operation("GetTrailStatus")
    async def get_trail_status(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "GetTrailStatus")
        self._named(ctx, params["Name"])
        return {"IsLogging": self.trail.trail_config(ctx.caller.account_id).logging}

    async def _logging(self, ctx: RequestContext, params: Params, action: str, on: bool) -> Result:
        await self._allow(ctx, action)
        self._named(ctx, params["Name"])
        await self.trail.set_logging(ctx.caller.account_id, on)
        return {}

    @operation("StartLogging")
    async def start_logging(self, ctx: RequestContext, params: Params) -> Result:
        return await self._logging(ctx, params, "StartLogging", True)

    @operation("StopLogging")
    async def stop_logging(self, ctx: RequestContext, params: Params) -> Result:
        return await self._logging(ctx, params, "StopLogging", False)

    def _selectors_out(self, ctx: RequestContext) -> Result:
        config = self.trail.trail_config(ctx.caller.account_id)
        out: dict[str, Any] = {"TrailARN": self.trail.trail_arn(ctx.caller.account_id)}
        if config.advanced_selectors:
            out["AdvancedEventSelectors"] = list(config.advanced_selectors)
        else:
            out["EventSelectors"] = list(config.event_selectors)
        return out

    @operation("PutEventSelectors")
    async def put_event_selectors(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "PutEventSelectors")
        self._named(ctx, params["TrailName"])
        selectors: dict[str, Any] = {key: params[key] for key in ("EventSelectors", "AdvancedEventSelectors")
                                     if key in params}
        await self.trail.set_event_selectors(ctx.caller.account_id, selectors)
        return self._selectors_out(ctx)

    @operation("GetEventSelectors")
    async def get_event_selectors(self, ctx: RequestContext, params: Params) -> Result:
        await self._allow(ctx, "GetEventSelectors")
        self._named(ctx, params["TrailName"])
        return self._selectors_out(ctx)
