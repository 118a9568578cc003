"""`truth/counts.json`: how many objects of each kind the world's systems hold at its end.

Keys are ``<system>.<API object name>``: ``stripe.charge``, ``hubspot.contact``,
``salesforce.Account``, ``product.event``... Records that were archived, deleted or merged
still count (the systems still hold or held them); versioned tables count distinct records.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from revstack.sandbox.world.stripe_record import OBJECT_TABLES
from revstack.sandbox.world.tables import WorldWriter

_HUBSPOT_SINGULAR = {
    "companies": "company",
    "contacts": "contact",
    "deals": "deal",
    "owners": "owner",
    "associations": "association",
}


def count_world(root: Path, writer: WorldWriter) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, table in OBJECT_TABLES.items():
        counts[f"stripe.{kind}"] = writer.row_counts[table.path]
    counts["stripe.event"] = writer.row_counts["stripe/events"]
    for path, rows in writer.row_counts.items():
        system, _, name = path.partition("/")
        records = writer.record_counts.get(path, rows)
        if system == "hubspot":
            counts[f"hubspot.{_HUBSPOT_SINGULAR.get(name, name)}"] = records
        elif system == "salesforce":
            counts[f"salesforce.{name}"] = records
    counts["product.event"] = writer.row_counts["product/events"]
    usage = pq.read_table(root / "truth/product_usage_daily.parquet", columns=["events"])
    counts["product.event_unique"] = int(pc.sum(usage["events"]).as_py() or 0)
    intervals = pq.read_table(
        root / "truth/workspace_plan_intervals.parquet", columns=["workspace_id"]
    )
    counts["product.workspace"] = len(pc.unique(intervals["workspace_id"]))
    members = pq.read_table(root / "truth/workspace_users.parquet", columns=["user_id"])
    counts["product.user"] = len(pc.unique(members["user_id"]))
    return dict(sorted(counts.items()))
