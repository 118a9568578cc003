"""The world's tables: where each lives on disk, its Arrow schema, and how rows reach it.

Simulations add rows to a `Sink`; the generator drains the sink once per chunk of customers
and appends one Parquet row group per table. Rows within a row group are sorted by the
table's `sort_by` columns, so the output depends only on the world's parameters.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from revstack.errors import WorldError


@dataclass(frozen=True, eq=False)
class Table:
    """A table of the world; compared and hashed by identity."""

    path: str
    """Location under the world directory, without the ``.parquet`` suffix."""
    schema: pa.Schema
    sort_by: tuple[str, ...]
    description: str


class Sink:
    """Collects rows (dicts) or ready Arrow batches per table for one chunk."""

    def __init__(self) -> None:
        self._rows: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        self._batches: dict[Table, list[pa.RecordBatch]] = defaultdict(list)

    def add(self, table: Table, row: dict[str, Any]) -> None:
        self._rows[table].append(row)

    def extend(self, table: Table, rows: list[dict[str, Any]]) -> None:
        self._rows[table].extend(rows)

    def add_batch(self, table: Table, batch: pa.RecordBatch) -> None:
        self._batches[table].append(batch)

    def drain(self, table: Table) -> pa.Table:
        """All rows collected for `table` as one sorted Arrow table, and forget them."""
        rows = self._rows.pop(table, [])
        parts = [pa.Table.from_batches(self._batches.pop(table, []), schema=table.schema)]
        if rows:
            try:
                parts.append(pa.Table.from_pylist(rows, schema=table.schema))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise WorldError(f"rows for {table.path} do not match its schema: {exc}") from exc
        result = pa.concat_tables(parts)
        if table.sort_by and result.num_rows:
            result = result.sort_by([(column, "ascending") for column in table.sort_by])
        return result


def drain_all(sink: Sink, tables: list[Table]) -> dict[str, pa.Table]:
    """Every non-empty table's rows from `sink`, by table path (picklable across processes)."""
    drained = {table.path: sink.drain(table) for table in tables}
    return {path: data for path, data in drained.items() if data.num_rows}


class WorldWriter:
    """One Parquet file per table, appended to chunk by chunk."""

    def __init__(self, root: Path, tables: list[Table]) -> None:
        self.root = root
        self.tables = tables
        self._writers: dict[Table, pq.ParquetWriter] = {}
        self.row_counts: dict[str, int] = {table.path: 0 for table in tables}
        self.record_counts: dict[str, int] = {
            table.path: 0 for table in tables if "version" in table.schema.names
        }
        """Distinct records of versioned tables (rows of their first version)."""

    def path_of(self, table: Table) -> Path:
        return self.root / f"{table.path}.parquet"

    def write_chunk(self, sink: Sink) -> None:
        """Append everything `sink` holds: one row group per table."""
        self.write_tables(drain_all(sink, self.tables))

    def write_tables(self, chunk: dict[str, pa.Table]) -> None:
        """Append one chunk's tables (by path), in the writer's table order."""
        unknown = set(chunk) - {table.path for table in self.tables}
        if unknown:
            raise WorldError(f"no such world tables: {sorted(unknown)}")
        for table in self.tables:
            data = chunk.get(table.path)
            if data is None or data.num_rows == 0:
                continue
            self._writer(table).write_table(data)
            self.row_counts[table.path] += data.num_rows
            if table.path in self.record_counts:
                firsts = pc.sum(pc.equal(data["version"], 1)).as_py() or 0
                self.record_counts[table.path] += firsts

    def _writer(self, table: Table) -> pq.ParquetWriter:
        writer = self._writers.get(table)
        if writer is None:
            path = self.path_of(table)
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = pq.ParquetWriter(
                path,
                table.schema,
                compression="zstd",
                compression_level=3,
                write_statistics=True,
                use_dictionary=True,
            )
            self._writers[table] = writer
        return writer

    def close(self) -> None:
        for table in self.tables:
            if table not in self._writers:
                # An empty table still exists on disk, with its schema.
                self._writer(table)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
