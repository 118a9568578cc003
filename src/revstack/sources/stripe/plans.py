"""What a run should read: cursor and retention decisions, list-read plans, event windows and
event order. Pure functions of the stored state and Stripe's clock.

"Now" is always Stripe's clock as seen through its own data (the newest event's ``created``),
never the local clock, so cursors and read times compare with event times whatever the
machine's clock says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from revstack.sources.stripe.pagination import ListPosition
from revstack.sources.stripe.settings import (
    SAFE_EVENT_RETENTION_S,
    SWEEP_LOOKBACK_S,
    Resource,
)

Json = dict[str, Any]


@dataclass(frozen=True)
class EventsDecision:
    """Where an incremental run reads events from."""

    lower: int | None
    """Lowest event ``created`` to read (None: everything Stripe still lists)."""
    gap_from: int | None = None
    """Set when events since this moment are partly gone: objects must be re-read."""
    lost_s: int = 0
    """How much of the span since `gap_from` is beyond the retention."""


def decide_events(
    cursor: int | None,
    required_from: int | None,
    now: int,
    *,
    overlap_s: int,
    retention_s: int = SAFE_EVENT_RETENTION_S,
) -> EventsDecision:
    """Read from ``cursor - overlap`` unless the cursor is older than the retention.

    `cursor` is the newest event ``created`` loaded; `required_from` the moment from which
    events are needed when none was loaded yet (a backfill's start). Without either there is
    nothing to continue from: the caller back-fills first.
    """
    reference = cursor if cursor is not None else required_from
    if reference is None:
        raise ValueError("no cursor and no backfill: back-fill before reading events")
    oldest_safe = now - retention_s
    if reference < oldest_safe:
        return EventsDecision(lower=oldest_safe, gap_from=reference, lost_s=oldest_safe - reference)
    if cursor is None:
        return EventsDecision(lower=None)
    return EventsDecision(lower=max(0, cursor - overlap_s))


def gap_positions(
    resources: Iterable[Resource], gap_from: int, upper: int | None, *, overlap_s: int
) -> dict[str, ListPosition]:
    """List reads that replace the events lost since `gap_from`.

    Objects created since the gap (minus the overlap) are read for every resource. Lists
    cannot filter on update time, so for resources whose objects change after creation
    (everything but balance transactions) older objects are re-read too: as far back as the
    resource's ``gap_lookback_s`` before the gap, or entirely when that is None.
    """
    plans: dict[str, ListPosition] = {}
    for resource in resources:
        since: int | None = max(0, gap_from - overlap_s)
        if resource.late_changing:
            since = None if resource.gap_lookback_s is None else gap_from - resource.gap_lookback_s
            since = None if since is None else max(0, since)
        plans[resource.table] = ListPosition(since=since, upper=upper)
    return plans


def sweep_positions(tables: Iterable[str], now: int) -> dict[str, ListPosition]:
    """The safety sweep: objects of `tables` created in the last ``SWEEP_LOOKBACK_S``."""
    return {
        table: ListPosition(since=max(0, now - SWEEP_LOOKBACK_S), upper=now) for table in tables
    }


def backfill_positions(
    resources: Iterable[Resource], since: int | None, upper: int | None
) -> dict[str, ListPosition]:
    return {resource.table: ListPosition(since=since, upper=upper) for resource in resources}


def list_cursor_position(cursor: int | None, upper: int | None, *, overlap_s: int) -> ListPosition:
    """An incremental list read of a resource without events (balance transactions): what
    was created since its cursor, minus the overlap."""
    since = None if cursor is None else max(0, cursor - overlap_s)
    return ListPosition(since=since, upper=upper)


# --- events ----------------------------------------------------------------------------------


def shrink_window(lower: int, upper: int) -> int | None:
    """A smaller upper bound for an event window holding too many events (None: one second
    cannot be split)."""
    if upper <= lower:
        return None
    return lower + (upper - lower) // 2


def oldest_first(events: Sequence[Json]) -> list[Json]:
    """Events listed newest first (ties in listing order), oldest first: reversed listing."""
    return list(reversed(events))


def rank_in_second(events_oldest_first: Sequence[Json]) -> list[tuple[str, int, int]]:
    """``(event id, created, rank)``: each event's position among the events of its second,
    counting from 0 for the oldest, in Stripe's own listing order.

    Stable across reads: a later read may add events at the end of a second, never before
    those already seen, and a read bounded by ``created >= X`` holds all of second X.
    """
    ranked: list[tuple[str, int, int]] = []
    counts: dict[int, int] = {}
    for event in events_oldest_first:
        created = int(event["created"])
        rank = counts.get(created, 0)
        counts[created] = rank + 1
        ranked.append((str(event["id"]), created, rank))
    return ranked


def disputed_charge_ids(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Charges behind the disputes in `objects`, in first-seen order.

    Stripe flips a charge's ``disputed`` flag without a charge event, so these charges are
    re-read whenever their disputes are.
    """
    seen: dict[str, None] = {}
    for obj in objects:
        if obj.get("object") == "dispute":
            charge = obj.get("charge")
            if isinstance(charge, dict):
                charge = charge.get("id")
            if isinstance(charge, str):
                seen.setdefault(charge)
    return list(seen)
