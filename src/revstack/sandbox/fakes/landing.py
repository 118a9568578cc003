"""Product events landing in a directory as the sandbox clock moves, the way a Firehose or
Kafka Connect sink writes them: gzipped NDJSON files under ``dt=YYYY-MM-DD/``.

An event lands once its `received_at` is at or before the clock. Each catch-up writes one file
per UTC day of `received_at` it covers (two when the day holds events from before and after the
new `app_version` field appeared: older clients' lines lack the key). File names carry the
covered window, so the same clock moves always produce the same files. After each catch-up
the file ``_landed_until`` holds the Unix second up to which events have landed.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import duckdb

from revstack.errors import WorldError

_COLUMNS = (
    "event_id, event_name, "
    "strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS occurred_at, "
    "strftime(received_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS received_at, "
    "user_id, workspace_id, anonymous_id, properties::JSON AS properties"
)


class LandingZoneWriter:
    """Writes the world's product events into `directory` up to the clock."""

    def __init__(self, world_dir: Path, directory: Path) -> None:
        events = world_dir / "product" / "events.parquet"
        if not events.is_file():
            raise WorldError(f"{world_dir} holds no product events")
        self.directory = directory
        self._lock = threading.Lock()
        self._db = duckdb.connect()
        self._db.execute(
            "CREATE TABLE events AS SELECT * FROM read_parquet(?) ORDER BY received_at, event_id",
            [str(events)],
        )
        self._landed_until: dt.datetime | None = None

    def catch_up(self, now: int) -> int:
        """Write every event received after the last catch-up and at or before `now` (Unix
        seconds). Returns how many lines were written."""
        until = dt.datetime.fromtimestamp(now, dt.UTC)
        with self._lock:
            since = self._landed_until
            if since is not None and until <= since:
                return 0
            window = "received_at <= ?" + ("" if since is None else " AND received_at > ?")
            params: list[object] = [until] if since is None else [until, since]
            groups = self._db.execute(
                f"""SELECT received_at::DATE AS day, app_version IS NOT NULL AS versioned,
                           count(*), min(epoch_ms(received_at)), max(epoch_ms(received_at))
                    FROM events WHERE {window} GROUP BY ALL ORDER BY day, versioned""",
                params,
            ).fetchall()
            written = 0
            for day, versioned, count, first_ms, last_ms in groups:
                folder = self.directory / f"dt={day.isoformat()}"
                folder.mkdir(parents=True, exist_ok=True)
                suffix = "-v" if versioned else ""
                target = folder / f"events-{first_ms}-{last_ms}{suffix}.json.gz"
                columns = _COLUMNS + (", app_version" if versioned else "")
                condition = "app_version IS NOT NULL" if versioned else "app_version IS NULL"
                partial = target.with_name(target.name + ".partial")
                # A range on the sort column lets DuckDB skip the other days' row groups.
                day_start = dt.datetime.combine(day, dt.time(), dt.UTC)
                self._db.execute(
                    f"""COPY (SELECT {columns} FROM events
                              WHERE {window} AND received_at >= ? AND received_at < ?
                                AND {condition}
                              ORDER BY received_at, event_id)
                        TO '{partial}' (FORMAT JSON, COMPRESSION GZIP)""",
                    [*params, day_start, day_start + dt.timedelta(days=1)],
                )
                partial.rename(target)  # readers never see a half-written file
                written += count
            self._landed_until = until
            marker = self.directory / "_landed_until"
            self.directory.mkdir(parents=True, exist_ok=True)
            marker.with_suffix(".partial").write_text(f"{now}\n")
            marker.with_suffix(".partial").rename(marker)
            return written
