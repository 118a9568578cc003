"""The Stripe connector: billing objects and events into ``raw_stripe``, exactly once.

Streams and how each is read are listed in this package's README. Entry points:
`revstack.sources.stripe.run.ingest_stripe` (the ``revstack ingest stripe`` command) and
`revstack.sources.stripe.inbox_loader.load_inbox` (webhook events from the durable inbox).
"""

from __future__ import annotations
