"""The fake Stripe API: the synthetic world's Stripe account served as of the sandbox clock.

`create_app` (in `app.py`) builds the ASGI app. The official `stripe` SDK talks to it unchanged
through ``StripeClient(key, base_addresses={"api": url})``. docs/sandbox.md ("Fake Stripe")
lists what is served and every deliberate difference from the real API.
"""

from __future__ import annotations
