"""SNS's unauthenticated GET links: the signing certificate, SubscribeURL and UnsubscribeURL.

AWS serves these without SigV4: the certificate is public, and the confirmation token or
the subscription ARN in the link is the proof (an UnsubscribeURL stops working when the
subscription was confirmed with AuthenticateOnUnsubscribe). They are answered before
authentication; a request that carries a signature takes the normal, authenticated path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from cipherpost import protocol
from cipherpost.errors import AwsError
from cipherpost.protocol import HttpRequest, HttpResponse, Route

if TYPE_CHECKING:
    from cipherpost.services.sns.provider import SnsProvider

_LINK_ACTIONS = ("ConfirmSubscription", "Unsubscribe")


def _signed(request: HttpRequest) -> bool:
    return "authorization" in request.headers or "X-Amz-Signature" in request.query_string


class SnsPublicLinks:
    """A public route for the gateway: answers SNS's links, ``None`` for anything else."""

    def __init__(self, provider: SnsProvider) -> None:
        self.provider = provider
        self.certificate_path = provider.certificate_path()

    async def __call__(self, request: HttpRequest, request_id: str) -> HttpResponse | None:
        if request.method != "GET":
            return None
        if request.path == self.certificate_path:
            pem = await self.provider.certificate_pem()
            return HttpResponse(200, [("content-type", "application/x-pem-file")], pem)
        if request.path != "/" or _signed(request):
            return None
        query = dict(parse_qsl(request.query_string, keep_blank_values=True))
        action = query.get("Action")
        if action not in _LINK_ACTIONS:
            return None
        model = protocol.service_model("sns", "query")
        route = Route("sns", "query", model.operation_model(action))
        try:
            if action == "ConfirmSubscription":
                result = await self.provider.public_confirm_subscription(query)
            else:
                result = await self.provider.public_unsubscribe(query)
        except AwsError as error:
            return protocol.serialize_error(error, request_id, route=route)
        return protocol.serialize_result(route, result, request_id)
