"""ProcessSigner: RSA signatures from child processes, and what happens when a child dies."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cipherpost.crypto import signer as signer_module
from cipherpost.crypto.signer import ProcessSigner, SignerUnavailable


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verifies(key: rsa.RSAPrivateKey, signature: bytes, data: bytes, algorithm: hashes.HashAlgorithm) -> bool:
    key.public_key().verify(signature, data, padding.PKCS1v15(), algorithm)  # raises if not
    return True


def test_signatures_from_two_processes_verify(key: rsa.RSAPrivateKey) -> None:
    async def main() -> list[bytes]:
        signer = ProcessSigner(key, processes=2)
        try:
            return await asyncio.gather(*(signer.sign(b"message %d" % n, "sha1" if n % 2 else "sha256")
                                          for n in range(40)))
        finally:
            await signer.close()

    signatures = asyncio.run(main())
    for n, signature in enumerate(signatures):
        assert verifies(key, signature, b"message %d" % n, hashes.SHA1() if n % 2 else hashes.SHA256())


def replaced_after(key: rsa.RSAPrivateKey, harm: Callable[[ProcessSigner, int], Awaitable[None]]) -> None:
    """Sign once, ``harm(signer, pid)`` the child, then check a new child signs."""

    async def main() -> None:
        signer = ProcessSigner(key, processes=1)
        try:
            assert verifies(key, await signer.sign(b"first", "sha256"), b"first", hashes.SHA256())
            child = signer._children[0]
            assert child is not None and child.transport is not None
            await harm(signer, child.transport.get_pid())
            await asyncio.wait_for(asyncio.shield(child.exited), 5)  # gone, not left stopped
            assert verifies(key, await signer.sign(b"after", "sha256"), b"after", hashes.SHA256())
            assert signer._children[0] is not child
        finally:
            await signer.close()

    asyncio.run(main())


def test_a_dead_child_fails_its_requests_and_is_replaced(key: rsa.RSAPrivateKey) -> None:
    async def kill(signer: ProcessSigner, pid: int) -> None:
        pending = [asyncio.ensure_future(signer.sign(b"x" * 100, "sha256")) for _ in range(200)]
        await asyncio.sleep(0)
        os.kill(pid, signal.SIGKILL)
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        assert any(isinstance(outcome, SignerUnavailable) for outcome in outcomes)
        assert all(isinstance(outcome, bytes | SignerUnavailable) for outcome in outcomes)

    replaced_after(key, kill)


def test_a_stuck_child_is_stopped_and_replaced(key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that stops answering (here: SIGSTOP) fails its requests after REPLY_TIMEOUT,
    is killed, and the next request gets a new child."""
    monkeypatch.setattr(signer_module, "REPLY_TIMEOUT", 0.3)

    async def stop(signer: ProcessSigner, pid: int) -> None:
        os.kill(pid, signal.SIGSTOP)
        with pytest.raises(SignerUnavailable):
            await asyncio.wait_for(signer.sign(b"stuck", "sha256"), 5)

    replaced_after(key, stop)


def test_children_that_keep_dying_make_it_give_up(key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    spawned: list[int] = []

    async def doomed(self: ProcessSigner) -> signer_module._Child:
        spawned.append(1)
        loop = asyncio.get_running_loop()
        _, child = await loop.subprocess_exec(signer_module._Child, sys.executable, "-c", "raise SystemExit(3)",
                                              stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        return child

    monkeypatch.setattr(ProcessSigner, "_spawn", doomed)

    async def main() -> None:
        signer = ProcessSigner(key, processes=1)
        try:
            for _ in range(5):
                with pytest.raises(SignerUnavailable):
                    await signer.sign(b"data", "sha256")
                await asyncio.sleep(0.05)
        finally:
            await signer.close()

    asyncio.run(main())
    assert len(spawned) == 3  # then it stops trying


def test_closed_signer_and_bad_requests(key: rsa.RSAPrivateKey) -> None:
    async def main() -> None:
        signer = ProcessSigner(key, processes=1)
        with pytest.raises(ValueError):
            await signer.sign(b"data", "md5")
        await signer.close()
        with pytest.raises(SignerUnavailable):
            await signer.sign(b"data", "sha256")

    asyncio.run(main())
    with pytest.raises(ValueError):
        ProcessSigner(key, processes=0)
