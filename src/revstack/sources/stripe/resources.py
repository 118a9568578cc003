"""The dlt side of a load: one resource per raw table, fed Arrow tables, merged insert-only.

A `TableBatch` is what one load writes to one table, together with the resource-state
changes that describe it (a list position, the events cursor). dlt commits the state with the
load package, so data and cursor move together: a cursor never gets ahead of committed data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TColumnSchema, TMergeDispositionDict
from dlt.extract.resource import DltResource

from revstack.sources.stripe.rows import (
    EVENT_SCHEMA,
    RANK_SCHEMA,
    RECEIPT_SCHEMA,
    VERSION_SCHEMA,
    Row,
    to_arrow,
    unique,
)
from revstack.sources.stripe.settings import SOURCE_NAME

Kind = Literal["versions", "events", "ranks", "receipts"]

#: Arrow schema and insert-only key of each kind of table.
TABLE_KINDS: dict[Kind, tuple[pa.Schema, tuple[str, ...]]] = {
    "versions": (VERSION_SCHEMA, ("id", "version_key")),
    "events": (EVENT_SCHEMA, ("id",)),
    "ranks": (RANK_SCHEMA, ("id",)),
    "receipts": (RECEIPT_SCHEMA, ("id",)),
}
ARROW_ROWS = 10_000
"""Rows per Arrow table handed to dlt."""


@dataclass
class TableBatch:
    """Rows for one table in one load, and the table's resource-state changes."""

    table: str
    kind: Kind
    rows: list[Row] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    """Resource-state keys to set; dict values are merged one level deep."""
    create: bool = False
    """Create the table even without rows (a state-only batch otherwise adds no load job)."""

    def unique_rows(self) -> list[Row]:
        return unique(self.rows, TABLE_KINDS[self.kind][1])


INSERT_ONLY: TMergeDispositionDict = {"disposition": "merge", "strategy": "insert-only"}


def _column_hints(schema: pa.Schema) -> dict[str, TColumnSchema]:
    """The payload is one JSON column, never unpacked into child tables."""
    return {"payload": {"data_type": "json"}} if "payload" in schema.names else {}


def _apply_state(target: dict[str, Any], changes: Mapping[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            target[key].update(value)
        else:
            target[key] = value


def table_resource(batch: TableBatch) -> DltResource:
    schema, key = TABLE_KINDS[batch.kind]
    rows = batch.unique_rows()

    def produce() -> Iterator[pa.Table]:
        if batch.state:
            _apply_state(dlt.current.resource_state(), batch.state)
        if not rows and batch.create:
            yield to_arrow([], schema)
        for start in range(0, len(rows), ARROW_ROWS):
            yield to_arrow(rows[start : start + ARROW_ROWS], schema)

    resource: DltResource = dlt.resource(
        produce,
        name=batch.table,
        table_name=batch.table,
        write_disposition=INSERT_ONLY,
        primary_key=key,
        columns=_column_hints(schema),
    )
    return resource


@dlt.source(name=SOURCE_NAME, max_table_nesting=0, root_key=False)
def stripe_raw(batches: Sequence[TableBatch]) -> list[DltResource]:
    """One load's resources (one per table)."""
    return [table_resource(batch) for batch in batches]


def resource_state(pipeline: dlt.Pipeline, table: str) -> dict[str, Any]:
    """The committed resource state of `table` (empty when never loaded)."""
    sources = pipeline.state.get("sources") or {}
    resources = (sources.get(SOURCE_NAME) or {}).get("resources") or {}
    state = resources.get(table) or {}
    return dict(state)
