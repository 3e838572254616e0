"""SNS's errors: small classes whose docstring is the default message.

SNS answers every malformed parameter with ``InvalidParameter`` (HTTP 400); the message
names the parameter, as AWS does: ``Invalid parameter: FilterPolicy: ...``.
"""

from __future__ import annotations

from cipherpost.protocol.errors import InvalidParameter

__all__ = ["InvalidFilterPolicy", "InvalidParameter", "filter_policy_error"]

FILTER_POLICY_PREFIX = "Invalid parameter: FilterPolicy: "


class InvalidFilterPolicy(InvalidParameter):
    """Invalid parameter: FilterPolicy: the filter policy is invalid."""


def filter_policy_error(detail: str) -> InvalidFilterPolicy:
    """An :class:`InvalidFilterPolicy` whose message is AWS's prefix followed by ``detail``."""
    return InvalidFilterPolicy(FILTER_POLICY_PREFIX + detail)
