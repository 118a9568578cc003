"""Product usage: the events each customer's workspaces send, and the truth behind them.

The billing simulation hands over a `CustomerStory`; this module tells the same life from the
product's point of view. Each workspace has users that roughly track its seats and sends a
Poisson number of events per UTC day, scaled by seats, billing status and weekday. Churned
workspaces keep using the features of their last paid plan for days to weeks (the client still
shows that plan), and each upgrade is preceded by a week of next-tier feature use and upgrade
prompts.

Delivery is imperfect on purpose: most events arrive within seconds, some minutes to hours late,
a few (mobile clients) up to 72 hours late, and about 1% arrive twice. A new top-level field,
``app_version``, appears partway through the period.

Everything is drawn with NumPy from the customer's own stream and assembled as Arrow arrays,
a few record batches per customer.

This module runs one customer; the parts live beside it: `product_tables` (output tables and
shared vocabulary), `product_random` (draws), `product_spans` (per-span usage parameters),
`product_users` (workspace members), `product_volume` (when events occur), `product_properties`
(names and JSON properties), `product_delivery` (ids, lateness, duplicates, ``app_version``) and
`product_batches` (Arrow record batches).
"""

from __future__ import annotations

from revstack.sandbox.world.product_batches import (
    add_events,
    plan_intervals_batch,
    workspace_users_batch,
)
from revstack.sandbox.world.product_delivery import APP_VERSION_FROM_FRACTION, uuid4_strings
from revstack.sandbox.world.product_spans import TAIL_DAYS, check_spans, span_params
from revstack.sandbox.world.product_tables import (
    EVENTS,
    PLAN_INTERVALS,
    TABLES,
    USAGE_DAILY,
    WORKSPACE_USERS,
)
from revstack.sandbox.world.product_users import UserDirectory, fill_slots, slot_joined_at
from revstack.sandbox.world.product_volume import EventFrame, day_pieces, workspace_events
from revstack.sandbox.world.rng import np_stream
from revstack.sandbox.world.story import CustomerStory, PlanSpan, TierChange, Window, WorkspaceStory
from revstack.sandbox.world.tables import Sink

__all__ = [
    "APP_VERSION_FROM_FRACTION",
    "EVENTS",
    "PLAN_INTERVALS",
    "TABLES",
    "TAIL_DAYS",
    "USAGE_DAILY",
    "WORKSPACE_USERS",
    "day_pieces",
    "simulate_customer_product",
    "uuid4_strings",
]


def simulate_customer_product(
    story: CustomerStory, window: Window, seed: int, events_per_seat_day: float, sink: Sink
) -> None:
    """Add the product events and product truth of one customer's workspaces to `sink`.

    Workspace plans come from their spans (which must tile each workspace's life); events are
    emitted for [max(created, window.start), window.end). The story's upgrade tier changes
    shape the week before each upgrade.
    """
    rng = np_stream(seed, "product", story.entity_index)
    directory = UserDirectory(story.entity_index)
    upgrades_by_ws: dict[str, list[TierChange]] = {}
    for change in story.tier_changes:
        if change.kind == "upgrade":
            upgrades_by_ws.setdefault(change.workspace_id, []).append(change)
    frames: list[EventFrame] = []
    anon_pool_sizes: list[int] = []
    intervals: list[tuple[WorkspaceStory, PlanSpan]] = []
    members: list[tuple[str, str, int]] = []
    for index, workspace in enumerate(story.workspaces):
        spans = check_spans(workspace)
        intervals.extend((workspace, span) for span in spans if span.end > span.start)
        anon_pool_sizes.append(1)
        if not spans:
            continue
        params = span_params(spans, rng, events_per_seat_day)
        joined = slot_joined_at(params)
        slot_offset = len(directory.slots)
        slots = fill_slots(directory, joined.size, index == 0, rng)
        members.extend(
            (workspace.workspace_id, uid, int(ts))
            for uid, ts in zip(slots, joined, strict=True)
            if ts >= 0
        )
        anon_pool_sizes[-1] += joined.size // 2
        if events_per_seat_day > 0:
            lo, hi = max(workspace.created, window.start), window.end
            upgrades = upgrades_by_ws.get(workspace.workspace_id, [])
            frames.append(workspace_events(index, params, upgrades, lo, hi, slot_offset, rng))
    if intervals:
        sink.add_batch(PLAN_INTERVALS, plan_intervals_batch(intervals))
    if members:
        sink.add_batch(WORKSPACE_USERS, workspace_users_batch(members))
    frame = EventFrame.concat(frames)
    if frame.occurred_ms.size:
        add_events(sink, story, frame, directory.slots, anon_pool_sizes, window, rng)
