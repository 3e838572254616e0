"""Amazon SNS: topics, subscriptions, publish, filter policies, delivery and message signing.

The pure building blocks live here first: :mod:`.filter_policy` (subscription filter
policies), :mod:`.signing` (the installation's RSA signing key and AWS's string-to-sign),
and :mod:`.notification` (the JSON envelopes delivered to SQS and HTTP/S subscribers).
"""
