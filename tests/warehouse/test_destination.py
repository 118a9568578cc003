"""Choosing the warehouse dlt loads into."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import SecretStr

from revstack.config import WarehouseSettings
from revstack.errors import MissingDependencyError, NotAvailableError
from revstack.warehouse import destination
from revstack.warehouse.destination import (
    close_pipeline,
    loader_file_format,
    make_destination,
    open_pipeline,
)


def settings(tmp_path: Path, **values: Any) -> WarehouseSettings:
    return WarehouseSettings.model_validate(
        {"duckdb_path": tmp_path / "wh" / "warehouse.duckdb", "state_dir": tmp_path / "s", **values}
    )


def test_duckdb_is_loaded_with_parquet_through_one_open_connection(tmp_path: Path) -> None:
    warehouse = settings(tmp_path)
    assert loader_file_format(warehouse) == "parquet"
    pipeline = open_pipeline("test_destination", "raw_test", warehouse)
    connection = pipeline.destination.config_params["credentials"]
    assert isinstance(connection, duckdb.DuckDBPyConnection)
    assert (tmp_path / "wh" / "warehouse.duckdb").exists()
    assert (tmp_path / "s" / "dlt").is_dir()
    close_pipeline(pipeline)
    with pytest.raises(duckdb.ConnectionException):
        connection.execute("SELECT 1")


def test_postgres_is_loaded_with_inserts(tmp_path: Path) -> None:
    warehouse = settings(
        tmp_path, destination="postgres", postgres_dsn=SecretStr("postgresql://u@h/db")
    )
    assert loader_file_format(warehouse) == "insert_values"
    if importlib.util.find_spec("psycopg2") is not None:
        factory = make_destination(warehouse)
        assert factory.destination_type.endswith("postgres")


def test_a_missing_postgres_driver_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        destination.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "psycopg2" else real(name, *args),
    )
    warehouse = settings(
        tmp_path, destination="postgres", postgres_dsn=SecretStr("postgresql://u@h/db")
    )
    with pytest.raises(MissingDependencyError, match=r"revstack\[postgres\]"):
        make_destination(warehouse)


def test_snowflake_is_planned(tmp_path: Path) -> None:
    with pytest.raises(NotAvailableError, match="snowflake"):
        make_destination(settings(tmp_path, destination="snowflake"))
