"""The warehouse: connections and destinations, raw-table conventions and the audit log."""

from __future__ import annotations
