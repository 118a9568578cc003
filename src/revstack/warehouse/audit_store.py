"""Where the audit log lives: tables in the warehouse, plus a head file beside it.

The entries are a table (`revstack_audit.entries`) so they travel with the data they describe;
the head (last sequence number and hash) is kept both in the warehouse and in a small file next
to it, so that deleting entries at the tail is caught even by someone who can rewrite the
warehouse. Ship the head elsewhere too (it is one line) for an independent anchor.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from revstack.errors import TerminalError
from revstack.warehouse.audit import (
    GENESIS,
    AuditEntry,
    AuditEvent,
    ChainReport,
    seal,
    verify_chain,
)

SCHEMA = "revstack_audit"
_COLUMNS = (
    "seq",
    "recorded_at",
    "run_id",
    "source",
    "stream",
    "action",
    "outcome",
    "cursor_before",
    "cursor_after",
    "requests",
    "rows",
    "data_sha256",
    "error",
    "details",
    "prev_hash",
    "entry_hash",
)


class AuditError(TerminalError):
    """The audit log cannot be written or read; ingestion must stop until it is fixed."""


class DuckDBAuditLog:
    """The audit log in a DuckDB warehouse (`connection`) with its head file at `head_path`."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        head_path: Path,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = connection
        self.head_path = head_path
        self._now = now

    def ensure_tables(self) -> None:
        self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        self.db.execute(
            f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.entries (
                seq BIGINT PRIMARY KEY, recorded_at VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
                source VARCHAR NOT NULL, stream VARCHAR NOT NULL, action VARCHAR NOT NULL,
                outcome VARCHAR NOT NULL, cursor_before VARCHAR, cursor_after VARCHAR,
                requests BIGINT NOT NULL, rows BIGINT NOT NULL, data_sha256 VARCHAR,
                error VARCHAR, details VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL,
                entry_hash VARCHAR NOT NULL)"""
        )
        self.db.execute(
            f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.head (
                seq BIGINT NOT NULL, entry_hash VARCHAR NOT NULL)"""
        )

    def append(self, event: AuditEvent) -> AuditEntry:
        """Record `event` as the next entry; the entry and the head change together."""
        self.ensure_tables()
        self.db.execute("BEGIN TRANSACTION")
        try:
            row = self.db.execute(f"SELECT seq, entry_hash FROM {SCHEMA}.head").fetchone()
            seq, prev = (row[0], row[1]) if row else (0, GENESIS)
            entry = seal(event, seq + 1, prev, self._now())
            values = entry.body() | {"entry_hash": entry.entry_hash}
            values["details"] = json.dumps(values["details"], sort_keys=True)
            placeholders = ", ".join("?" for _ in _COLUMNS)
            self.db.execute(
                f"INSERT INTO {SCHEMA}.entries ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                [values[column] for column in _COLUMNS],
            )
            self.db.execute(f"DELETE FROM {SCHEMA}.head")
            self.db.execute(
                f"INSERT INTO {SCHEMA}.head VALUES (?, ?)", [entry.seq, entry.entry_hash]
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._write_head_file(entry.seq, entry.entry_hash)
        return entry

    def entries(self) -> Iterator[AuditEntry]:
        """Entries in stored order (as a reader of the table sees them)."""
        if not self._has_tables():
            return
        cursor = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM {SCHEMA}.entries ORDER BY seq")
        for row in cursor.fetchall():
            values: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
            values["details"] = json.loads(values["details"])
            yield AuditEntry(**values)

    def verify(self) -> ChainReport:
        """Verify the chain and that it ends at the head kept in the warehouse and the file."""
        stored = None
        if self._has_tables():
            row = self.db.execute(f"SELECT seq, entry_hash FROM {SCHEMA}.head").fetchone()
            stored = (int(row[0]), str(row[1])) if row else None
        from_file = self._read_head_file()
        if stored is not None and from_file is not None and stored != from_file:
            report = verify_chain(self.entries(), from_file)
            if report.ok:
                return ChainReport(
                    report.entries,
                    False,
                    from_file[0],
                    "the head recorded in the warehouse was altered",
                )
            return report
        return verify_chain(self.entries(), from_file or stored)

    def _has_tables(self) -> bool:
        found = self.db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
            "AND table_name = 'entries'",
            [SCHEMA],
        ).fetchone()
        return bool(found and found[0])

    def _write_head_file(self, seq: int, digest: str) -> None:
        write_head_file(self.head_path, seq, digest)

    def _read_head_file(self) -> tuple[int, str] | None:
        return read_head_file(self.head_path)


def write_head_file(path: Path, seq: int, digest: str) -> None:
    """Replace the head file atomically (write aside, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps({"seq": seq, "entry_hash": digest}) + "\n")
    os.replace(partial, path)


def read_head_file(path: Path) -> tuple[int, str] | None:
    """(last seq, last hash) from a head file; None when there is none."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as exc:
        raise AuditError(f"the audit head file {path} is unreadable: {exc}") from exc
    return int(data["seq"]), str(data["entry_hash"])


def head_path_for(duckdb_path: Path) -> Path:
    """The head file that belongs to a DuckDB warehouse file."""
    return duckdb_path.with_name(duckdb_path.name + ".audit-head.json")
