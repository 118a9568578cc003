"""Reading ``/v1/events``: collect a window newest first, then load it oldest first.

Each load writes the events, their ranks within their second, the object version each event
carries (``data.object``) into that object's table, and the charges behind disputes (Stripe
changes ``charge.disputed`` without a charge event). The events cursor (the newest ``created``
loaded) is committed with the load that reaches it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from revstack.sources.stripe.client import StripeApi
from revstack.sources.stripe.loader import LoadResult, RawLoader
from revstack.sources.stripe.plans import (
    disputed_charge_ids,
    oldest_first,
    rank_in_second,
    shrink_window,
)
from revstack.sources.stripe.resources import TableBatch
from revstack.sources.stripe.rows import Row, event_rows, list_rows, rank_rows
from revstack.sources.stripe.settings import (
    EVENT_BUFFER_LIMIT,
    EVENT_LOAD_ROWS,
    EVENT_RANKS_TABLE,
    EVENTS_TABLE,
    PAGE_LIMIT,
    RESOURCE_BY_OBJECT,
)

Json = dict[str, Any]
STREAM = "events"


class WindowTooLarge(Exception):
    pass


def collect(
    api: StripeApi, lower: int | None, upper: int | None, *, limit: int = EVENT_BUFFER_LIMIT
) -> list[Json]:
    """Every event with ``created`` in ``[lower, upper]``, newest first (Stripe's order)."""
    bounds: dict[str, int] = {}
    if lower is not None:
        bounds["gte"] = lower
    if upper is not None:
        bounds["lte"] = upper
    params: dict[str, Any] = {"limit": PAGE_LIMIT}
    if bounds:
        params["created"] = bounds
    events: list[Json] = []
    while True:
        page = api.list_page("/v1/events", params, stream=STREAM)
        events.extend(page.data)
        if len(events) > limit:
            raise WindowTooLarge(f"more than {limit} events")
        if not page.has_more or not page.data:
            return events
        params = {**params, "starting_after": page.data[-1]["id"]}


def collect_windows(
    api: StripeApi, lower: int | None, upper: int, *, limit: int = EVENT_BUFFER_LIMIT
) -> list[tuple[int, list[Json]]]:
    """``[(window upper, events newest first)]`` covering ``[lower, upper]`` oldest window
    first, each small enough to hold in memory."""
    windows: list[tuple[int, list[Json]]] = []
    start = lower
    while True:
        end = upper
        while True:
            try:
                events = collect(api, start, end, limit=limit)
                break
            except WindowTooLarge:
                smaller = shrink_window(start if start is not None else end - 30 * 86_400, end)
                if smaller is None:
                    events = collect(api, start, end, limit=1 << 62)
                    break
                end = smaller
        windows.append((end, events))
        if end >= upper:
            return windows
        start = end + 1


def event_batches(
    events_oldest_first: Sequence[Json],
    ranks: Sequence[tuple[str, int, int]],
    *,
    source: str,
    ingested_at: dt.datetime,
    related: Sequence[Json] = (),
    related_version_at: int | None = None,
    state: dict[str, Any] | None = None,
) -> list[TableBatch]:
    """The batches that load events: events, ranks, object versions, related charges."""
    rows, versions = event_rows(events_oldest_first, source=source, ingested_at=ingested_at)
    batches = [TableBatch(EVENTS_TABLE, "events", rows, dict(state or {}))]
    if ranks:
        batches.append(
            TableBatch(EVENT_RANKS_TABLE, "ranks", rank_rows(ranks, ingested_at=ingested_at))
        )
    by_table: dict[str, list[Row]] = {}
    for version in versions:
        resource = RESOURCE_BY_OBJECT.get(str(version["object"]))
        if resource is not None:
            by_table.setdefault(resource.table, []).append(version)
    if related:
        assert related_version_at is not None
        by_table.setdefault("charges", []).extend(
            list_rows(
                related,
                version_at=related_version_at,
                source=source,
                ingested_at=ingested_at,
            )
        )
    batches.extend(TableBatch(table, "versions", rows) for table, rows in by_table.items())
    return batches


def load_window(
    api: StripeApi,
    loader: RawLoader,
    events_newest_first: Sequence[Json],
    *,
    window_upper: int,
    read_at: int,
    ingested_at: Callable[[], dt.datetime],
    on_load: Callable[[LoadResult], None],
    advance_cursor: bool = True,
    with_ranks: bool = True,
    source: str = "events",
    first_batches: Sequence[TableBatch] = (),
) -> int:
    """Load a collected window oldest first in loads of ``EVENT_LOAD_ROWS`` events; the last
    load moves the cursor to `window_upper`. Returns the cursor reached. Without
    `with_ranks` the events are a subset of a listing whose ranks the caller stores;
    `first_batches` ride along with the first load."""
    ordered = oldest_first(events_newest_first)
    ranked = rank_in_second(ordered)
    cursor = window_upper
    starts = list(range(0, len(ordered), EVENT_LOAD_ROWS)) or [0]
    for number, start in enumerate(starts):
        chunk = ordered[start : start + EVENT_LOAD_ROWS]
        last = number == len(starts) - 1
        cursor = window_upper if last or not chunk else int(chunk[-1]["created"])
        charges = [
            api.get(f"/v1/charges/{charge_id}", stream=STREAM)
            for charge_id in disputed_charge_ids(
                (event.get("data") or {}).get("object") or {} for event in chunk
            )
        ]
        state = {"cursor": cursor} if advance_cursor else None
        batches = event_batches(
            chunk,
            ranked[start : start + EVENT_LOAD_ROWS] if with_ranks else [],
            source=source,
            ingested_at=ingested_at(),
            related=charges,
            related_version_at=read_at,
            state=state,
        )
        result = loader.commit([*(first_batches if number == 0 else ()), *batches])
        on_load(result)
    return cursor
