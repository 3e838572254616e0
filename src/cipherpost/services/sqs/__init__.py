"""Amazon SQS: queues, messages, visibility, long polling, FIFO, dead-letter queues, queue policies."""

from __future__ import annotations

from cipherpost.services.sqs.provider import SqsProvider

__all__ = ["SqsProvider"]
