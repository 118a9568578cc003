"""The same connector into PostgreSQL (dlt's postgres destination), with its audit log there.

Runs against ``$REVSTACK_TEST_POSTGRES_DSN`` (default ``postgresql://postgres@127.0.0.1:5432/test``)
in a database of its own, created and dropped by the test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from revstack.sources.stripe.context import open_context
from revstack.sources.stripe.run import IngestOptions, run_actions
from revstack.sources.stripe.settings import RESOURCES
from revstack.warehouse.audit_sink import open_audit_log
from revstack.warehouse.verify import verify_audit_log
from revstack.warehouse.versions import latest_sql

from .conftest import normalised, stripe_settings, warehouse_settings, world_final

psycopg2 = pytest.importorskip("psycopg2", reason="the postgres extra is not installed")

DSN = os.environ.get("REVSTACK_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")


def _with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def postgres_dsn() -> Iterator[str]:
    try:
        admin = psycopg2.connect(DSN, connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(f"PostgreSQL at {urlsplit(DSN).netloc} is unreachable: {error}")
    admin.autocommit = True
    database = f"revstack_test_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{database}"')
    try:
        yield _with_database(DSN, database)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.close()


def test_backfill_and_incremental_into_postgres(
    fake_factory: Any,
    world_dir: Path,
    period: tuple[int, int],
    tmp_path: Path,
    postgres_dsn: str,
) -> None:
    from pydantic import SecretStr

    _, end = period
    warehouse = warehouse_settings(
        tmp_path, destination="postgres", postgres_dsn=SecretStr(postgres_dsn)
    )
    with fake_factory(end) as fake:
        for options in (IngestOptions(backfill=True), IngestOptions(), IngestOptions()):
            ctx = open_context(stripe_settings(fake.url), warehouse)
            try:
                report = run_actions(ctx, options)
            finally:
                ctx.close()
        # The last incremental run found nothing new.
        assert sum(t.rows_new for t in report.tallies) == 0

    connection = psycopg2.connect(postgres_dsn)
    try:
        with connection.cursor() as cursor:
            for resource in RESOURCES:
                cursor.execute(f"SELECT id, payload FROM ({latest_sql(resource.table)}) AS t")
                loaded = {row[0]: row[1] for row in cursor.fetchall()}
                truth = world_final(world_dir, resource.table)
                assert loaded.keys() == truth.keys(), resource.table
                for object_id, payload in truth.items():
                    assert normalised(loaded[object_id]) == normalised(payload), object_id
            cursor.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = "
                "'raw_stripe' AND table_name = 'charges' AND column_name = 'payload'"
            )
            assert cursor.fetchone()[0] in ("json", "jsonb")
            cursor.execute("SELECT count(*), count(DISTINCT action) FROM revstack_audit.entries")
            entries, actions = cursor.fetchone()
            assert entries >= 10 and actions == 2
    finally:
        connection.close()
    with open_audit_log(warehouse) as log:
        assert log.verify().ok
    assert verify_audit_log(warehouse).startswith("Audit log intact")
