"""Raw-table conventions shared by every source.

Raw tables are append-only: one row per object version ever seen, never updated or deleted.
Every row keeps the source's whole payload (JSON), the natural id, the source's own change
cursor, when revstack ingested it and the load that brought it. A version is identified by the
object's id and the SHA-256 of its canonical JSON (`version_key`), so reading the same state
twice (a retried page, a webhook delivered three times, an event and a list read of the same
state) stores it once: loads use dlt's insert-only merge on (`id`, `version_key`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

#: Columns of an object-version raw table, in order.
VERSION_COLUMNS = (
    "id",
    "version_key",
    "object",
    "created",
    "version_at",
    "event_id",
    "source",
    "payload",
    "_ingested_at",
)
#: The natural key that makes loading a version idempotent.
VERSION_KEY = ("id", "version_key")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace: the bytes version keys and checksums are computed over."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def version_key(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an object's canonical JSON: equal states, equal keys."""
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def version_row(
    payload: Mapping[str, Any],
    *,
    version_at: int,
    source: str,
    ingested_at: dt.datetime,
    event_id: str | None = None,
    id_field: str = "id",
    created_field: str = "created",
    object_type: str | None = None,
) -> dict[str, Any]:
    """The raw row for one version of an object.

    `version_at` is the source's change cursor for this version (a Stripe event's `created`,
    a list read's time, a Salesforce `SystemModstamp`), Unix seconds; `source` says how it was
    read (``backfill``, ``events``, ``webhook``, ``sweep``, ...).
    """
    if ingested_at.tzinfo is None:
        raise ValueError("ingestion times must be timezone-aware (UTC)")
    return {
        "id": payload[id_field],
        "version_key": version_key(payload),
        "object": object_type or payload.get("object"),
        "created": payload.get(created_field),
        "version_at": version_at,
        "event_id": event_id,
        "source": source,
        "payload": dict(payload),
        "_ingested_at": ingested_at.astimezone(dt.UTC),
    }


def rows_checksum(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of what a load wrote: each row's (`id`, `version_key`) in load order.

    Recorded in the audit log; recomputable from the raw table for any load id.
    """
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row['id']}\t{row['version_key']}\n".encode())
    return digest.hexdigest()
