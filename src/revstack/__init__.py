"""revstack: Stripe, Salesforce, HubSpot and product events in a warehouse, exactly once."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from revstack._telemetry import disable_telemetry_by_default

disable_telemetry_by_default()

try:
    __version__ = version("revstack")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
