"""RSA signatures computed in child processes, fed over pipes by the event loop.

An RSA-2048 signature costs about half a millisecond of CPU. In a thread of the server it
still costs the server: the thread takes the GIL before and after each signature, from an
event loop that is busy, and each hand-off delays both. A :class:`ProcessSigner` keeps
child processes (``python -m cipherpost.crypto.signer``) that hold the private key in
memory only (it reaches them over their stdin pipe; it is never written anywhere or put on
a command line) and talks to them from the event loop itself: a request is one framed
write to a pipe, a signature one framed read, with no thread and no pickling.

Frames, big-endian. Parent to child: the key first (``u32`` length, PKCS#8 DER), then
requests (``u32`` id, ``u8`` digest, ``u32`` length, the data). Child to parent: replies
(``u32`` id, ``u16`` length, the signature; length 0: the child could not sign it). A child
exits when its stdin closes. A child that dies, or leaves a request unanswered for
:data:`REPLY_TIMEOUT` (then it is killed), fails the requests it had with
:class:`SignerUnavailable` (the caller signs some other way); the next request starts a
new one, unless children keep dying, when the signer gives up for good.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import struct
import sys
from typing import BinaryIO, Final, cast

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cipherpost.crypto.errors import CryptoError

log = logging.getLogger(__name__)

_KEY: Final = struct.Struct(">I")
_REQUEST: Final = struct.Struct(">IBI")
_REPLY: Final = struct.Struct(">IH")
_DIGESTS: Final[dict[str, int]] = {"sha1": 1, "sha256": 2}
_HASHES: Final[dict[int, type[hashes.HashAlgorithm]]] = {1: hashes.SHA1, 2: hashes.SHA256}
#: Children that may die without having signed anything before the signer gives up.
_MAX_FAILURES: Final = 3
#: A child that leaves its oldest request unanswered this long (seconds) is stopped.
REPLY_TIMEOUT: float = 30.0
_MAX_DATA: Final = 1 << 24


class SignerUnavailable(CryptoError):
    """No child process could sign: sign another way."""


class _Child(asyncio.SubprocessProtocol):
    """One child process: its pipes and the requests it has not answered yet."""

    def __init__(self) -> None:
        self.transport: asyncio.SubprocessTransport | None = None
        #: Requests sent and not answered, oldest first (a child answers in order), with when.
        self.pending: dict[int, tuple[asyncio.Future[bytes], float]] = {}
        self.alive = True
        self.signed = False
        self._loop = asyncio.get_running_loop()
        self.exited: asyncio.Future[None] = self._loop.create_future()
        self._buffer = bytearray()
        self._watchdog: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.SubprocessTransport, transport)  # (uvloop's is not a subclass)

    def send(self, frame: bytes) -> None:
        """Write one frame to the child's stdin."""
        assert self.transport is not None
        cast(asyncio.WriteTransport, self.transport.get_pipe_transport(0)).write(frame)

    def request(self, request_id: int, frame: bytes) -> asyncio.Future[bytes]:
        """Send a signing request; its future gets the signature."""
        future: asyncio.Future[bytes] = self._loop.create_future()
        self.pending[request_id] = (future, self._loop.time())
        self.send(frame)
        if self._watchdog is None:
            self._watchdog = self._loop.call_later(REPLY_TIMEOUT, self._watch)
        return future

    def _watch(self) -> None:
        """Stop a child that stopped answering (alive but stuck): its requests fail, and are
        signed another way; the next request starts a new child."""
        self._watchdog = None
        if not self.alive or not self.pending:
            return
        _, sent = next(iter(self.pending.values()))
        waited = self._loop.time() - sent
        if waited < REPLY_TIMEOUT:
            self._watchdog = self._loop.call_later(REPLY_TIMEOUT - waited, self._watch)
            return
        log.error("signer: a signing process left a request unanswered for %.0f s; stopping it", waited)
        self._lost()
        if self.transport is not None:
            self.transport.kill()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            return
        buffer = self._buffer
        buffer += data
        offset = 0
        while len(buffer) - offset >= _REPLY.size:
            request_id, length = _REPLY.unpack_from(buffer, offset)
            end = offset + _REPLY.size + length
            if len(buffer) < end:
                break
            future, _ = self.pending.pop(request_id, (None, 0.0))
            if future is not None and not future.done():
                if length:
                    self.signed = True
                    future.set_result(bytes(buffer[offset + _REPLY.size:end]))
                else:
                    future.set_exception(SignerUnavailable("the signing process could not sign"))
            offset = end
        del buffer[:offset]

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._lost()

    def process_exited(self) -> None:
        self._lost()
        if not self.exited.done():
            self.exited.set_result(None)

    def _lost(self) -> None:
        self.alive = False
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        pending, self.pending = self.pending, {}
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(SignerUnavailable("the signing process exited"))


class ProcessSigner:
    """RSA PKCS#1 v1.5 signatures by ``processes`` child processes (started when first needed).

    Use from one event loop; :meth:`close` stops the children.
    """

    def __init__(self, key: rsa.RSAPrivateKey, *, processes: int = 1) -> None:
        if processes < 1:
            raise ValueError("a ProcessSigner needs at least one process")
        self._der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
        self._children: list[_Child | None] = [None] * processes
        self._spawning = asyncio.Lock()
        self._ids = itertools.count(1)
        self._failures = 0
        self._closed = False

    async def sign(self, data: bytes, digest: str) -> bytes:
        """The signature of ``data`` with ``digest`` ("sha1" or "sha256").

        :raises SignerUnavailable: no child could sign it (closed, or children keep dying).
        :raises ValueError: an unknown digest, or more data than a request may carry.
        """
        code = _DIGESTS.get(digest)
        if code is None or len(data) > _MAX_DATA:
            raise ValueError(f"cannot sign {len(data)} bytes with {digest!r}")
        child = self._least_busy() or await self._respawned()
        request_id = next(self._ids) & 0xFFFFFFFF
        return await child.request(request_id, _REQUEST.pack(request_id, code, len(data)) + data)

    async def start(self) -> None:
        """Start the children now rather than at the first signature."""
        await self._respawned()

    async def close(self) -> None:
        """Stop the children (each answers what it was sent, then exits); later calls fail."""
        self._closed = True
        async with self._spawning:
            children, self._children = self._children, [None] * len(self._children)
        for child in children:
            if child is None or child.transport is None:
                continue
            stdin = child.transport.get_pipe_transport(0)
            if stdin is not None:
                stdin.close()
            try:
                await asyncio.wait_for(asyncio.shield(child.exited), 5)
            except TimeoutError:
                log.warning("signer: a signing process did not exit; killing it")
            child.transport.close()

    def _least_busy(self) -> _Child | None:
        """The live child with the fewest requests in hand, if every child lives."""
        best: _Child | None = None
        for child in self._children:
            if child is None or not child.alive:
                return None
            if best is None or len(child.pending) < len(best.pending):
                best = child
        return None if self._closed else best

    async def _respawned(self) -> _Child:
        """Start a child in every slot whose child is missing or dead; the least busy child."""
        async with self._spawning:
            for index, child in enumerate(self._children):
                if self._closed or self._failures >= _MAX_FAILURES:
                    raise SignerUnavailable("process signing is not available")
                if child is not None and child.alive:
                    continue
                if child is not None and child.transport is not None:
                    child.transport.close()
                if child is not None and not child.signed:
                    self._failures += 1  # it died without signing anything
                    if self._failures >= _MAX_FAILURES:
                        log.error("signer: signing processes keep exiting; signing in the server process")
                        raise SignerUnavailable("process signing is not available")
                try:
                    self._children[index] = await self._spawn()
                except Exception as exc:
                    self._failures = _MAX_FAILURES
                    log.error("signer: cannot start a signing process (%s); signing in the server process", exc)
                    raise SignerUnavailable("process signing is not available") from exc
        child = self._least_busy()
        if child is None:
            raise SignerUnavailable("process signing is not available")
        return child

    async def _spawn(self) -> _Child:
        loop = asyncio.get_running_loop()
        _, child = await loop.subprocess_exec(_Child, sys.executable, "-m", __name__, stdin=asyncio.subprocess.PIPE,
                                              stdout=asyncio.subprocess.PIPE, stderr=None)
        child.send(_KEY.pack(len(self._der)) + self._der)
        return child


def _read(stream: BinaryIO, count: int) -> bytes | None:
    """``count`` bytes from a pipe (a buffered read blocks until it has them), or None at its end."""
    data = stream.read(count)
    return data if len(data) == count else None


def _serve() -> None:
    """The child: read the key, then sign requests until stdin closes."""
    # Ctrl-C reaches the whole process group: the server stops us by closing stdin, after
    # the signatures its shutdown may still need.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = sys.stdin.buffer
    header = _read(stdin, _KEY.size)
    der = _read(stdin, _KEY.unpack(header)[0]) if header else None
    if der is None:
        return
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SystemExit("signer: not an RSA key")
    while (request := _read(stdin, _REQUEST.size)) is not None:
        request_id, code, length = _REQUEST.unpack(request)
        data = _read(stdin, length) if length else b""
        if data is None:
            return
        algorithm = _HASHES.get(code)
        try:
            signature = key.sign(data, padding.PKCS1v15(), algorithm()) if algorithm else b""
        except ValueError:
            signature = b""
        reply = memoryview(_REPLY.pack(request_id, len(signature)) + signature)
        while reply:
            reply = reply[os.write(1, reply):]


if __name__ == "__main__":
    _serve()
