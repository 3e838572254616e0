"""Load named SQL and schema migrations from the package's ``sql/`` and ``migrations/`` folders.

Each component (``core``, ``kms``, ``sqs``, ...) owns one file in each folder, so a service's
SQL lives beside nothing else's. See ``sql/core.sql`` and ``migrations/core.sql`` for the format.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import LiteralString

_QUERY_HEADER = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)
_VERSION_HEADER = re.compile(r"^--\s*version:\s*(\d+)\s*$", re.MULTILINE)
CORE = "core"


def _blocks(text: str, header: re.Pattern[str]) -> list[tuple[str, str]]:
    """Split text at header lines; returns (captured key, body) pairs, comments stripped."""
    pieces = header.split(text)
    out: list[tuple[str, str]] = []
    for key, body in zip(pieces[1::2], pieces[2::2], strict=True):
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        out.append((key, "\n".join(lines).strip()))
    return out


def _sql_files(folder: Traversable) -> list[Traversable]:
    if not folder.is_dir():
        return []
    return sorted((item for item in folder.iterdir() if item.name.endswith(".sql")), key=lambda item: item.name)


def _folder(*parts: str) -> Traversable:
    return resources.files("cipherpost.store").joinpath(*parts)


@cache
def queries(backend: str) -> dict[str, LiteralString]:
    """All named queries for a backend: ``sql/*.sql``, then ``sql/<backend>/*.sql`` overrides.

    Raises:
        RuntimeError: two portable files define the same query name.
    """
    found: dict[str, LiteralString] = {}
    origin: dict[str, str] = {}
    for file in _sql_files(_folder("sql")):
        for name, body in _blocks(file.read_text(encoding="utf-8"), _QUERY_HEADER):
            if name in found:
                raise RuntimeError(f"query {name!r} is defined in both {origin[name]} and {file.name}")
            found[name] = body.rstrip(";")
            origin[name] = file.name
    for file in _sql_files(_folder("sql", backend)):
        for name, body in _blocks(file.read_text(encoding="utf-8"), _QUERY_HEADER):
            found[name] = body.rstrip(";")
    return found


def migrations(types: dict[str, str]) -> list[tuple[str, int, list[str]]]:
    """Every component's schema versions, in the order to apply them.

    Returns (component, version, statements) with type placeholders filled; ``core`` comes
    first, the other components follow by name, each in ascending version order.

    Raises:
        RuntimeError: a component's versions are not unique and ascending.
    """
    out: list[tuple[str, int, list[str]]] = []
    files = _sql_files(_folder("migrations"))
    files.sort(key=lambda item: (item.name != f"{CORE}.sql", item.name))
    for file in files:
        component = file.name.removesuffix(".sql")
        blocks = _blocks(file.read_text(encoding="utf-8"), _VERSION_HEADER)
        versions = [int(version) for version, _ in blocks]
        if versions != sorted(set(versions)):
            raise RuntimeError(f"migrations/{file.name}: versions must be unique and ascending")
        for version, body in blocks:
            statements = [part.strip().format(**types) for part in body.split(";") if part.strip()]
            out.append((component, int(version), statements))
    return out
