"""What a service provider is: a class whose ``@operation``-marked methods handle AWS operations.

A handler is ``async (ctx, params) -> result``: the request context and the parsed request
dict in, the response dict out (shaped like the operation's output in botocore's model), or
a raised :class:`cipherpost.errors.AwsError`. It knows nothing of HTTP, XML or JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from cipherpost.context import RequestContext
from cipherpost.errors import AwsError
from cipherpost.runtime import Runtime
from cipherpost.services.authz import Authorizer

Params = dict[str, Any]
Result = dict[str, Any]
Handler = Callable[[RequestContext, Params], Awaitable[Result]]
_F = TypeVar("_F", bound=Callable[..., Awaitable[Result]])
_MARK = "__cipherpost_operation__"


async def cancel_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a provider's background task (a sweeper, a worker) and wait until it has ended."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def operation(name: str) -> Callable[[_F], _F]:
    """Mark a provider method as the handler of AWS operation ``name``."""

    def mark(func: _F) -> _F:
        setattr(func, _MARK, name)
        return func

    return mark


class NotImplementedOperation(AwsError):
    """This operation is not implemented by Cipherpost yet."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


class Provider:
    """Base class of service providers; ``service`` is our service name (``sts``, ``sqs``, ...).

    A provider gets the runtime (settings, store, keyring, ...) and the authorizer; it keeps
    whatever state it needs (caches) on itself.
    """

    service: ClassVar[str]

    def __init__(self, runtime: Runtime, authz: Authorizer) -> None:
        self.runtime = runtime
        self.authz = authz

    async def start(self) -> None:
        """Start background work (e.g. due key deletions); called once the store is open."""

    async def stop(self) -> None:
        """Stop background work; called before the store closes."""

    def handlers(self) -> dict[str, Handler]:
        """The dispatch table: operation name -> bound handler, from the ``@operation`` marks."""
        table: dict[str, Handler] = {}
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                name = getattr(value, _MARK, None)
                if name is not None:
                    table[name] = getattr(self, attr)
        return table
