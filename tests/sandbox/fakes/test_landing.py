"""Product events landing as gzipped NDJSON while the sandbox clock moves."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq

from revstack.sandbox.fakes.landing import LandingZoneWriter
from revstack.sandbox.fakes.server import world_period


def landed_lines(directory: Path) -> list[dict[str, object]]:
    lines = []
    for path in sorted(directory.rglob("*.json.gz")):
        with gzip.open(path, "rt") as handle:
            lines.extend(json.loads(line) for line in handle)
    return lines


def test_events_land_once_received_each_exactly_once(world_dir: Path, tmp_path: Path) -> None:
    start, end = world_period(world_dir)
    writer = LandingZoneWriter(world_dir, tmp_path / "landing")
    middle = start + (end - start) // 2
    first = writer.catch_up(middle)
    assert writer.catch_up(middle) == 0  # nothing new: nothing written
    second = writer.catch_up(end)
    lines = landed_lines(tmp_path / "landing")
    assert len(lines) == first + second
    world = pq.read_table(world_dir / "product/events.parquet").to_pylist()
    received = [e for e in world if e["received_at"] <= dt.datetime.fromtimestamp(end, dt.UTC)]
    assert len(lines) == len(received)  # duplicates delivered twice land twice
    by_id = {e["event_id"] for e in received}
    assert {line["event_id"] for line in lines} == by_id
    for line in lines[:2000]:
        assert isinstance(line["properties"], dict)
        assert line["received_at"].endswith("Z") and line["occurred_at"].endswith("Z")
    assert any("app_version" in line for line in lines)
    assert any("app_version" not in line for line in lines)  # older clients lack the field
    assert (tmp_path / "landing" / "_landed_until").read_text().strip() == str(end)
    early = [line for line in lines if line["received_at"] <= _iso(middle)]
    assert len(early) == first


def test_the_same_clock_moves_write_the_same_files(world_dir: Path, tmp_path: Path) -> None:
    start, _ = world_period(world_dir)
    names = []
    for run in ("a", "b"):
        writer = LandingZoneWriter(world_dir, tmp_path / run)
        writer.catch_up(start + 86_400 * 30)
        writer.catch_up(start + 86_400 * 31)
        names.append(
            sorted(
                p.relative_to(tmp_path / run).as_posix()
                for p in (tmp_path / run).rglob("*.json.gz")
            )
        )
    assert names[0] == names[1] and names[0]
    assert all(name.startswith("dt=") for name in names[0])


def _iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
