"""Arrow record batches of the product tables from a customer's simulated numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from revstack.sandbox.world.product_delivery import (
    APP_PATCHES,
    APP_VERSION_FROM_FRACTION,
    DUPLICATE_SHARE,
    anonymous_ids,
    app_version_index,
    app_versions,
    lateness_ms,
    redelivery_ms,
    uuid4_strings,
)
from revstack.sandbox.world.product_properties import EventContent, event_content, properties_json
from revstack.sandbox.world.product_tables import (
    DAY_MS,
    EVENT_NAME_ARRAY,
    EVENT_NAMES,
    EVENTS,
    PLAN_INTERVALS,
    USAGE_DAILY,
    UTC_S,
    WORKSPACE_USERS,
    masked_take,
    record_batch,
    timestamps_ms,
)
from revstack.sandbox.world.product_volume import EventFrame
from revstack.sandbox.world.story import CustomerStory, PlanSpan, Window, WorkspaceStory
from revstack.sandbox.world.tables import Sink


def plan_intervals_batch(intervals: list[tuple[WorkspaceStory, PlanSpan]]) -> pa.RecordBatch:
    """One row per non-empty plan span of the customer's workspaces."""
    columns = {
        "workspace_id": pa.array([w.workspace_id for w, _ in intervals], pa.string()),
        "customer_id": pa.array([w.customer_id for w, _ in intervals], pa.string()),
        "valid_from": pa.array([s.start for _, s in intervals], UTC_S),
        "valid_to": pa.array([s.end for _, s in intervals], UTC_S),
        "tier": pa.array([s.tier for _, s in intervals], pa.string()),
        "product_id": pa.array([s.product_id for _, s in intervals], pa.string()),
        "price_id": pa.array([s.price_id for _, s in intervals], pa.string()),
        "billing_status": pa.array([s.status for _, s in intervals], pa.string()),
        "seats": pa.array([s.seats for _, s in intervals], pa.int64()),
    }
    return record_batch(PLAN_INTERVALS, columns)


def workspace_users_batch(members: list[tuple[str, str, int]]) -> pa.RecordBatch:
    """One row per (workspace id, user id, joined_at seconds) membership."""
    workspaces, users, joined = zip(*members, strict=True)
    columns = {
        "workspace_id": pa.array(workspaces, pa.string()),
        "user_id": pa.array(users, pa.string()),
        "joined_at": pa.array(joined, UTC_S),
    }
    return record_batch(WORKSPACE_USERS, columns)


def add_events(
    sink: Sink,
    story: CustomerStory,
    frame: EventFrame,
    slot_user_ids: list[str],
    anon_pool_sizes: list[int],
    window: Window,
    rng: np.random.Generator,
) -> None:
    """Turn a customer's unique events into delivered rows (with duplicates) and the daily
    usage truth."""
    count = frame.occurred_ms.size
    content = event_content(frame, rng)
    pool_size = np.array(anon_pool_sizes, dtype=np.int64)
    pool_start = np.cumsum(pool_size) - pool_size
    anon_slot = pool_start[frame.workspace] + rng.integers(0, pool_size[frame.workspace])
    anon_pool = anonymous_ids(rng, int(pool_size.sum()))
    cutoff_ms = (window.start + int(APP_VERSION_FROM_FRACTION * (window.end - window.start))) * 1000
    version = app_version_index(frame.occurred_ms, cutoff_ms, rng)
    lateness = lateness_ms(rng, count)
    event_ids = uuid4_strings(rng, count)
    duplicate = np.flatnonzero(rng.random(count) < DUPLICATE_SHARE)
    redelivered = frame.occurred_ms[duplicate] + lateness[duplicate]
    redelivered += redelivery_ms(rng, lateness[duplicate])

    workspace_ids = pa.array([w.workspace_id for w in story.workspaces], pa.string())
    columns = {
        "event_id": event_ids,
        "event_name": EVENT_NAME_ARRAY.take(pa.array(content.name)),
        "occurred_at": timestamps_ms(frame.occurred_ms),
        "received_at": timestamps_ms(frame.occurred_ms + lateness),
        "user_id": masked_take(pa.array(slot_user_ids, pa.string()), frame.user, content.anonymous),
        "workspace_id": workspace_ids.take(pa.array(frame.workspace)),
        "anonymous_id": masked_take(anon_pool, anon_slot, ~content.anonymous),
        "properties": properties_json(content),
        "app_version": masked_take(
            app_versions(int(version.max()) // APP_PATCHES + 1), version, version < 0
        ),
    }
    unique = record_batch(EVENTS, columns)
    sink.add_batch(EVENTS, unique)
    if duplicate.size:
        received = EVENTS.schema.get_field_index("received_at")
        copies = unique.take(pa.array(duplicate)).set_column(
            received, EVENTS.schema.field(received), timestamps_ms(redelivered)
        )
        sink.add_batch(EVENTS, copies)
    sink.add_batch(USAGE_DAILY, usage_daily_batch(story, frame, content, workspace_ids))


def usage_daily_batch(
    story: CustomerStory, frame: EventFrame, content: EventContent, workspace_ids: pa.Array
) -> pa.RecordBatch:
    """Unique events and distinct users per (workspace, UTC date, event name)."""
    day = frame.occurred_ms // DAY_MS
    day0 = int(day.min())
    days = int(day.max()) - day0 + 1
    names = len(EVENT_NAMES)
    key = (frame.workspace * days + (day - day0)) * names + content.name
    bins = len(story.workspaces) * days * names
    per_key = np.bincount(key, minlength=bins)
    keys = np.flatnonzero(per_key)
    known = ~content.anonymous
    slots = int(frame.user.max()) + 1
    pairs = np.unique(key[known] * slots + frame.user[known])
    users = np.bincount(pairs // slots, minlength=bins)[keys]
    workspace = pa.array(keys // (days * names))
    customer_ids = pa.array([w.customer_id for w in story.workspaces], pa.string())
    columns = {
        "workspace_id": workspace_ids.take(workspace),
        "customer_id": customer_ids.take(workspace),
        "date": pa.array(((keys // names) % days + day0).astype(np.int32), pa.date32()),
        "event_name": EVENT_NAME_ARRAY.take(pa.array(keys % names)),
        "events": pa.array(per_key[keys], pa.int64()),
        "users": pa.array(users, pa.int64()),
    }
    return record_batch(USAGE_DAILY, columns)
