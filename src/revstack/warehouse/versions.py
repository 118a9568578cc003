"""Raw versions as states: the latest state of every object, or its state as of a moment.

A raw object table holds each distinct state once (insert-only on ``id`` + ``version_key``),
stamped with when it was first seen. When a source also keeps an event log (Stripe's
``events``, whose rows name the object state they carry in ``object_version_key``), a state
can be re-entered later (A, then B, then A again: a toggled flag), and only the log says so.
So these queries order *sightings* of states, not rows:

- a list read (a version row without an event) is a sighting at its ``version_at``;
- an event is a sighting of the state it carries at its ``created``.

Sightings are ordered by time, then within one second by the event's rank in the source's own
listing (``event_ranks``; list reads after every event of their second, events not ranked yet
before ranked ones), then by version key so that the answer is always the same. The SQL is
plain (window functions, ``UNION ALL``) and runs on DuckDB and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["STRIPE_EVENTS", "EventLog", "as_of_sql", "latest_sql"]

_AFTER_EVERY_EVENT = 2_147_483_647
_UNRANKED = -1


@dataclass(frozen=True)
class EventLog:
    """Where a dataset keeps its events: table, object columns and ranks."""

    table: str = "events"
    ranks: str | None = "event_ranks"
    object_id: str = "object_id"
    object_type: str = "object_type"
    version_key: str = "object_version_key"
    created: str = "created"


STRIPE_EVENTS = EventLog()
"""The layout of ``raw_stripe``."""


def _quote(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


def _stripe_object(table: str) -> str:
    """``charges`` -> ``charge``: Stripe's raw tables are their objects' plural."""
    return table[:-1] if table.endswith("s") else table


def _versions_sql(
    table: str, dataset: str, events: EventLog | None, object_type: str | None, at: int | None
) -> str:
    versions = f"{_quote(dataset)}.{_quote(table)}"
    bound = "" if at is None else f" AND v.version_at <= {int(at)}"
    parts = [
        "SELECT v.id AS id, v.version_key AS version_key, v.version_at AS seen_at, "
        f"{_AFTER_EVERY_EVENT} AS seq FROM {versions} v WHERE "
        + ("v.event_id IS NULL" if events is not None else "TRUE")
        + bound
    ]
    if events is not None:
        kind = object_type or _stripe_object(table)
        if not kind.replace("_", "").isalnum():
            raise ValueError(f"not a plain object type: {kind!r}")
        log = f"{_quote(dataset)}.{_quote(events.table)}"
        rank = f"{_UNRANKED}"
        join = ""
        if events.ranks is not None:
            join = f" LEFT JOIN {_quote(dataset)}.{_quote(events.ranks)} r ON r.id = e.id"
            rank = f"COALESCE(r.rank_in_second, {_UNRANKED})"
        event_bound = "" if at is None else f" AND e.{_quote(events.created)} <= {int(at)}"
        parts.append(
            f"SELECT e.{_quote(events.object_id)}, e.{_quote(events.version_key)}, "
            f"e.{_quote(events.created)}, {rank} FROM {log} e{join} "
            f"WHERE e.{_quote(events.object_type)} = '{kind}'{event_bound}"
        )
    sightings = "\n    UNION ALL\n    ".join(parts)
    return f"""WITH sightings AS (
    {sightings}
), ordered AS (
    SELECT id, version_key, seen_at, seq,
           ROW_NUMBER() OVER (
               PARTITION BY id ORDER BY seen_at DESC, seq DESC, version_key DESC
           ) AS state_rank
    FROM sightings
)
SELECT v.id, v.version_key, v.object, v.created, o.seen_at AS state_since, v.version_at,
       v.event_id, v.source, v.payload, v._ingested_at, v._dlt_load_id
FROM ordered o
JOIN {versions} v ON v.id = o.id AND v.version_key = o.version_key
WHERE o.state_rank = 1"""


def latest_sql(
    table: str,
    *,
    dataset: str = "raw_stripe",
    events: EventLog | None = STRIPE_EVENTS,
    object_type: str | None = None,
) -> str:
    """One row per object of `table`: its latest state.

    ``state_since`` is when that state was last entered (or read); the other columns are the
    version row's. `object_type` defaults to the table name without its plural ``s``; pass
    ``events=None`` for sources without an event log.
    """
    return _versions_sql(table, dataset, events, object_type, None)


def as_of_sql(
    table: str,
    ts: int,
    *,
    dataset: str = "raw_stripe",
    events: EventLog | None = STRIPE_EVENTS,
    object_type: str | None = None,
) -> str:
    """One row per object of `table` known at `ts` (Unix seconds): its state then.

    Objects first seen after `ts` are absent, even if they were created before it (a list
    read only tells the state at the time of reading).
    """
    return _versions_sql(table, dataset, events, object_type, int(ts))
