"""Authentication: from a SigV4-signed request to the :class:`Caller` who signed it."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from datetime import datetime, timedelta

from cipherpost.auth import sigv4
from cipherpost.auth.credentials import ACTIVE, CredentialStore, root_caller
from cipherpost.auth.sigv4_canonical import SignedRequest
from cipherpost.context import Caller
from cipherpost.errors import ExpiredToken, InvalidClientTokenId
from cipherpost.store import Store

log = logging.getLogger(__name__)

_ACCOUNT_ID = re.compile(r"^\d{12}$")


def token_hash(token: str) -> str:
    """How session tokens are stored: SHA-256, hex (the token itself is a bearer secret)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Authenticator:
    """Verifies SigV4 against the credential store (or, in dev mode, trusts the access key id)."""

    def __init__(
        self,
        credentials: CredentialStore,
        store: Store,
        *,
        region: str,
        default_account: str,
        max_skew: timedelta,
        dev: bool = False,
    ) -> None:
        self._credentials = credentials
        self._store = store
        self._region = region
        self._default_account = default_account
        self._max_skew = max_skew
        self._dev = dev
        self._known_accounts: set[str] = {default_account}

    @staticmethod
    def signed_service(request: SignedRequest) -> str | None:
        """The service named in the request's credential scope, if any (for routing)."""
        return sigv4.scope_service(request)

    async def authenticate(self, request: SignedRequest, now: datetime, service: str) -> Caller:
        """The principal who signed ``request`` for ``service``.

        Raises:
            MissingAuthenticationToken, IncompleteSignature: no or malformed SigV4.
            InvalidClientTokenId: unknown or inactive access key, or a wrong session token.
            ExpiredToken: temporary credentials past their expiry.
            SignatureDoesNotMatch, RequestExpired: the signature does not verify.
        """
        credential = sigv4.parse(request)
        key = await self._credentials.lookup(credential.access_key_id)
        if self._dev and key is None:
            # Dev mode trusts unknown keys; a key Cipherpost issued (an IAM user's, or a role
            # session's from AssumeRole) still stands for its principal, so that suites using
            # role chaining or ABAC see the same principal as AWS would.
            return await self._dev_caller(credential.access_key_id)
        if key is None or key.status != ACTIVE:
            raise InvalidClientTokenId("The security token included in the request is invalid.")
        if key.session_token_hash is not None:
            presented = credential.security_token
            if presented is None or not hmac.compare_digest(token_hash(presented), key.session_token_hash):
                raise InvalidClientTokenId("The security token included in the request is invalid.")
            if key.expires_at is not None and now.timestamp() >= key.expires_at:
                raise ExpiredToken("The security token included in the request is expired")
        sigv4.verify(
            request, credential, key.secret, now=now, region=self._region, service=service, max_skew=self._max_skew
        )
        return key.caller

    async def _dev_caller(self, access_key_id: str) -> Caller:
        """Dev mode: a 12-digit key selects that account (created on first use), else the default root."""
        if not _ACCOUNT_ID.match(access_key_id):
            return root_caller(self._default_account, access_key_id)
        if access_key_id not in self._known_accounts:
            await self._store.execute("account_insert", account_id=access_key_id, created_at=int(time.time()))
            self._known_accounts.add(access_key_id)
        return root_caller(access_key_id, access_key_id)

