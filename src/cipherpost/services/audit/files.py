"""Writing trail files: private (0600), atomic (temp + fsync + rename), directories 0700.

Audit files are written off the event loop (``asyncio.to_thread``), so plain blocking I/O
is fine here. A reader (``audit verify``, a log shipper) never sees a half-written file.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from cipherpost.files import create_exclusive, write_atomic

FILE_MODE = 0o600
DIR_MODE = 0o700


def gzip_json(document: Any) -> bytes:
    """``document`` as compact JSON, gzipped with a fixed mtime (same input, same bytes)."""
    raw = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return gzip.compress(raw, mtime=0)


def record_json(record: Any) -> str:
    """A record as compact JSON text, non-ASCII characters as they are, except when the
    record holds a lone surrogate (a JSON request's ``\\ud800`` escape, quoted in its
    requestParameters): UTF-8 cannot carry one, so that record is written all-ASCII, with
    ``\\u`` escapes, which JSON readers take back as the same text."""
    text = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(record, separators=(",", ":"))
    return text


def gzip_records(records: list[Any]) -> bytes:
    """``{"Records": [...]}`` gzipped, as :func:`gzip_json` would write it.

    Each record is encoded on its own (:func:`record_json`), so a big file never holds the
    GIL for one long ``json.dumps`` (the event loop thread keeps getting its turns).
    """
    parts = [record_json(record) for record in records]
    return gzip.compress(('{"Records":[' + ",".join(parts) + "]}").encode("utf-8"), mtime=0)


def read_gzip_json(data: bytes) -> Any:
    """The JSON document in gzipped ``data``.

    :raises ValueError: not gzip, not UTF-8 or not JSON (``OSError``/``EOFError`` are folded in).
    """
    try:
        return json.loads(gzip.decompress(data).decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a gzipped JSON document: {exc}") from exc


def write_private(path: Path, data: bytes) -> None:
    """Create or replace ``path`` with ``data``: mode 0600, fsynced, renamed into place."""
    _make_dirs(path.parent)
    write_atomic(path, data, FILE_MODE)


def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and its parents with mode 0700 (the umask cannot widen it)."""
    if not folder.is_dir():
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def create_private(path: Path, data: bytes) -> bool:
    """Write ``path`` only if it does not exist yet (temp file hard-linked into place).

    :returns: False if another writer created ``path`` first (its file is kept).
    """
    _make_dirs(path.parent)
    return create_exclusive(path, data, FILE_MODE)
