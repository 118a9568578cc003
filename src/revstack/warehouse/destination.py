"""Which warehouse dlt loads into, from ``[warehouse]``: DuckDB (default) or PostgreSQL.

The rest of the code asks this module for a pipeline and never names a destination itself.
PostgreSQL needs the ``postgres`` extra (psycopg2). Snowflake is planned.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import dlt
from dlt.common.destination import Destination
from dlt.common.typing import TLoaderFileFormat

from revstack.config import WarehouseSettings
from revstack.errors import ConfigError, MissingDependencyError, NotAvailableError

__all__ = [
    "close_pipeline",
    "loader_file_format",
    "make_destination",
    "open_pipeline",
    "require_postgres_driver",
]

_PARQUET_HINT_WARNING = "when merging arrow schema with dlt schema, several column hints"


class _DropKnownNoise(logging.Filter):
    """dlt warns on every Arrow load whose JSON column arrives as text, which is exactly how
    dlt itself writes JSON to Parquet; that warning says nothing to an operator."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _PARQUET_HINT_WARNING not in record.getMessage()


def _quiet_dlt() -> None:
    logger = logging.getLogger("dlt")
    if not any(isinstance(existing, _DropKnownNoise) for existing in logger.filters):
        logger.addFilter(_DropKnownNoise())


def require_postgres_driver() -> None:
    """Fail with the extra to install when psycopg2 is missing."""
    if importlib.util.find_spec("psycopg2") is None:
        raise MissingDependencyError(
            "warehouse.destination is postgres but psycopg2 is not installed: "
            "pip install 'revstack[postgres]'"
        )


def make_destination(settings: WarehouseSettings) -> Destination[Any, Any]:
    """The dlt destination for `settings`."""
    if settings.destination == "duckdb":
        import duckdb

        settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        # One open connection for the pipeline's life: dlt would otherwise open (and close)
        # the file for every job and query, which costs more than a small load itself.
        return dlt.destinations.duckdb(credentials=duckdb.connect(str(settings.duckdb_path)))
    if settings.destination == "postgres":
        require_postgres_driver()
        from dlt.destinations.impl.postgres.configuration import PostgresCredentials

        if settings.postgres_dsn is None:
            raise ConfigError('warehouse.postgres_dsn must be set when destination is "postgres"')
        credentials = PostgresCredentials(settings.postgres_dsn.get_secret_value())
        # dlt insists on a password; servers with trust or peer authentication have none.
        credentials.password = credentials.password or ""
        return dlt.destinations.postgres(credentials=credentials)
    raise NotAvailableError(f"loading into {settings.destination}", "Snowflake through dlt")


def loader_file_format(settings: WarehouseSettings) -> TLoaderFileFormat:
    """Parquet into DuckDB; ``insert_values`` into PostgreSQL.

    dlt copies Parquet into PostgreSQL only through the ADBC driver, which fails on an empty
    file (a table created before it has rows) and cannot write ``jsonb``; inserts work for
    every table and keep payloads as ``jsonb``.
    """
    if settings.destination == "postgres":
        return "insert_values"
    return "parquet"


def open_pipeline(name: str, dataset: str, settings: WarehouseSettings) -> dlt.Pipeline:
    """A dlt pipeline loading dataset `dataset`; its working files live under
    ``<state_dir>/dlt/<name>``."""
    _quiet_dlt()
    # Arrow loads carry dlt's load id only when asked: raw rows must name their load.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    pipelines_dir = settings.state_dir / "dlt"
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=name,
        destination=make_destination(settings),
        dataset_name=dataset,
        pipelines_dir=str(pipelines_dir),
    )


def close_pipeline(pipeline: dlt.Pipeline) -> None:
    """Release the connection `open_pipeline` opened for a DuckDB warehouse."""
    destination = pipeline.destination
    credentials = destination.config_params.get("credentials") if destination else None
    close = getattr(credentials, "close", None)
    if callable(close):
        close()
