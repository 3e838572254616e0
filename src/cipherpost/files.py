"""Reading and writing files that hold secrets (keyring, keys, credentials, audit files):
never more accessible than their mode, fsynced, and never seen half written."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def read_limited(path: Path, limit: int) -> tuple[bytes, int]:
    """At most ``limit`` bytes of a regular file, and the mode of the file actually read.

    The mode comes from ``fstat`` on the open descriptor, so it describes the bytes
    returned even if the name is swapped meanwhile.

    :raises FileNotFoundError: there is no such file.
    :raises IsADirectoryError: or another ``OSError``, if it is not a readable regular file.
    """
    fd = os.open(path, os.O_RDONLY | _CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(f"{path} is not a regular file")
        with os.fdopen(os.dup(fd), "rb") as file:
            return file.read(limit), info.st_mode
    finally:
        os.close(fd)


def too_open(mode: int) -> bool:
    """Whether group or other users have any access (POSIX; Windows modes say nothing)."""
    return os.name == "posix" and bool(mode & 0o077)


def create_exclusive(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` to ``path`` only if it does not exist; ``False`` if it already did.

    The bytes go to a fresh temporary file (see :func:`_write_temp`), which is then
    hard-linked into place: ``link`` fails if ``path`` exists, so an existing file is never
    replaced, and a reader never sees it half written.
    """
    tmp = _write_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    fsync_directory(path.parent)
    return True


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data`` (rename of a fresh temporary file over it)."""
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    """A new fsynced file next to ``path`` holding ``data``, with exactly ``mode``.

    It is created by ``os.open`` with ``O_CREAT | O_EXCL`` and ``mode``, so it is never
    more accessible than ``mode``, not even while empty; ``fchmod`` then sets exactly
    ``mode`` whatever the umask took away (certificates must be 0644).
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            if hasattr(os, "fchmod"):
                os.fchmod(file.fileno(), mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def fsync_directory(directory: Path) -> None:
    """Make new directory entries durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
