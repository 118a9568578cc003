"""The audit log of the configured warehouse: DuckDB (entries in the warehouse file) or
PostgreSQL (entries in its ``revstack_audit`` schema), each with a head file beside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from revstack.config import WarehouseSettings
from revstack.errors import NotAvailableError
from revstack.warehouse.audit import AuditEntry, AuditEvent, ChainReport
from revstack.warehouse.audit_store import head_path_for


class AuditLog(Protocol):
    def append(self, event: AuditEvent) -> AuditEntry: ...

    def verify(self) -> ChainReport: ...


@contextmanager
def open_audit_log(settings: WarehouseSettings) -> Iterator[AuditLog]:
    """The audit log of the warehouse `settings` name, open for the block."""
    if settings.destination == "duckdb":
        import duckdb

        from revstack.warehouse.audit_store import DuckDBAuditLog

        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(str(settings.duckdb_path))
        try:
            yield DuckDBAuditLog(connection, head_path_for(settings.duckdb_path))
        finally:
            connection.close()
        return
    if settings.destination == "postgres":
        from revstack.warehouse.audit_postgres import PostgresAuditLog
        from revstack.warehouse.destination import require_postgres_driver

        require_postgres_driver()
        import psycopg2

        assert settings.postgres_dsn is not None  # WarehouseSettings requires it for postgres
        connection = psycopg2.connect(settings.postgres_dsn.get_secret_value())
        try:
            yield PostgresAuditLog(connection, settings.state_dir / "audit-head.postgres.json")
        finally:
            connection.close()
        return
    raise NotAvailableError(f"the audit log on {settings.destination}", "Snowflake")
