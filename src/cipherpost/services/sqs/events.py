"""The events SQS nodes sharing a store tell each other (see :mod:`cipherpost.services.broadcast`).

- ``m <queue_id>``: messages may be available (a send, a visibility reset, a dead-letter
  move): long polls waiting on that queue on other nodes wake at once;
- ``q <account>/<queue name>``: a queue record changed (attributes, policy, tags, purge,
  deletion): other nodes drop it from their queue cache, so a policy change is enforced
  everywhere within milliseconds (the cache's few-second expiry stays as the fallback);
- ``k <key id>``: a KMS key was disabled or scheduled for deletion: other nodes drop the
  data keys it made.
"""

from __future__ import annotations

from typing import Final

CHANNEL: Final = "cipherpost_sqs"
MESSAGES: Final = "m"
QUEUE: Final = "q"
KMS_KEY: Final = "k"
