"""The product simulation's output tables and the vocabulary its modules share.

Table objects and their Arrow types, plan tiers and event names (as indices), and the small
helpers that turn NumPy columns into Arrow arrays and record batches of these tables.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from revstack.sandbox.world.catalog import TIER_RANK
from revstack.sandbox.world.clock import DAY
from revstack.sandbox.world.tables import Table

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]

UTC_MS = pa.timestamp("ms", tz="UTC")
UTC_S = pa.timestamp("s", tz="UTC")
DAY_MS = DAY * 1000

EVENTS = Table(
    "product/events",
    pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("event_name", pa.string(), nullable=False),
            pa.field("occurred_at", UTC_MS, nullable=False),
            pa.field("received_at", UTC_MS, nullable=False),
            pa.field("user_id", pa.string()),
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("anonymous_id", pa.string()),
            pa.field("properties", pa.string(), nullable=False),
            pa.field("app_version", pa.string()),
        ]
    ),
    ("received_at", "event_id"),
    "Product events as the collector receives them: late, sometimes twice (same event_id), "
    "properties as JSON text; app_version only from partway through the period.",
)
USAGE_DAILY = Table(
    "truth/product_usage_daily",
    pa.schema(
        [
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("date", pa.date32(), nullable=False),
            pa.field("event_name", pa.string(), nullable=False),
            pa.field("events", pa.int64(), nullable=False),
            pa.field("users", pa.int64(), nullable=False),
        ]
    ),
    ("workspace_id", "date", "event_name"),
    "Unique events (duplicates counted once) and distinct user ids per workspace, UTC date of "
    "occurred_at and event name.",
)
PLAN_INTERVALS = Table(
    "truth/workspace_plan_intervals",
    pa.schema(
        [
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("valid_from", UTC_S, nullable=False),
            pa.field("valid_to", UTC_S, nullable=False),
            pa.field("tier", pa.string(), nullable=False),
            pa.field("product_id", pa.string()),
            pa.field("price_id", pa.string()),
            pa.field("billing_status", pa.string(), nullable=False),
            pa.field("seats", pa.int64(), nullable=False),
        ]
    ),
    ("workspace_id", "valid_from"),
    "Plan, price and billing status of each workspace over half-open [valid_from, valid_to) "
    "intervals: what plan attribution of product events must reproduce.",
)
WORKSPACE_USERS = Table(
    "truth/workspace_users",
    pa.schema(
        [
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("joined_at", UTC_S, nullable=False),
        ]
    ),
    ("workspace_id", "user_id"),
    "Members of each workspace and when they joined; a user may belong to several workspaces, "
    "including another customer's (guests such as consultants).",
)
TABLES: list[Table] = [EVENTS, USAGE_DAILY, PLAN_INTERVALS, WORKSPACE_USERS]

TIER_NAMES = tuple(sorted(TIER_RANK, key=TIER_RANK.__getitem__))
TOP_TIER = len(TIER_NAMES) - 1

EVENT_NAMES = (
    "page_view",
    "feature_used",
    "export_video",
    "invite_teammate",
    "login",
    "report_created",
    "upgrade_prompt_viewed",
)
PAGE_VIEW, FEATURE_USED, EXPORT_VIDEO, INVITE, LOGIN, REPORT, PROMPT = range(len(EVENT_NAMES))
EVENT_NAME_ARRAY = pa.array(EVENT_NAMES, pa.string())


def masked_take(values: pa.Array, index: I64, missing: Bool) -> pa.Array:
    """``values[index]``, null where `missing`."""
    return values.take(pa.array(index, pa.int64(), mask=missing))


def timestamps_ms(values: I64) -> pa.Array:
    """UTC millisecond timestamps from epoch milliseconds."""
    return pa.array(values, UTC_MS)


def record_batch(table: Table, columns: dict[str, pa.Array]) -> pa.RecordBatch:
    """A record batch of `table` from its columns by name, in schema order."""
    return pa.RecordBatch.from_arrays(
        [columns[name] for name in table.schema.names], schema=table.schema
    )
