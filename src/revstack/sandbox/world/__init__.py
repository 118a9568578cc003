"""A deterministic synthetic B2B SaaS company and its ground truth.

`generate_world` simulates customers day by day through billing (Stripe), CRM (HubSpot,
Salesforce) and product usage, and writes what each system would hold plus the truth the
pipeline's numbers must equal. See docs/sandbox.md for every table.
"""

from __future__ import annotations

from typing import Any

from revstack.sandbox.world.config import WorldConfig

__all__ = ["WorldConfig", "WorldManifest", "generate_world", "read_manifest"]


def __getattr__(name: str) -> Any:
    # The generator imports every simulation; load it only when asked for.
    if name in ("WorldManifest", "generate_world", "read_manifest"):
        from revstack.sandbox.world import generate

        return getattr(generate, name)
    raise AttributeError(name)
