"""Loads into ``raw_stripe``: one dlt pipeline, committed loads, and what each load added.

Before anything else a run calls `RawLoader.prepare`, which settles what an earlier run left
behind. A process killed after dlt extracted a load package leaves the package pending, and
the pipeline's local state already holds the cursors extracted with it. Such packages are
*finished* (normalized and loaded), not dropped: each holds the data together with the cursor
that describes it, so finishing makes the warehouse match the state; dropping would need the
state rolled back as well, and would throw away pages already paid for in API requests. Insert-
only merges make finishing safe even when part of the package was already loaded. Only a
package the warehouse refuses is aborted (dlt restores the local state from before it), and
its pages are read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dlt
from dlt.common.exceptions import TransientException
from dlt.pipeline.exceptions import PipelineStepFailed

from revstack.config import WarehouseSettings
from revstack.errors import TerminalLoadError, TransientLoadError
from revstack.log import get_logger
from revstack.sources.stripe.resources import Kind, TableBatch, resource_state, stripe_raw
from revstack.sources.stripe.settings import (
    DATASET,
    EVENT_RANKS_TABLE,
    EVENTS_TABLE,
    PIPELINE_NAME,
    RESOURCES,
    WEBHOOK_RECEIPTS_TABLE,
)
from revstack.warehouse.audit import AuditEvent
from revstack.warehouse.audit_sink import open_audit_log
from revstack.warehouse.destination import close_pipeline, loader_file_format, open_pipeline

_log = get_logger(__name__)

Key = tuple[str, str]
ALL_TABLES: list[tuple[str, Kind]] = [
    *((resource.table, "versions") for resource in RESOURCES),
    (EVENTS_TABLE, "events"),
    (EVENT_RANKS_TABLE, "ranks"),
    (WEBHOOK_RECEIPTS_TABLE, "receipts"),
]


@dataclass
class LoadResult:
    """What one committed load offered and added, per table."""

    load_id: str | None
    """None when nothing was offered (a state-only change, kept locally until the next load)."""
    offered: dict[str, int] = field(default_factory=dict)
    new: dict[str, list[Key]] = field(default_factory=dict)
    """New rows' ``(id, version_key)`` (``version_key`` empty for ranks and receipts),
    sorted: the rows this load id holds in the table."""


def _load_error(step: PipelineStepFailed) -> Exception:
    cause = step.exception
    message = f"dlt {step.step} step failed: {cause}"
    if isinstance(cause, TransientException):
        return TransientLoadError(message)
    return TerminalLoadError(message)


class RawLoader:
    """The ``raw_stripe`` dataset of one warehouse, through one dlt pipeline."""

    def __init__(self, settings: WarehouseSettings, pipeline: dlt.Pipeline | None = None) -> None:
        self.settings = settings
        self.pipeline = pipeline or open_pipeline(PIPELINE_NAME, DATASET, settings)
        self.file_format = loader_file_format(settings)
        self.finished_pending: list[str] = []
        """Load ids of packages left by an earlier run and finished by `prepare`."""
        self.aborted_pending: list[str] = []
        self._synced = False
        self._tables_checked = False
        self._to_create: list[TableBatch] = []

    # --- state ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Restore state from the warehouse when the local copy is missing (once per loader),
        then finish (or, if the warehouse refuses them, abort) load packages an earlier run
        left pending."""
        if not self._synced:
            try:
                self.pipeline.sync_destination()
            except PipelineStepFailed as step:
                raise _load_error(step) from step
            # Synced once here; run() need not ask the warehouse again.
            self.pipeline.config.restore_from_destination = False
            self._synced = True
        self._finish_pending()
        self._ensure_tables()

    def _ensure_tables(self) -> None:
        """Have the next load create every raw table still missing, so queries over them
        never miss one."""
        if self._tables_checked:
            return
        rows = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            self.pipeline.dataset_name,
        )
        present = {str(row[0]) for row in rows}
        self._to_create = [
            TableBatch(table, kind, create=True)
            for table, kind in ALL_TABLES
            if table not in present
        ]
        self._tables_checked = True

    def _finish_pending(self) -> None:
        pipeline = self.pipeline
        if not pipeline.has_pending_data:
            return
        self._drop_normalized_leftovers()
        pending = [
            *pipeline.list_extracted_load_packages(),
            *pipeline.list_normalized_load_packages(),
        ]
        _log.warning("stripe.load.pending", load_ids=pending, action="finishing")
        try:
            if pipeline.list_extracted_load_packages():
                pipeline.normalize()
            pipeline.load()
            self.finished_pending.extend(pending)
        except PipelineStepFailed as step:
            _log.error("stripe.load.pending_failed", load_ids=pending, error=str(step.exception))
            pipeline.abort_packages()
            self.aborted_pending.extend(pending)

    def _drop_normalized_leftovers(self) -> None:
        """Delete extracted copies of packages that were already normalized.

        dlt's normalize renames the finished package into the load folder and only then deletes
        the extracted copy; a process killed between the two leaves both, and normalizing the
        copy again fails. The normalized package is complete (the rename is atomic), so the
        copy is dropped, which is the step dlt had left to do.
        """
        pipeline = self.pipeline
        leftovers = set(pipeline.list_extracted_load_packages()) & set(
            pipeline.list_normalized_load_packages()
        )
        if not leftovers:
            return
        extracted = pipeline._get_normalize_storage().extracted_packages
        for load_id in sorted(leftovers):
            _log.warning("stripe.load.leftover", load_id=load_id, action="dropping extracted copy")
            extracted.delete_package(load_id)

    def state(self, table: str) -> dict[str, Any]:
        return resource_state(self.pipeline, table)

    # --- loading -------------------------------------------------------------------------

    def commit(self, batches: Sequence[TableBatch]) -> LoadResult:
        """Load `batches` (one per table) and their state changes as one load."""
        merged = _merge([*self._to_create, *batches])
        # dlt's run() would load pending packages *instead of* this data: settle them first.
        self._finish_pending()
        _log.info("stripe.load.start", tables=[batch.table for batch in merged])
        try:
            info = self.pipeline.run(stripe_raw(merged), loader_file_format=self.file_format)
        except PipelineStepFailed as step:
            raise _load_error(step) from step
        self._to_create = []
        if not info.loads_ids:
            # No rows at all: dlt makes no package and keeps the state changes locally; the
            # next load carries them to the warehouse.
            return LoadResult(None)
        load_id = info.loads_ids[-1]
        result = LoadResult(load_id)
        for batch in merged:
            offered = len(batch.unique_rows())
            result.offered[batch.table] = offered
            new = self.rows_of_load(batch.table, batch.kind, load_id) if offered else []
            result.new[batch.table] = new
        _log.info(
            "stripe.load.committed",
            load_id=load_id,
            offered=sum(result.offered.values()),
            new=sum(len(rows) for rows in result.new.values()),
        )
        return result

    def rows_of_load(self, table: str, kind: str, load_id: str) -> list[Key]:
        has_key = kind in ("versions", "events")
        columns = "id, version_key" if has_key else "id, ''"
        order = "id, version_key" if has_key else "id"
        rows = self.query(
            f"SELECT {columns} FROM {self.qualified(table)} WHERE _dlt_load_id = %s "
            f"ORDER BY {order}",
            load_id,
        )
        return [(str(row[0]), str(row[1])) for row in rows]

    def close(self) -> None:
        close_pipeline(self.pipeline)

    # --- reading -------------------------------------------------------------------------

    def qualified(self, table: str) -> str:
        return f'"{self.pipeline.dataset_name}"."{table}"'

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.pipeline.sql_client() as client:
            return [tuple(row) for row in client.execute_sql(sql, *args) or []]

    def has_table(self, table: str) -> bool:
        rows = self.query(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = %s",
            self.pipeline.dataset_name,
            table,
        )
        return bool(rows and rows[0][0])

    def existing_ids(self, table: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` the table holds."""
        wanted = sorted(set(ids))
        if not wanted or not self.has_table(table):
            return set()
        found: set[str] = set()
        for start in range(0, len(wanted), 5_000):
            chunk = wanted[start : start + 5_000]
            rows = self.query(
                f"SELECT DISTINCT id FROM {self.qualified(table)} WHERE id = ANY(%s)", chunk
            )
            found.update(str(row[0]) for row in rows)
        return found

    # --- audit ---------------------------------------------------------------------------

    def audit(self, events: Iterable[AuditEvent]) -> None:
        """Append `events` to the warehouse's audit log."""
        events = list(events)
        if not events:
            return
        with open_audit_log(self.settings) as log:
            for event in events:
                log.append(event)


def _merge(batches: Sequence[TableBatch]) -> list[TableBatch]:
    """One batch per table (dlt needs unique resource names in a load)."""
    merged: dict[str, TableBatch] = {}
    for batch in batches:
        target = merged.get(batch.table)
        if target is None:
            merged[batch.table] = TableBatch(
                batch.table, batch.kind, list(batch.rows), dict(batch.state), batch.create
            )
            continue
        if target.kind != batch.kind:
            raise ValueError(f"table {batch.table} given as {target.kind} and {batch.kind}")
        target.rows.extend(batch.rows)
        target.create = target.create or batch.create
        for key, value in batch.state.items():
            if isinstance(value, dict) and isinstance(target.state.get(key), dict):
                target.state[key] = {**target.state[key], **value}
            else:
                target.state[key] = value
    return list(merged.values())
