"""One API call as one CloudTrail record (pure: no I/O, no clock, no randomness but the event id).

The shape follows CloudTrail's documented record contents (eventVersion 1.09): who called
(``userIdentity``), what (``eventSource``/``eventName``, ``requestParameters``,
``responseElements``, ``resources``), when, from where (``sourceIPAddress``,
``vpcEndpointId``, ``tlsDetails``) and with what outcome (``errorCode``/``errorMessage``).
Secrets never enter a record: see :mod:`cipherpost.services.audit.redact`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cipherpost.context import Caller, RequestContext
from cipherpost.errors import AwsError
from cipherpost.ids import random_uuid
from cipherpost.services.audit import redact
from cipherpost.services.audit.tables import (
    NULL_RESPONSE,
    RESOURCE_MEMBERS,
    ResourceKind,
    is_data_event,
    is_read_only,
)

EVENT_VERSION = "1.09"


def event_source(service: str) -> str:
    """CloudTrail's eventSource of one of our services (``kms`` -> ``kms.amazonaws.com``)."""
    return f"{service}.amazonaws.com"


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC to the second, as CloudTrail writes eventTime (``2024-05-01T12:00:00Z``)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time` (any ISO 8601 text with an offset or ``Z``).

    :raises ValueError: not such a text.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone")
    return moment.astimezone(UTC)


def build_event(
    ctx: RequestContext,
    *,
    params: Mapping[str, Any] | None,
    result: Mapping[str, Any] | None,
    error: AwsError | None,
    event_time: datetime,
    management: bool | None = None,
    session_created_at: datetime | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """The CloudTrail record of one API call.

    :param params: the parsed request (AWS member names), or None.
    :param result: the handler's response dict; ignored when ``error`` is given.
    :param error: the AWS error the call failed with (a denial included), or None.
    :param event_time: when the call was made (normally ``ctx.received_at``).
    :param management: whether this is a management event; None looks it up in
        :data:`~cipherpost.services.audit.tables.DATA_EVENTS`.
    :param session_created_at: when an assumed-role session was issued, if known.
    :param host: the Host header the client sent, for ``tlsDetails``.
    :returns: a JSON-ready dict; secrets are removed or hidden.
    """
    service, operation = ctx.service, ctx.operation
    if management is None:
        management = not is_data_event(service, operation)
    service_actor = _acting_service(ctx)
    event: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(ctx.caller, ctx.invoked_by, session_created_at),
        "eventTime": format_time(event_time),
        "eventSource": event_source(service),
        "eventName": operation,
        "awsRegion": ctx.region,
        # CloudTrail writes the acting service's name as the address and agent of a call a
        # service made on a principal's behalf.
        "sourceIPAddress": service_actor or ctx.source_ip,
        "userAgent": service_actor or ctx.user_agent,
    }
    if error is not None:
        event["errorCode"] = error.code
        event["errorMessage"] = error.message
    event["requestParameters"] = redact.request_parameters(service, operation, params)
    null_response = error is not None or (service, operation) in NULL_RESPONSE
    event["responseElements"] = None if null_response else redact.response_elements(service, operation, result)
    event["requestID"] = ctx.request_id
    event["eventID"] = random_uuid()
    event["readOnly"] = is_read_only(service, operation)
    found = resources(ctx, params, None if error is not None else result)
    if found:
        event["resources"] = found
    event["eventType"] = "AwsApiCall"
    event["managementEvent"] = management
    event["recipientAccountId"] = ctx.caller.account_id
    if ctx.endpoint_id is not None:
        event["vpcEndpointId"] = ctx.endpoint_id
    event["eventCategory"] = "Management" if management else "Data"
    if ctx.tls is not None:
        event["tlsDetails"] = _tls_details(ctx, host)
    return event


def _acting_service(ctx: RequestContext) -> str | None:
    """The service principal that made the call (on its own or for a caller), if any."""
    if ctx.invoked_by is not None:
        return ctx.invoked_by
    return ctx.caller.arn if ctx.caller.is_service else None


def user_identity(caller: Caller, invoked_by: str | None, session_created_at: datetime | None) -> dict[str, Any]:
    """CloudTrail's userIdentity element for ``caller`` (``invokedBy`` when a service acted)."""
    if caller.is_service:
        return {"type": "AWSService", "invokedBy": caller.arn}
    identity: dict[str, Any] = {
        "type": caller.kind,
        "principalId": caller.principal_id,
        "arn": caller.arn,
        "accountId": caller.account_id,
    }
    if caller.access_key_id is not None:
        identity["accessKeyId"] = caller.access_key_id
    if caller.kind == "IAMUser" and caller.user_name is not None:
        identity["userName"] = caller.user_name
    if caller.kind == "AssumedRole":
        identity["sessionContext"] = session_context(caller, session_created_at)
    if invoked_by is not None:
        identity["invokedBy"] = invoked_by
    return identity


def session_context(caller: Caller, created_at: datetime | None) -> dict[str, Any]:
    """The sessionContext of an assumed-role caller; the issuer is derived from the session ARN.

    ``arn:aws:sts::A:assumed-role/R/S`` was issued by role ``arn:aws:iam::A:role/R`` (a role
    path, which the session ARN does not carry, is not recovered); the role's id is the part
    of the principal id before ``:``.
    """
    role_name = caller.arn.split(":", 5)[-1].split("/")[1] if "assumed-role/" in caller.arn else ""
    attributes: dict[str, Any] = {"mfaAuthenticated": "false"}
    if created_at is not None:
        attributes = {"creationDate": format_time(created_at), **attributes}
    return {
        "sessionIssuer": {
            "type": "Role",
            "principalId": caller.principal_id.split(":", 1)[0],
            "arn": f"arn:aws:iam::{caller.account_id}:role/{role_name}",
            "accountId": caller.account_id,
            "userName": role_name,
        },
        "attributes": attributes,
    }


def _tls_details(ctx: RequestContext, host: str | None) -> dict[str, Any]:
    """tlsDetails, as CloudTrail records it for calls made over TLS."""
    assert ctx.tls is not None
    details: dict[str, Any] = {"tlsVersion": ctx.tls.version, "cipherSuite": ctx.tls.cipher}
    if host is not None:
        details["clientProvidedHostHeader"] = host
    return details


def resources(
    ctx: RequestContext, params: Mapping[str, Any] | None, result: Mapping[str, Any] | None
) -> list[dict[str, str]]:
    """The resources a call touched, best effort from the members in ``RESOURCE_MEMBERS``.

    A KMS key named by an alias is left out unless the result names the key itself (the KMS
    cryptographic operations return the key's ARN as ``KeyId``).
    """
    members = RESOURCE_MEMBERS.get(ctx.service, {})
    found: dict[str, dict[str, str]] = {}
    for source in (params, result):
        if not source:
            continue
        for member, kind in members.items():
            value = source.get(member)
            arn = _resource_arn(ctx, kind, value) if isinstance(value, str) else None
            if arn is not None:
                found.setdefault(arn, {"ARN": arn, "accountId": _arn_account(arn), "type": kind.value})
    metadata = result.get("KeyMetadata") if result else None
    if isinstance(metadata, Mapping) and isinstance(metadata.get("Arn"), str):
        arn = metadata["Arn"]
        found.setdefault(arn, {"ARN": arn, "accountId": _arn_account(arn), "type": ResourceKind.KMS_KEY.value})
    return list(found.values())


def _resource_arn(ctx: RequestContext, kind: ResourceKind, value: str) -> str | None:
    """The ARN a member value names, or None when it cannot be told without a lookup."""
    if kind is ResourceKind.SQS_QUEUE:
        return _queue_arn(ctx.region, value)
    if kind is ResourceKind.SNS_TOPIC:
        return value if value.startswith("arn:") else None
    if value.startswith("arn:"):
        return value if ":key/" in value else None
    if value.startswith("alias/") or not value:
        return None
    return f"arn:aws:kms:{ctx.region}:{ctx.caller.account_id}:key/{value}"


def _queue_arn(region: str, queue_url: str) -> str | None:
    """``http(s)://host/<account>/<name>`` -> ``arn:aws:sqs:<region>:<account>:<name>``."""
    parts = [part for part in urlsplit(queue_url).path.split("/") if part]
    if len(parts) < 2 or not parts[-2].isdigit():
        return None
    return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"


def _arn_account(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 4 else ""
