"""Crypto recipes: small, pure compositions of ``cryptography`` primitives.

- :mod:`.aead` — the one AES-256-GCM recipe everything else builds on (owns its nonces).
- :mod:`.keyring` — the root keyring that wraps KMS key material at rest.
- :mod:`.kms_blob` — the KMS ciphertext-blob format (Encrypt/Decrypt/GenerateDataKey).
- :mod:`.envelope` — SNS/SQS message-body envelope encryption under a data key.
- :mod:`.datakey_cache` — the in-memory data-key cache (reuse period, single flight).
- :mod:`.tls` — a local CA and server certificate for https listeners.

Every recipe starts its output with a format-version byte and fails closed with one
opaque error per format (see :mod:`.errors`).
"""
