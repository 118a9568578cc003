"""A fake HubSpot API serving a synthetic world's ``hubspot/`` files as of the sandbox clock.

``create_app`` (app.py) wires the parts: the world's versions (world.py, records.py) and the
API's writes (store.py, writes.py); property definitions and value checks (properties.py,
values.py); the CRM v3 object, batch and search endpoints (objects.py, batch.py, search.py);
v4 associations; owners, pipelines and properties (metadata.py); custom events (events.py);
webhook events and their signed delivery (webhook_events.py, webhook_delivery.py); and the
``/_sandbox/hubspot`` control endpoints (control.py).
"""

from __future__ import annotations
