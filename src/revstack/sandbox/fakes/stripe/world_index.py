"""The world's Stripe tables loaded into an in-memory index of object versions.

Payloads stay JSON text inside Arrow buffers (one copy, no Python object per row) and are
sliced out and parsed only when served. Each object keeps its versions sorted by
(created, ordinal); each kind keeps its ids sorted by (created, id) for newest-first lists.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from revstack.errors import WorldError

# Where a version's JSON lives.
EVENT_OBJECT = 0
"""Row of ``events.parquet``; the version is the event's ``data.object``."""
SILENT = 1
"""Row of ``silent_versions.parquet``; the payload is the object."""
FINAL = 2
"""Row of a final-state table (balance transactions, which have no versions)."""
OVERLAY = 3
"""An object state written through the API (kept by the store)."""


class TextColumn:
    """A string column kept as its Arrow buffers; `get(i)` slices out row i's UTF-8 bytes."""

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        width: type[np.signedinteger[Any]]
        if array.type == pa.string():
            width = np.int32
        elif array.type == pa.large_string():
            width = np.int64
        else:
            raise WorldError(f"a Stripe payload column has type {array.type}, not string")
        if array.null_count:
            raise WorldError("a Stripe payload column holds nulls")
        _, offsets, buffer = array.buffers()
        assert offsets is not None
        start = array.offset
        self._offsets: list[int] = np.frombuffer(offsets, dtype=width)[
            start : start + len(array) + 1
        ].tolist()
        self._data = memoryview(buffer) if buffer is not None else memoryview(b"")
        self._keep = array

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def get(self, row: int) -> bytes:
        return bytes(self._data[self._offsets[row] : self._offsets[row + 1]])


class Version:
    """One state of an object: when it took effect and where its JSON lives."""

    __slots__ = ("deleted", "ordinal", "row", "source", "ts", "wall")

    def __init__(
        self,
        ts: int,
        ordinal: int,
        source: int,
        row: int,
        wall: float | None = None,
        deleted: bool = False,
    ) -> None:
        self.ts = ts
        self.ordinal = ordinal
        self.source = source
        self.row = row
        self.wall = wall
        """Wall-clock time of an API write; ``None`` for the world's own versions."""
        self.deleted = deleted

    @property
    def key(self) -> tuple[int, int]:
        return (self.ts, self.ordinal)


@dataclass
class Patch:
    """Fields an API write set on a world object: they stay set on its later world versions."""

    key: tuple[int, int]
    wall: float
    fields: dict[str, Any]
    metadata: Any = None
    """A `forms.MetadataChange`, or ``None``."""


@dataclass(slots=True)
class Record:
    """One Stripe object and all its versions."""

    kind: str
    id: str
    created: int
    customer: str | None
    versions: list[Version]
    script_end: tuple[int, int] | None = None
    """Set when an API write replaced the world's story of this object: the world's versions
    (and events) after this key are no longer served."""
    patches: list[Patch] = field(default_factory=list)

    def add(self, version: Version) -> None:
        keys = [v.key for v in self.versions]
        self.versions.insert(bisect.bisect_right(keys, version.key), version)


@dataclass(slots=True)
class EventRecord:
    id: str
    type: str
    created: int
    ordinal: int
    object_id: str
    source: int
    """``EVENT_OBJECT`` (a world event: `row` of events.parquet) or ``OVERLAY`` (an API
    event: `row` of the store's overlay)."""
    row: int

    @property
    def api(self) -> bool:
        return self.source == OVERLAY

    @property
    def key(self) -> tuple[int, int]:
        return (self.created, self.ordinal)


class KindIndex:
    """Ids of one kind sorted ascending by (created, tiebreak); lists walk it backwards."""

    def __init__(self, items: list[tuple[tuple[int, Any], str]] | None = None) -> None:
        items = sorted(items or [])
        self.keys: list[tuple[int, Any]] = [key for key, _ in items]
        self.ids: list[str] = [object_id for _, object_id in items]
        self.created: list[int] = [key[0] for key in self.keys]

    def __len__(self) -> int:
        return len(self.ids)

    def insert(self, key: tuple[int, Any], object_id: str) -> None:
        at = bisect.bisect_right(self.keys, key)
        self.keys.insert(at, key)
        self.ids.insert(at, object_id)
        self.created.insert(at, key[0])

    def remove(self, key: tuple[int, Any]) -> None:
        at = bisect.bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            del self.keys[at], self.ids[at], self.created[at]

    def position(self, key: tuple[int, Any]) -> int:
        """Index of `key` (which must be present)."""
        return bisect.bisect_left(self.keys, key)

    def bounds(self, lowest: int | None, highest: int | None) -> tuple[int, int]:
        """[lo, hi) of the entries with lowest <= created <= highest."""
        lo = 0 if lowest is None else bisect.bisect_left(self.created, lowest)
        hi = len(self.ids) if highest is None else bisect.bisect_right(self.created, highest)
        return lo, max(lo, hi)


@dataclass
class WorldIndex:
    """Everything loaded from a world's ``stripe/`` directory."""

    records: dict[str, Record]
    events: dict[str, EventRecord]
    kinds: dict[str, KindIndex]
    event_index: KindIndex
    event_payloads: TextColumn
    silent_payloads: TextColumn
    final_payloads: TextColumn
    finalizations: dict[str, list[int]]
    """Customer id -> sorted times its invoices were finalized (next_invoice_sequence)."""


def _columns(path: Path, names: list[str]) -> tuple[pa.Table, dict[str, list[Any]]]:
    if not path.exists():
        raise WorldError(f"{path} is missing: regenerate the world")
    table = pq.read_table(path, columns=[*names, "payload"])
    return table, {name: table.column(name).to_pylist() for name in names}


def load_world(world_dir: Path) -> WorldIndex:
    stripe_dir = world_dir / "stripe"
    events, ev = _columns(
        stripe_dir / "events.parquet",
        ["id", "type", "created", "ordinal", "object_type", "object_id", "customer_id"],
    )
    silent, sv = _columns(
        stripe_dir / "silent_versions.parquet",
        ["created", "ordinal", "object_type", "object_id", "customer_id"],
    )
    finals, fv = _columns(
        stripe_dir / "balance_transactions.parquet", ["id", "created", "customer_id"]
    )
    records: dict[str, Record] = {}

    def version(kind: str, object_id: str, customer: str | None, v: Version) -> None:
        record = records.get(object_id)
        if record is None:
            records[object_id] = Record(kind, object_id, v.ts, customer, [v])
        else:
            record.versions.append(v)

    event_records: dict[str, EventRecord] = {}
    finalizations: dict[str, list[int]] = {}
    for i, event_id in enumerate(ev["id"]):
        created, ordinal, object_id = ev["created"][i], ev["ordinal"][i], ev["object_id"][i]
        event_records[event_id] = EventRecord(
            event_id, ev["type"][i], created, ordinal, object_id, EVENT_OBJECT, i
        )
        version(
            ev["object_type"][i],
            object_id,
            ev["customer_id"][i],
            Version(created, ordinal, EVENT_OBJECT, i),
        )
        if ev["type"][i] == "invoice.finalized" and ev["customer_id"][i] is not None:
            finalizations.setdefault(ev["customer_id"][i], []).append(created)
    for i, object_id in enumerate(sv["object_id"]):
        version(
            sv["object_type"][i],
            object_id,
            sv["customer_id"][i],
            Version(sv["created"][i], sv["ordinal"][i], SILENT, i),
        )
    for i, object_id in enumerate(fv["id"]):
        version(
            "balance_transaction",
            object_id,
            fv["customer_id"][i],
            Version(fv["created"][i], 0, FINAL, i),
        )
    by_kind: dict[str, list[tuple[tuple[int, Any], str]]] = {}
    for record in records.values():
        record.versions.sort(key=lambda v: v.key)
        record.created = record.versions[0].ts
        by_kind.setdefault(record.kind, []).append(((record.created, record.id), record.id))
    for times in finalizations.values():
        times.sort()
    return WorldIndex(
        records=records,
        events=event_records,
        kinds={kind: KindIndex(items) for kind, items in by_kind.items()},
        event_index=KindIndex([(e.key, e.id) for e in event_records.values()]),
        event_payloads=TextColumn(events.column("payload")),
        silent_payloads=TextColumn(silent.column("payload")),
        final_payloads=TextColumn(finals.column("payload")),
        finalizations=finalizations,
    )
