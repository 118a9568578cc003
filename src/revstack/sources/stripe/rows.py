"""Raw rows for Stripe objects and events, and the Arrow tables dlt loads them from.

Object versions follow `revstack.warehouse.raw` (`VERSION_COLUMNS`; ``version_key`` is the
SHA-256 of the canonical JSON). The payload is stored as that same canonical JSON (keys
sorted), so each object is serialised once. Besides the object tables:

- ``events``: one row per event; ``object_version_key`` is the version key of the object state
  it carries, which is how staging finds when a state was (re)entered (see
  `revstack.warehouse.versions`).
- ``event_ranks``: each event's position among the events of its second, in Stripe's listing
  order (written by every ``/v1/events`` read; webhooks cannot know it).
- ``webhook_receipts``: one row per event that reached us by webhook.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from revstack.warehouse.raw import VERSION_COLUMNS, canonical_json

Json = dict[str, Any]
Row = dict[str, Any]

_TS = pa.timestamp("us", tz="UTC")

VERSION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("version_key", pa.string()),
        ("object", pa.string()),
        ("created", pa.int64()),
        ("version_at", pa.int64()),
        ("event_id", pa.string()),
        ("source", pa.string()),
        ("payload", pa.string()),
        ("_ingested_at", _TS),
    ]
)
assert tuple(VERSION_SCHEMA.names) == VERSION_COLUMNS

EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("version_key", pa.string()),
        ("type", pa.string()),
        ("created", pa.int64()),
        ("object_id", pa.string()),
        ("object_type", pa.string()),
        ("object_version_key", pa.string()),
        ("source", pa.string()),
        ("payload", pa.string()),
        ("_ingested_at", _TS),
    ]
)
RANK_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("created", pa.int64()),
        ("rank_in_second", pa.int32()),
        ("_ingested_at", _TS),
    ]
)
RECEIPT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("received_at", _TS),
        ("inbox_seq", pa.int64()),
        ("_ingested_at", _TS),
    ]
)


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("ingestion times must be timezone-aware (UTC)")
    return moment.astimezone(dt.UTC)


def version_row(
    payload: Json,
    *,
    version_at: int,
    source: str,
    ingested_at: dt.datetime,
    event_id: str | None = None,
) -> Row:
    """`revstack.warehouse.raw.version_row` with the payload kept as its canonical JSON text
    (the bytes the version key hashes), ready for Arrow."""
    canonical = canonical_json(payload)
    return {
        "id": payload["id"],
        "version_key": hashlib.sha256(canonical).hexdigest(),
        "object": payload.get("object"),
        "created": payload.get("created"),
        "version_at": version_at,
        "event_id": event_id,
        "source": source,
        "payload": canonical.decode(),
        "_ingested_at": _utc(ingested_at),
    }


def list_rows(
    objects: Iterable[Json], *, version_at: int, source: str, ingested_at: dt.datetime
) -> list[Row]:
    """Version rows of objects read from a list (or retrieved)."""
    return [
        version_row(obj, version_at=version_at, source=source, ingested_at=ingested_at)
        for obj in objects
    ]


def event_rows(
    events: Iterable[Json], *, source: str, ingested_at: dt.datetime
) -> tuple[list[Row], list[Row]]:
    """(event rows, object version rows) for events; each event's ``data.object`` becomes a
    version at the event's ``created``."""
    rows: list[Row] = []
    versions: list[Row] = []
    for event in events:
        obj = (event.get("data") or {}).get("object")
        version = None
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            version = version_row(
                obj,
                version_at=int(event["created"]),
                source=source,
                ingested_at=ingested_at,
                event_id=event["id"],
            )
            versions.append(version)
        canonical = canonical_json(event)
        rows.append(
            {
                "id": event["id"],
                "version_key": hashlib.sha256(canonical).hexdigest(),
                "type": event.get("type"),
                "created": int(event["created"]),
                "object_id": version["id"] if version else None,
                "object_type": version["object"] if version else None,
                "object_version_key": version["version_key"] if version else None,
                "source": source,
                "payload": canonical.decode(),
                "_ingested_at": _utc(ingested_at),
            }
        )
    return rows, versions


def rank_rows(ranked: Iterable[tuple[str, int, int]], *, ingested_at: dt.datetime) -> list[Row]:
    moment = _utc(ingested_at)
    return [
        {"id": event_id, "created": created, "rank_in_second": rank, "_ingested_at": moment}
        for event_id, created, rank in ranked
    ]


def receipt_rows(
    receipts: Iterable[tuple[str, float, int]], *, ingested_at: dt.datetime
) -> list[Row]:
    """Rows of ``(event id, received_at Unix seconds, inbox seq)``."""
    moment = _utc(ingested_at)
    return [
        {
            "id": event_id,
            "received_at": dt.datetime.fromtimestamp(received_at, dt.UTC),
            "inbox_seq": seq,
            "_ingested_at": moment,
        }
        for event_id, received_at, seq in receipts
    ]


def unique(rows: Iterable[Row], key: Sequence[str]) -> list[Row]:
    """First row of each key, in order: a load must not offer the same key twice (an
    insert-only merge would insert both)."""
    seen: set[tuple[Any, ...]] = set()
    kept: list[Row] = []
    for row in rows:
        marker = tuple(row[column] for column in key)
        if marker not in seen:
            seen.add(marker)
            kept.append(row)
    return kept


def to_arrow(rows: Sequence[Row], schema: pa.Schema) -> pa.Table:
    columns = {name: [row[name] for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)
