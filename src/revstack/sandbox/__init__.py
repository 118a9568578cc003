"""A deterministic synthetic company and local fakes of the APIs revstack reads.

`revstack.sandbox.world` simulates a B2B SaaS business (billing, CRM, product usage) and records
its ground truth; the fakes (planned) serve that world through Stripe-, HubSpot- and
Salesforce-shaped HTTP APIs so the official clients can talk to them unchanged.
"""

from __future__ import annotations
