"""``revstack audit verify``: check the configured warehouse's audit log."""

from __future__ import annotations

from revstack.config import WarehouseSettings
from revstack.errors import NotAvailableError
from revstack.warehouse.audit_store import AuditError, DuckDBAuditLog, head_path_for


def verify_audit_log(settings: WarehouseSettings) -> str:
    """A one-line verdict on the audit log; raises `AuditError` when it was tampered with."""
    if settings.destination == "postgres":
        from revstack.warehouse.audit_sink import open_audit_log

        with open_audit_log(settings) as log:
            report = log.verify()
        if not report.ok:
            raise AuditError(f"audit log broken at entry {report.first_bad_seq}: {report.problem}")
        return f"Audit log intact: {report.entries} entries, each chained to the one before."
    if settings.destination != "duckdb":
        raise NotAvailableError(
            f"audit verify on {settings.destination}", "audit logs in Snowflake"
        )
    import duckdb

    path = settings.duckdb_path
    head = head_path_for(path)
    if not path.exists():
        if head.exists():
            raise AuditError(f"the warehouse {path} is gone but its audit head {head} remains")
        return f"No audit log yet: {path} does not exist."
    connection = duckdb.connect(str(path), read_only=True)
    try:
        report = DuckDBAuditLog(connection, head).verify()
    finally:
        connection.close()
    if not report.ok:
        raise AuditError(f"audit log broken at entry {report.first_bad_seq}: {report.problem}")
    return f"Audit log intact: {report.entries} entries, each chained to the one before."
