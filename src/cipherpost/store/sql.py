"""Load named SQL from the package's ``.sql`` files."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import LiteralString

_QUERY_HEADER = re.compile(r"^--\s*name:\s*([a-z0-9_]+)\s*$", re.MULTILINE)
_VERSION_HEADER = re.compile(r"^--\s*version:\s*(\d+)\s*$", re.MULTILINE)


def _blocks(text: str, header: re.Pattern[str]) -> list[tuple[str, str]]:
    """Split text at header lines; returns (captured key, body) pairs, comments stripped."""
    pieces = header.split(text)
    out: list[tuple[str, str]] = []
    for key, body in zip(pieces[1::2], pieces[2::2], strict=True):
        lines = [line for line in body.splitlines() if not line.lstrip().startswith("--")]
        out.append((key, "\n".join(lines).strip()))
    return out


def _read(name: str) -> str:
    resource = resources.files("cipherpost.store").joinpath(name)
    return resource.read_text(encoding="utf-8") if resource.is_file() else ""


@cache
def queries(backend: str) -> dict[str, LiteralString]:
    """All named queries for a backend: the portable file, then ``queries.<backend>.sql`` overrides."""
    found: dict[str, LiteralString] = {}
    for file in ("queries.sql", f"queries.{backend}.sql"):
        for name, body in _blocks(_read(file), _QUERY_HEADER):
            found[name] = body.rstrip(";")
    return found


def migrations(types: dict[str, str]) -> list[tuple[int, list[str]]]:
    """Schema versions in order, each as its list of statements with type placeholders filled."""
    out: list[tuple[int, list[str]]] = []
    for version, body in _blocks(_read("migrations.sql"), _VERSION_HEADER):
        statements = [part.strip().format(**types) for part in body.split(";") if part.strip()]
        out.append((int(version), statements))
    versions = [version for version, _ in out]
    if versions != sorted(set(versions)):
        raise RuntimeError("migrations.sql: versions must be unique and ascending")
    return out
