"""The connector's actions over the API: back-fill, incremental (events), safety sweep.

Each records one audit entry per stream it touched, also when it fails part-way (outcome
``partial`` or ``failure``, with the error), and leaves every cursor at its last committed
load.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from revstack.errors import RevstackError
from revstack.sources.stripe import segments as seg
from revstack.sources.stripe.context import StripeContext
from revstack.sources.stripe.events import collect_windows, load_window
from revstack.sources.stripe.lists import (
    ListRead,
    ReadFailed,
    read_to_memory,
    run_list_read,
    stored_positions,
)
from revstack.sources.stripe.loader import LoadResult
from revstack.sources.stripe.plans import (
    backfill_positions,
    decide_events,
    gap_positions,
    list_cursor_position,
    sweep_positions,
)
from revstack.sources.stripe.resources import TableBatch
from revstack.sources.stripe.settings import (
    EVENT_RANKS_TABLE,
    EVENTS_TABLE,
    RESOURCE_BY_TABLE,
    RESOURCES,
    SWEPT_TABLES,
)
from revstack.sources.stripe.tally import StreamTally
from revstack.warehouse.audit import AuditEvent

TABLES = [resource.table for resource in RESOURCES]
LIST_ONLY = [resource.table for resource in RESOURCES if not resource.has_events]


def _iso(ts: int | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def _run(ctx: StripeContext, read: ListRead, now: int, *, plan: bool) -> None:
    try:
        tallies = run_list_read(
            ctx.api,
            ctx.loader,
            read,
            version_at=now,
            rows_per_load=ctx.stripe.rows_per_load,
            ingested_at=ctx.ingested_at,
            created_filter=ctx.created_filter,
            commit_plan=plan,
        )
    except ReadFailed as failed:
        ctx.record(failed.tallies.values())
        raise failed.error from None
    ctx.record(tallies.values())


def backfill(
    ctx: StripeContext, since: int | None = None, tables: Sequence[str] | None = None
) -> None:
    """Read every resource (or those of `tables`) by ``created`` from `since`, resuming an
    unfinished back-fill."""
    now = ctx.stripe_now()
    selected = list(tables or TABLES)
    positions = stored_positions(ctx.loader, selected, "backfill")
    resumed = bool(positions)
    extra: dict[str, dict[str, Any]] = {}
    if resumed:
        ctx.report.notes.append("resumed an unfinished back-fill from its last committed load")
        stored_since = min((p.since or 0) for s in positions.values() for p in s.values())
        if since is not None and stored_since != since:
            ctx.warn(f"--since ignored: finishing the back-fill started from {_iso(stored_since)}")
    else:
        upper = now if ctx.created_filter else None
        planned = backfill_positions([RESOURCE_BY_TABLE[table] for table in selected], since, upper)
        positions = {table: seg.single(position) for table, position in planned.items()}
        events_state = ctx.loader.state(EVENTS_TABLE)
        if events_state.get("cursor") is None and events_state.get("required_from") is None:
            extra[EVENTS_TABLE] = {"required_from": now}
        for table in LIST_ONLY:
            if table in selected and ctx.loader.state(table).get("list_cursor") is None:
                extra[table] = {"list_cursor": now}
    read = ListRead("backfill", "backfill", "backfill", positions, extra_state=extra)
    _run(ctx, read, now, plan=not resumed)


def sweep(ctx: StripeContext) -> None:
    """Re-read disputes and refunds created in the last 120 days (and disputed charges).

    Short enough to start over after a crash, so it has no plan load and never resumes."""
    now = ctx.stripe_now()
    positions = {t: seg.single(p) for t, p in sweep_positions(SWEPT_TABLES, now).items()}
    read = ListRead("sweep", "sweep", "sweep", positions, related_charges=True)
    _run(ctx, read, now, plan=False)


def incremental(ctx: StripeContext) -> None:
    """Events since the cursor (and list-only resources since theirs), handling a cursor
    older than the events' retention by re-reading objects."""
    if stored_positions(ctx.loader, TABLES, "backfill"):
        ctx.report.notes.append("an unfinished back-fill is finished first")
        backfill(ctx)
    events_state = ctx.loader.state(EVENTS_TABLE)
    if events_state.get("cursor") is None and events_state.get("required_from") is None:
        ctx.report.notes.append("no back-fill yet: back-filling before reading events")
        backfill(ctx)
        events_state = ctx.loader.state(EVENTS_TABLE)
    now = ctx.stripe_now()
    cursor = events_state.get("cursor")
    decision = decide_events(
        cursor, events_state.get("required_from"), now, overlap_s=ctx.stripe.events_overlap_s
    )
    gap_unfinished = stored_positions(ctx.loader, TABLES, "retention_gap")
    if decision.gap_from is not None or gap_unfinished:
        _retention_gap(ctx, decision.gap_from, decision.lower, now, gap_unfinished)
        cursor = ctx.loader.state(EVENTS_TABLE).get("cursor")
        decision = decide_events(cursor, None, now, overlap_s=ctx.stripe.events_overlap_s)
    _events(ctx, decision.lower, now, cursor)


def _retention_gap(
    ctx: StripeContext,
    gap_from: int | None,
    lower: int | None,
    now: int,
    unfinished: dict[str, seg.Segments],
) -> None:
    if unfinished:
        ctx.report.notes.append("resumed an unfinished retention-gap re-read")
        positions, resumed = unfinished, True
    else:
        assert gap_from is not None and lower is not None
        lost = lower - gap_from
        message = (
            f"the events cursor ({_iso(gap_from)}) is older than Stripe's event retention: "
            f"about {lost / 86_400:.1f} days of events ({_iso(gap_from)} to {_iso(lower)}) "
            "can no longer be listed; re-reading objects by created window instead (updates "
            "between those dates are seen only as each object's current state)"
        )
        ctx.warn(message, gap_from=gap_from, lost_s=lost)
        ctx.loader.audit(
            [
                AuditEvent(
                    run_id=ctx.run_id,
                    source="stripe",
                    stream=EVENTS_TABLE,
                    action="retention_gap",
                    outcome="partial",
                    cursor_before=str(gap_from),
                    cursor_after=str(lower),
                    error=message,
                    details={"gap_from": gap_from, "events_from": lower, "lost_s": lost},
                )
            ]
        )
        planned = gap_positions(RESOURCES, gap_from, now, overlap_s=ctx.stripe.events_overlap_s)
        positions = {table: seg.single(position) for table, position in planned.items()}
        resumed = False
    read = ListRead("retention_gap", "retention_gap", "backfill", positions)
    _run(ctx, read, now, plan=not resumed)
    # Objects are now read as of `now`: events older than the retention are no longer needed.
    floor = lower if lower is not None else now
    ctx.loader.commit([TableBatch(EVENTS_TABLE, "events", [], {"cursor": floor})])


def _list_only(ctx: StripeContext, now: int) -> tuple[list[TableBatch], dict[str, StreamTally]]:
    """Resources Stripe sends no events for: what was created since their cursor, read into
    memory to load with the first events load."""
    positions: dict[str, seg.Segments] = {}
    done: dict[str, dict[str, Any]] = {}
    for table in LIST_ONLY:
        cursor = ctx.loader.state(table).get("list_cursor")
        position = list_cursor_position(cursor, now, overlap_s=ctx.stripe.events_overlap_s)
        positions[table] = seg.single(position)
        done[table] = {"list_cursor": now}
    read = ListRead("incremental", "incremental", "backfill", positions, done_state=done)
    try:
        return read_to_memory(
            ctx.api,
            read,
            version_at=now,
            ingested_at=ctx.ingested_at,
            created_filter=ctx.created_filter,
        )
    except ReadFailed as failed:
        ctx.record(failed.tallies.values())
        raise failed.error from None


def _events(ctx: StripeContext, lower: int | None, now: int, cursor: int | None) -> None:
    before = None if cursor is None else str(cursor)
    tally = StreamTally("incremental", EVENTS_TABLE, cursor_before=before, cursor_after=before)
    extra, list_tallies = _list_only(ctx, now)
    requests_before = ctx.api.requests(EVENTS_TABLE)
    owned = [EVENTS_TABLE, EVENT_RANKS_TABLE, *(t for t in TABLES if t not in LIST_ONLY)]

    def on_load(result: LoadResult) -> None:
        tally.add_load(result, owned)
        for table, list_tally in list_tallies.items():
            list_tally.add_load(result, [table])

    reached = cursor
    try:
        for number, (window_upper, events) in enumerate(collect_windows(ctx.api, lower, now)):
            reached = load_window(
                ctx.api,
                ctx.loader,
                events,
                window_upper=window_upper,
                read_at=now,
                ingested_at=ctx.ingested_at,
                on_load=on_load,
                first_batches=extra if number == 0 else (),
            )
            tally.cursor_after = str(reached)
    except RevstackError as error:
        tally.error = str(error)
        raise
    finally:
        tally.requests = ctx.api.requests(EVENTS_TABLE) - requests_before
        tally.cursor_after = None if reached is None else str(reached)
        tally.details["events_from"] = lower
        ctx.record([tally, *list_tallies.values()])
