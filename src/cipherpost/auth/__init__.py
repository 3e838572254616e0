"""Authentication: SigV4 request verification (header and presigned)."""
