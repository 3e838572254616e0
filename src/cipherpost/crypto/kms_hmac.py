"""HMAC KMS keys: key generation and MAC computation over ``cryptography``'s HMAC.

AWS KMS "HMAC keys": the key length equals the digest length of the key spec's hash
(HMAC_224 -> 28 bytes, ..., HMAC_512 -> 64 bytes), and each key spec has exactly one MAC
algorithm. Verification compares in constant time (``HMAC.verify``).
"""

from __future__ import annotations

import secrets
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

__all__ = ["KEY_BYTES", "generate_mac", "generate_mac_key", "verify_mac"]

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "HMAC_SHA_224": hashes.SHA224,
    "HMAC_SHA_256": hashes.SHA256,
    "HMAC_SHA_384": hashes.SHA384,
    "HMAC_SHA_512": hashes.SHA512,
}
#: Key length in bytes per HMAC key spec.
KEY_BYTES: Final = {"HMAC_224": 28, "HMAC_256": 32, "HMAC_384": 48, "HMAC_512": 64}


def generate_mac_key(key_spec: str) -> bytes:
    """Fresh key material for an HMAC key spec.

    :raises KeyError: not an HMAC key spec.
    """
    return secrets.token_bytes(KEY_BYTES[key_spec])


def _mac(key: bytes, algorithm: str, message: bytes) -> hmac.HMAC:
    mac = hmac.HMAC(key, _HASHES[algorithm]())
    mac.update(message)
    return mac


def generate_mac(key: bytes, algorithm: str, message: bytes) -> bytes:
    """The MAC of ``message`` under ``key`` with ``algorithm`` (``HMAC_SHA_256``, ...)."""
    return _mac(key, algorithm, message).finalize()


def verify_mac(key: bytes, algorithm: str, message: bytes, mac: bytes) -> bool:
    """Whether ``mac`` is the MAC of ``message`` (constant-time comparison)."""
    try:
        _mac(key, algorithm, message).verify(mac)
    except InvalidSignature:
        return False
    return True
