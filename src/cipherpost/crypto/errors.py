"""Errors raised by the crypto recipes.

These are internal errors, not AWS errors: services translate them at their own layer
(e.g. :class:`InvalidCiphertext` becomes KMS ``InvalidCiphertextException``). The class
docstring is the default message.

The decryption-side errors are deliberately opaque: a malformed blob, a wrong version
byte, a truncated input, a wrong key, a wrong context and a forged tag all raise the same
class with the same message, so a caller (or an attacker probing the service) learns
nothing about *which* check failed.
"""

from __future__ import annotations


class CryptoError(Exception):
    """A cryptographic operation failed."""

    def __init__(self, message: str | None = None) -> None:
        doc = " ".join((type(self).__doc__ or type(self).__name__).split())
        self.message = doc if message is None else message
        super().__init__(self.message)


class DecryptionError(CryptoError):
    """The data could not be decrypted."""


class InvalidCiphertext(CryptoError):
    """The ciphertext is invalid, was not produced by this installation, or does not match
    the key or encryption context."""


class InvalidEnvelope(CryptoError):
    """The sealed message body is malformed or could not be decrypted."""


class UnwrapError(CryptoError):
    """The wrapped key could not be unwrapped: it is malformed, was tampered with, or was
    wrapped for another purpose."""


class ForeignRootKeyError(UnwrapError):
    """The wrapped key was wrapped under a different root key (another installation, or a
    root key this keyring does not hold)."""


class KeyringError(CryptoError):
    """The root keyring could not be loaded."""


class KeyringPermissionError(KeyringError):
    """The root keyring file is accessible to group or other users; refusing to use it."""


class KeyringCorruptError(KeyringError):
    """The root keyring file is corrupt (wrong size, magic, version or checksum)."""


class TlsFilesError(CryptoError):
    """The local TLS files could not be used."""


class InvalidTlsHost(TlsFilesError, ValueError):
    """A requested TLS host is neither an IP address nor a valid DNS name."""
