"""Local fakes of the Stripe, HubSpot and Salesforce APIs, serving a synthetic world.

Each fake is an ASGI app that follows its real API's public contract closely enough for the
official clients (`stripe`, `hubspot-api-client`, `simple-salesforce`) to talk to it unchanged.
They serve the world as of a shared sandbox clock and can be made as hostile as the real thing
with a fault profile. See docs/sandbox.md for every deliberate difference from the real APIs.
"""

from __future__ import annotations
