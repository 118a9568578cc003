"""The world's Salesforce records in memory, answerable as of any moment.

Each object's version rows are held column by column (one Arrow column per canonical field,
parsed once from the ``fields`` JSON), sorted by ``Id`` and time, with each version's validity
interval ``[ms, until)``. A record at moment T is the version valid at T; versions are
classified by operation: ``upsert``/``undelete`` are live, ``delete`` is in the recycle bin
(queryAll only), ``purge`` is gone. Every question is a vectorised filter over these arrays, so
it costs milliseconds for a million rows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

from revstack.errors import WorldError
from revstack.sandbox.fakes.salesforce.schema import Schema

UPSERT, DELETE, UNDELETE, PURGE = 0, 1, 2, 3
OPS = {"upsert": UPSERT, "delete": DELETE, "undelete": UNDELETE, "purge": PURGE}
FOREVER = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Versions:
    """One object's record versions (immutable: injecting records builds a new one)."""

    sobject: str
    table: pa.Table
    """One column per canonical field, sorted by Id then time."""
    ms: np.ndarray
    """When each version took effect (its SystemModstamp), Unix ms."""
    until: np.ndarray
    """When the next version of the same record took effect (`FOREVER` for the last)."""
    op: np.ndarray
    deleted_ms: np.ndarray
    """For delete and purge versions: when the record left (the soft delete before a purge)."""

    def current(self, at_ms: int) -> np.ndarray:
        """Mask of the versions in force at `at_ms` (one per record that exists by then)."""
        return (self.ms <= at_ms) & (self.until > at_ms)

    def visible(self, at_ms: int, *, include_deleted: bool) -> np.ndarray:
        """Row indices of the records `query` (or `queryAll`) sees at `at_ms`, in Id order."""
        ops = self.op
        wanted = (ops == UPSERT) | (ops == UNDELETE)
        if include_deleted:
            wanted |= ops == DELETE
        return np.flatnonzero(self.current(at_ms) & wanted)

    def find(self, record_id: str, at_ms: int) -> int | None:
        """Row index of the version of `record_id` in force at `at_ms`, if any."""
        matches = np.flatnonzero(
            pc.equal(self.table.column("Id"), record_id).to_numpy(zero_copy_only=False)
        )
        for row in matches:
            if self.ms[row] <= at_ms < self.until[row]:
                return int(row)
        return None

    def updated_ids(self, start_ms: int, end_ms: int, at_ms: int) -> list[str]:
        """Ids of records created or changed in ``[start, end)`` that exist at `at_ms`."""
        ops = self.op
        changed = ((ops == UPSERT) | (ops == UNDELETE)) & (self.ms >= start_ms)
        changed &= (self.ms < end_ms) & (self.ms <= at_ms)
        ids = self.table.column("Id")
        touched = pc.unique(ids.take(pa.array(np.flatnonzero(changed))))
        live = ids.take(pa.array(self.visible(at_ms, include_deleted=False)))
        kept = pc.filter(touched, pc.is_in(touched, value_set=live.combine_chunks()))
        return sorted(kept.to_pylist())

    def deleted(self, start_ms: int, end_ms: int, at_ms: int) -> list[tuple[str, int]]:
        """(Id, deletion ms) of records deleted (or purged) in ``[start, end)`` and still gone
        at `at_ms`, by deletion time."""
        ops = self.op
        gone = self.current(at_ms) & ((ops == DELETE) | (ops == PURGE))
        gone &= (self.deleted_ms >= start_ms) & (self.deleted_ms < end_ms)
        rows = np.flatnonzero(gone)
        ids = self.table.column("Id").take(pa.array(rows)).to_pylist()
        pairs = [(str(i), int(ms)) for i, ms in zip(ids, self.deleted_ms[rows], strict=True)]
        return sorted(pairs, key=lambda pair: (pair[1], pair[0]))

    def appended(self, rows: pa.Table, ms: np.ndarray) -> Versions:
        """A copy with new single-version records (Ids after every existing one) added."""
        count = len(ms)
        return Versions(
            self.sobject,
            # One chunk per column: taking from a chunked column copies all its chunks first.
            pa.concat_tables([self.table, rows.select(self.table.column_names)]).combine_chunks(),
            np.concatenate([self.ms, ms]),
            np.concatenate([self.until, np.full(count, FOREVER, dtype=np.int64)]),
            np.concatenate([self.op, np.full(count, UPSERT, dtype=np.int8)]),
            np.concatenate([self.deleted_ms, np.zeros(count, dtype=np.int64)]),
        )


def _ndjson(fields: pa.ChunkedArray) -> pa.Buffer:
    """The JSON documents of a string column as one newline-delimited buffer."""
    lines = pc.binary_join_element_wise(fields, pa.scalar(""), "\n").combine_chunks()
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2][first:last]


def load_versions(path: Path, sobject: str, schema: pa.Schema) -> Versions:
    """Read one ``salesforce/<Object>.parquet`` into a `Versions`."""
    try:
        raw = pq.read_table(path, columns=["Id", "version", "system_modstamp", "op", "fields"])
    except (OSError, pa.ArrowException) as exc:
        raise WorldError(f"cannot read {path}: {exc}") from exc
    raw = raw.sort_by([("Id", "ascending"), ("version", "ascending")])
    count = raw.num_rows
    if count:
        table = (
            pj.read_json(
                pa.BufferReader(_ndjson(raw.column("fields"))),
                read_options=pj.ReadOptions(block_size=16 << 20),
                parse_options=pj.ParseOptions(
                    explicit_schema=schema, unexpected_field_behavior="ignore"
                ),
            )
            .select(schema.names)
            .combine_chunks()
        )
    else:
        table = schema.empty_table()
    ms = raw.column("system_modstamp").cast(pa.int64()).to_numpy()
    op_names = raw.column("op").to_numpy(zero_copy_only=False)
    op = np.zeros(count, dtype=np.int8)
    for name, code in OPS.items():
        op[op_names == name] = code
    ids = raw.column("Id").combine_chunks()
    same_as_next = np.zeros(count, dtype=bool)
    if count > 1:
        same_as_next[:-1] = pc.equal(ids.slice(0, count - 1), ids.slice(1)).to_numpy(
            zero_copy_only=False
        )
    until = np.full(count, FOREVER, dtype=np.int64)
    until[:-1][same_as_next[:-1]] = ms[1:][same_as_next[:-1]]
    # A purge right after a soft delete keeps the soft delete's moment as the deletion time.
    deleted_ms = ms.copy()
    after_delete = np.zeros(count, dtype=bool)
    after_delete[1:] = same_as_next[:-1] & (op[:-1] == DELETE) & (op[1:] == PURGE)
    deleted_ms[after_delete] = ms[:-1][after_delete[1:]]
    return Versions(sobject, table, ms, until, op, deleted_ms)


class Store:
    """Every object's versions; swapped atomically when records are injected."""

    def __init__(self, world_dir: Path, schema: Schema) -> None:
        self.schema = schema
        self._lock = threading.Lock()
        self._objects: dict[str, Versions] = {}
        for sobject in schema.objects:
            path = world_dir / "salesforce" / f"{sobject}.parquet"
            if not path.exists():
                raise WorldError(f"the world has no {path}; regenerate it")
            self._objects[sobject] = load_versions(path, sobject, schema.arrow_schema(sobject))
        self._injected: dict[str, int] = dict.fromkeys(schema.objects, 0)

    def versions(self, sobject: str) -> Versions:
        with self._lock:
            return self._objects[sobject]

    def replace(self, before: Versions, after: Versions, injected: int) -> bool:
        """Swap in `after` if `before` is still current (else someone injected meanwhile)."""
        with self._lock:
            if self._objects[before.sobject] is not before:
                return False
            self._objects[before.sobject] = after
            self._injected[before.sobject] += injected
            return True

    def injected(self, sobject: str) -> int:
        with self._lock:
            return self._injected[sobject]
