"""Amazon SNS: topics, subscriptions, publish, filter policies, delivery and message signing.

The pure building blocks: :mod:`.filter_policy` (subscription filter policies),
:mod:`.signing` (the installation's RSA signing key and AWS's string-to-sign),
:mod:`.notification` (the JSON envelopes delivered to SQS and HTTP/S subscribers),
:mod:`.delivery_policy` (retry schedules), :mod:`.messages` (Publish's input rules).
The service: :mod:`.provider` composes the handler groups (:mod:`.topic_ops`,
:mod:`.subscription_ops`, :mod:`.publish_ops`) and the delivery worker (:mod:`.delivery`).
"""

from __future__ import annotations

from cipherpost.services.sns.provider import SnsProvider

__all__ = ["SnsProvider"]
