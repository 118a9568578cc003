"""What an ingestion action did to one stream, kept as it runs and written to the audit log
as one entry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from revstack.sources.stripe.loader import LoadResult
from revstack.sources.stripe.settings import AUDIT_SOURCE
from revstack.warehouse.audit import AuditEvent
from revstack.warehouse.raw import rows_checksum


@dataclass
class StreamTally:
    """One (action, stream): requests, rows offered and new, loads, cursors, outcome."""

    action: str
    stream: str
    cursor_before: str | None = None
    cursor_after: str | None = None
    requests: int = 0
    offered: int = 0
    new: list[tuple[str, str]] = field(default_factory=list)
    """``(table, id, version_key)`` flattened as ``(id, version_key)`` per table in `tables`."""
    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    load_ids: list[str] = field(default_factory=list)
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def add_load(self, result: LoadResult, tables: Iterable[str]) -> None:
        """Count what `result` offered and added to `tables` (those this stream owns)."""
        touched = False
        for table in tables:
            if table not in result.offered:
                continue
            touched = True
            offered = result.offered[table]
            new = result.new.get(table, [])
            self.offered += offered
            self.new.extend(new)
            counts = self.tables.setdefault(table, {"offered": 0, "new": 0})
            counts["offered"] += offered
            counts["new"] += len(new)
        if touched and result.load_id is not None and result.load_id not in self.load_ids:
            self.load_ids.append(result.load_id)

    @property
    def rows_new(self) -> int:
        return len(self.new)

    def outcome(self) -> str:
        if self.error is None:
            return "success"
        return "partial" if self.load_ids else "failure"

    def audit_event(self, run_id: str) -> AuditEvent:
        checksum = (
            rows_checksum({"id": key, "version_key": version} for key, version in self.new)
            if self.new
            else None
        )
        return AuditEvent(
            run_id=run_id,
            source=AUDIT_SOURCE,
            stream=self.stream,
            action=self.action,
            outcome=self.outcome(),
            cursor_before=self.cursor_before,
            cursor_after=self.cursor_after,
            requests=self.requests,
            rows=self.rows_new,
            data_sha256=checksum,
            error=self.error,
            details={
                "rows_offered": self.offered,
                "rows_new": self.rows_new,
                "tables": self.tables,
                "load_ids": self.load_ids,
                "checksum_of": "new rows' (id, version_key), per load in load order, each load "
                "sorted by id and version_key",
                **self.details,
            },
        )
