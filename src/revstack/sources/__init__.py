"""Source connectors: Stripe, Salesforce, HubSpot and product events, each on dlt."""

from __future__ import annotations
