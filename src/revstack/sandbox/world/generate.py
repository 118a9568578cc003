"""Generates a world: simulates every customer and prospect, writes the systems' data and the
ground truth under one directory, and a manifest with each file's checksum.

Customers are simulated in chunks; each chunk's rows become one Parquet row group per table,
so memory stays bounded by the chunk size whatever the number of customers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revstack.errors import WorldError
from revstack.sandbox.world import crm, product, stripe_record, truth
from revstack.sandbox.world.behaviour import Behaviour
from revstack.sandbox.world.billing import CustomerSimulation
from revstack.sandbox.world.catalog import CURRENCIES
from revstack.sandbox.world.clock import add_months, to_ts
from revstack.sandbox.world.config import WorldConfig
from revstack.sandbox.world.counts import count_world
from revstack.sandbox.world.payouts import record_payouts
from revstack.sandbox.world.revenue import RevenueLedger
from revstack.sandbox.world.story import Window
from revstack.sandbox.world.stripe_catalog import StripeCatalog
from revstack.sandbox.world.tables import Sink, Table, WorldWriter

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


def world_window(config: WorldConfig) -> Window:
    start = to_ts(config.start)
    return Window(start, add_months(start, config.months))


def all_tables() -> list[Table]:
    return [*stripe_record.TABLES, *crm.TABLES, *product.TABLES, *truth.TABLES]


def generate_world(
    config: WorldConfig,
    out_dir: Path,
    *,
    overwrite: bool = False,
    behaviour: Behaviour | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> WorldManifest:
    """Simulate the world `config` describes and write it to `out_dir`.

    The world is written to a sibling directory first and moved into place when complete, so
    `out_dir` never holds half a world. An existing non-empty `out_dir` is replaced only with
    `overwrite`. `progress(done, total)` is called after each chunk of entities.
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
        manifest = _generate(config, partial, behaviour or Behaviour(), progress)
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
) -> WorldManifest:
    window = world_window(config)
    writer = WorldWriter(out_dir, all_tables())
    catalog = StripeCatalog(config.seed, window)
    ledger = RevenueLedger()
    available: dict[tuple[str, int], int] = defaultdict(int)
    redemptions: Counter[str] = Counter()
    sink = Sink()
    crm.simulate_crm_static(window, config.seed, sink)
    total = config.customers + config.prospects
    done = 0
    for chunk_start in range(0, config.customers, config.chunk_size):
        for index in range(chunk_start, min(chunk_start + config.chunk_size, config.customers)):
            outcome = CustomerSimulation(index, window, config.seed, catalog, sink, behaviour).run()
            ledger.merge(outcome.ledger)
            for key, amount in outcome.available.items():
                available[key] += amount
            redemptions.update(outcome.coupon_redemptions)
            truth.add_customer_truth(outcome.story, window, sink)
            crm.simulate_customer_crm(outcome.story, window, config.seed, sink)
            product.simulate_customer_product(
                outcome.story, window, config.seed, config.product_events_per_seat_day, sink
            )
            done += 1
        writer.write_chunk(sink)
        if progress:
            progress(done, total)
    first_prospect = config.customers
    for chunk_start in range(first_prospect, total, config.chunk_size):
        for index in range(chunk_start, min(chunk_start + config.chunk_size, total)):
            crm.simulate_prospect_crm(index, window, config.seed, sink)
            done += 1
        writer.write_chunk(sink)
        if progress:
            progress(done, total)
    catalog.record(sink, config.seed, redemptions)
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
