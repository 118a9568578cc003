"""The audit log in a PostgreSQL warehouse: the same entries, chain and head file as
`revstack.warehouse.audit_store.DuckDBAuditLog`, in the ``revstack_audit`` schema there.

Appends lock the head row (``SELECT ... FOR UPDATE``), so concurrent writers take turns and
the chain never forks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from revstack.warehouse.audit import (
    GENESIS,
    AuditEntry,
    AuditEvent,
    ChainReport,
    seal,
    verify_chain,
)
from revstack.warehouse.audit_store import (
    _COLUMNS,
    SCHEMA,
    read_head_file,
    write_head_file,
)


class PostgresAuditLog:
    """The audit log in PostgreSQL (`connection`: a DB-API connection, e.g. psycopg2) with
    its head file at `head_path`."""

    def __init__(
        self,
        connection: Any,
        head_path: Path,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.db = connection
        self.head_path = head_path
        self._now = now

    def ensure_tables(self) -> None:
        with self.db.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            cursor.execute(
                f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.entries (
                    seq BIGINT PRIMARY KEY, recorded_at VARCHAR NOT NULL, run_id VARCHAR NOT NULL,
                    source VARCHAR NOT NULL, stream VARCHAR NOT NULL, action VARCHAR NOT NULL,
                    outcome VARCHAR NOT NULL, cursor_before VARCHAR, cursor_after VARCHAR,
                    requests BIGINT NOT NULL, rows BIGINT NOT NULL, data_sha256 VARCHAR,
                    error VARCHAR, details VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL,
                    entry_hash VARCHAR NOT NULL)"""
            )
            cursor.execute(
                f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.head (
                    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
                    seq BIGINT NOT NULL, entry_hash VARCHAR NOT NULL)"""
            )
            cursor.execute(
                f"INSERT INTO {SCHEMA}.head (only_row, seq, entry_hash) VALUES (TRUE, 0, %s) "
                "ON CONFLICT (only_row) DO NOTHING",
                [GENESIS],
            )
        self.db.commit()

    def append(self, event: AuditEvent) -> AuditEntry:
        """Record `event` as the next entry; the entry and the head change together."""
        self.ensure_tables()
        try:
            with self.db.cursor() as cursor:
                cursor.execute(f"SELECT seq, entry_hash FROM {SCHEMA}.head FOR UPDATE")
                seq, prev = cursor.fetchone()
                entry = seal(event, int(seq) + 1, str(prev), self._now())
                values = entry.body() | {"entry_hash": entry.entry_hash}
                values["details"] = json.dumps(values["details"], sort_keys=True)
                placeholders = ", ".join("%s" for _ in _COLUMNS)
                cursor.execute(
                    f"INSERT INTO {SCHEMA}.entries ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                    [values[column] for column in _COLUMNS],
                )
                cursor.execute(
                    f"UPDATE {SCHEMA}.head SET seq = %s, entry_hash = %s",
                    [entry.seq, entry.entry_hash],
                )
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        write_head_file(self.head_path, entry.seq, entry.entry_hash)
        return entry

    def entries(self) -> Iterator[AuditEntry]:
        self.ensure_tables()
        with self.db.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(_COLUMNS)} FROM {SCHEMA}.entries ORDER BY seq")
            rows = cursor.fetchall()
        for row in rows:
            values: dict[str, Any] = dict(zip(_COLUMNS, row, strict=True))
            values["details"] = json.loads(values["details"])
            yield AuditEntry(**values)

    def verify(self) -> ChainReport:
        head = read_head_file(self.head_path)
        if head is None:
            with self.db.cursor() as cursor:
                cursor.execute(f"SELECT seq, entry_hash FROM {SCHEMA}.head")
                row = cursor.fetchone()
            head = (int(row[0]), str(row[1])) if row and row[0] else None
        return verify_chain(self.entries(), head)
