"""Queue names, queue URLs and queue ARNs.

"CreateQueue" (SQS API reference): a name has 1 to 80 characters, alphanumeric, hyphens
and underscores; a FIFO queue's name ends in ``.fifo`` (the suffix counts toward the 80).
A queue URL is ``<base URL>/<account>/<name>``; AWS accepts a queue URL whatever host the
client used to reach it, so only the path decides which queue is meant, and it accepts a
bare queue name in place of the URL (a queue of the caller's account).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, urlsplit

from cipherpost.services.sqs.errors import InvalidParameterValue, QueueDoesNotExist

FIFO_SUFFIX: Final = ".fifo"
MAX_NAME_LENGTH: Final = 80
_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
_ACCOUNT: Final = re.compile(r"[0-9]{12}")
_ARN: Final = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sqs:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):(?P<name>.+)")


@dataclass(frozen=True, slots=True)
class QueueRef:
    """Which queue a request means: the owning account and the queue name."""

    account_id: str
    queue_name: str

    @property
    def fifo(self) -> bool:
        return self.queue_name.endswith(FIFO_SUFFIX)


def is_queue_name(name: str, *, fifo: bool) -> bool:
    """Whether ``name`` is a valid queue name (1-80 of ``[A-Za-z0-9_-]``, ``.fifo`` iff FIFO)."""
    stem = name.removesuffix(FIFO_SUFFIX) if fifo else name
    if fifo and not name.endswith(FIFO_SUFFIX):
        return False
    return 0 < len(name) <= MAX_NAME_LENGTH and _NAME.fullmatch(stem) is not None


def check_queue_name(name: str, *, fifo: bool) -> None:
    """Raise ``InvalidParameterValue`` unless ``name`` is a valid name for the queue type."""
    if not is_queue_name(name, fifo=fifo):
        if fifo:
            raise InvalidParameterValue(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                "must end with .fifo suffix and be 1 to 80 in length.")
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")


def queue_url(base_url: str, ref: QueueRef) -> str:
    """The public URL of a queue."""
    return f"{base_url}/{ref.account_id}/{ref.queue_name}"


def queue_arn(region: str, ref: QueueRef) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>``."""
    return f"arn:aws:sqs:{region}:{ref.account_id}:{ref.queue_name}"


def parse_queue_url(url: str, account_id: str) -> QueueRef:
    """The queue a queue URL names, from its path ``/<account>/<name>`` (any scheme and host).

    A bare queue name (no ``/``) names that queue in ``account_id``, the caller's account:
    SQS resolves it so, and SDKs configured not to use the queue URL as the endpoint send
    names this way.

    Raises:
        QueueDoesNotExist: neither a URL with a ``/<12-digit account>/<name>`` path nor a
            queue name.
    """
    text = url.strip()
    path = urlsplit(text).path if "://" in text else text
    parts = [unquote(part) for part in path.split("/") if part]
    # Only a name that could be a queue's is looked up (AWS: anything else does not exist).
    name = parts[-1] if parts else ""
    if not is_queue_name(name, fifo=name.endswith(FIFO_SUFFIX)):
        raise QueueDoesNotExist("The specified queue does not exist.")
    if len(parts) == 2 and _ACCOUNT.fullmatch(parts[0]):
        return QueueRef(parts[0], name)
    if "://" not in text and "/" not in text:
        return QueueRef(account_id, name)
    raise QueueDoesNotExist("The specified queue does not exist.")


def parse_queue_arn(arn: str) -> tuple[str, QueueRef] | None:
    """(region, queue) of a queue ARN, or None when ``arn`` is not one."""
    match = _ARN.fullmatch(arn)
    if match is None:
        return None
    return match["region"], QueueRef(match["account"], match["name"])
