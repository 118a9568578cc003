"""Generates a world: simulates every customer and prospect, writes the systems' data and the
ground truth under one directory, and a manifest with each file's checksum.

Customers are simulated in chunks; each chunk's rows become one Parquet row group per table,
so memory stays bounded by the chunk size whatever the number of customers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revstack.errors import WorldError
from revstack.sandbox.world import crm, truth
from revstack.sandbox.world.behaviour import Behaviour
from revstack.sandbox.world.catalog import CURRENCIES
from revstack.sandbox.world.chunks import (
    ChunkResult,
    all_tables,
    catalog_for,
    simulate_customers,
    simulate_prospects,
    world_window,
)
from revstack.sandbox.world.config import WorldConfig
from revstack.sandbox.world.counts import count_world
from revstack.sandbox.world.payouts import record_payouts
from revstack.sandbox.world.revenue import RevenueLedger
from revstack.sandbox.world.tables import Sink, WorldWriter

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class WorldManifest:
    """What a world directory holds: its parameters, tables and file checksums."""

    config: WorldConfig
    start: dt.date
    end: dt.date
    """First day after the simulated period."""
    tables: dict[str, int]
    """Table path -> rows."""
    counts: dict[str, int]
    files: dict[str, str]
    """Relative path -> SHA-256 of the file."""

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "seed": self.config.seed,
            "customers": self.config.customers,
            "months": self.config.months,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "parameters": self.config.model_dump(mode="json"),
            "tables": self.tables,
            "counts": self.counts,
            "files": self.files,
        }


def generate_world(
    config: WorldConfig,
    out_dir: Path,
    *,
    overwrite: bool = False,
    behaviour: Behaviour | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> WorldManifest:
    """Simulate the world `config` describes and write it to `out_dir`.

    The world is written to a sibling directory first and moved into place when complete, so
    `out_dir` never holds half a world. An existing non-empty `out_dir` is replaced only with
    `overwrite`. `progress(done, total)` is called after each chunk of entities. Chunks are
    simulated by `workers` processes (default: one per CPU, at most 4); the output does not
    depend on their number.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise WorldError(f"{out_dir} exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise WorldError(f"{out_dir} is not empty; choose another directory or overwrite it")
    partial = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        if workers is None:
            workers = min(4, os.cpu_count() or 1)
        manifest = _generate(config, partial, behaviour or Behaviour(), progress, workers)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if out_dir.exists():
        shutil.rmtree(out_dir)
    partial.rename(out_dir)
    return manifest


def _generate(
    config: WorldConfig,
    out_dir: Path,
    behaviour: Behaviour,
    progress: Callable[[int, int], None] | None,
    workers: int,
) -> WorldManifest:
    window = world_window(config)
    writer = WorldWriter(out_dir, all_tables())
    ledger = RevenueLedger()
    available: dict[tuple[str, int], int] = defaultdict(int)
    redemptions: Counter[str] = Counter()
    sink = Sink()
    crm.simulate_crm_static(window, config.seed, sink)
    writer.write_chunk(sink)
    total = config.customers + config.prospects
    done = 0
    for result in _run_chunks(config, behaviour, workers):
        writer.write_tables(result.tables)
        ledger.merge_totals(result.revenue)
        for key, amount in result.available.items():
            available[key] += amount
        redemptions.update(result.redemptions)
        done += result.entities
        if progress:
            progress(done, total)
    catalog_for(config.seed, window).record(sink, config.seed, redemptions)
    record_payouts(available, CURRENCIES, window, config.seed, sink)
    truth.add_revenue_truth(ledger, window, CURRENCIES, sink)
    writer.write_chunk(sink)
    writer.close()
    crm.write_crm_metadata(out_dir, window)
    counts = count_world(out_dir, writer)
    _write_json(out_dir / "truth" / "counts.json", counts)
    files = {
        path.relative_to(out_dir).as_posix(): _sha256(path)
        for path in sorted(out_dir.rglob("*"))
        if path.is_file()
    }
    manifest = WorldManifest(
        config=config,
        start=config.start,
        end=dt.datetime.fromtimestamp(window.end, dt.UTC).date(),
        tables=dict(sorted(writer.row_counts.items())),
        counts=counts,
        files=files,
    )
    _write_json(out_dir / MANIFEST, manifest.to_json())
    return manifest


def _chunk_jobs(config: WorldConfig, behaviour: Behaviour) -> Iterator[tuple[Any, ...]]:
    """(function, arguments...) per chunk: customers first, then prospects."""
    size = config.chunk_size
    for start in range(0, config.customers, size):
        yield simulate_customers, config, behaviour, start, min(start + size, config.customers)
    total = config.customers + config.prospects
    for start in range(config.customers, total, size):
        yield simulate_prospects, config, start, min(start + size, total)


def _run_chunks(config: WorldConfig, behaviour: Behaviour, workers: int) -> Iterator[ChunkResult]:
    """Chunk results in chunk order, computed by `workers` processes (1: this process).

    At most two chunks per worker are in flight, so memory stays bounded.
    """
    jobs = _chunk_jobs(config, behaviour)
    if workers <= 1:
        for fn, *args in jobs:
            yield fn(*args)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[ChunkResult]] = deque()
        for fn, *args in jobs:
            pending.append(pool.submit(fn, *args))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def read_manifest(world_dir: Path) -> dict[str, Any]:
    path = world_dir / MANIFEST
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise WorldError(f"{world_dir} holds no world ({MANIFEST} is missing)") from exc
    except json.JSONDecodeError as exc:
        raise WorldError(f"{path} is not valid JSON: {exc}") from exc
    if data.get("format") != FORMAT_VERSION:
        raise WorldError(
            f"{world_dir} was written in world format {data.get('format')}, this revstack reads "
            f"format {FORMAT_VERSION}: generate it again"
        )
    return data


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
