"""Identifiers that need uniqueness, not secrecy: request ids, message ids, delivery ids.

They are echoed to clients, logged and stored, and an attacker gains nothing by predicting
one (nothing is authorized by knowing an id; receipt handles and confirmation tokens, which
are, come from ``secrets``). So a Mersenne Twister seeded with 2,496 bytes from
``os.urandom`` serves instead of :func:`uuid.uuid4`, which pays a ``getrandom`` syscall and
a ``UUID`` object per id: on the hot paths (every request, every message and every
delivery) that is several ids per call. Reseeded in a forked child, so two processes never
share a stream; two nodes share one with negligible probability (2^-122 per pair of ids,
as for uuid4).
"""

from __future__ import annotations

import os
import random
from typing import Final

_IDS: Final = random.Random()
os.register_at_fork(after_in_child=_IDS.seed)
#: RFC 4122 version-4 bits: clear the version nibble and variant bits, then set ``4`` and ``10``.
_UUID4_CLEAR: Final = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET: Final = (4 << 76) | (0x8000 << 48)


def random_uuid() -> str:
    """A fresh id spelled as a random (version 4) UUID, like ``str(uuid.uuid4())``."""
    digits = f"{_IDS.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
