"""Service providers and the dispatch table the server routes to."""

from __future__ import annotations

from cipherpost.runtime import Runtime
from cipherpost.services.base import Handler, NotImplementedOperation, Provider
from cipherpost.services.sts import StsProvider

__all__ = ["Handler", "NotImplementedOperation", "Provider", "dispatch_table"]


def providers(runtime: Runtime) -> list[Provider]:
    """Every service provider, wired to the runtime."""
    del runtime  # later providers take the store, keyring, etc.
    return [StsProvider()]


def dispatch_table(runtime: Runtime) -> dict[tuple[str, str], Handler]:
    """(service, operation) -> handler for every implemented operation."""
    table: dict[tuple[str, str], Handler] = {}
    for provider in providers(runtime):
        for name, handler in provider.handlers().items():
            table[(provider.service, name)] = handler
    return table
