"""A small world, the fake Stripe serving it, and helpers to run the connector against it.

The world (seed 1, 200 customers, 8 months from 2025-03-01, ends 2025-11-01) is chosen because
it holds a dispute that closes 112 days after its charge (``dp_CwkHhdvW6uCmYToyyjymddmb``).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pyarrow.parquet as pq
import pytest
from pydantic import SecretStr

from revstack.config import StripeSettings, WarehouseSettings
from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.stripe.app import create_app
from revstack.sandbox.fakes.threaded import ServedApp
from revstack.sandbox.world import WorldConfig, generate_world
from revstack.sources.stripe.context import StripeContext, open_context
from revstack.sources.stripe.run import IngestOptions, RunReport, run_actions
from revstack.sources.stripe.settings import RESOURCES
from revstack.warehouse.versions import as_of_sql, latest_sql

CONNECTOR_WORLD = WorldConfig(seed=1, customers=200, months=8, start=dt.date(2025, 3, 1))
LATE_DISPUTE = "dp_CwkHhdvW6uCmYToyyjymddmb"
DAY = 86_400
KEY = "sk_test_connector"

#: Fields Stripe recomputes for the moment of reading, which no event records
#: (docs/sandbox.md, "Fake Stripe"): compared modulo these.
TIME_DEPENDENT = {
    "customer": ("next_invoice_sequence",),
    "balance_transaction": ("status",),
}


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stripe-connector-world") / "world"
    generate_world(CONNECTOR_WORLD, out, workers=1)
    return out


@pytest.fixture(scope="session")
def period(world_dir: Path) -> tuple[int, int]:
    return world_period(world_dir)


@dataclass
class Fake:
    url: str
    clock: SandboxClock
    faults: FaultController

    def move_to(self, ts: int) -> None:
        self.clock.set(ts)

    def wait_for_webhooks(self, timeout_s: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            status = httpx.get(f"{self.url}/_sandbox/stripe/webhooks").json()
            if status["pending"] == 0 or time.monotonic() > deadline:
                return dict(status)
            time.sleep(0.05)


@contextmanager
def serve_fake(world_dir: Path, at: int, profile: FaultProfile | None = None) -> Iterator[Fake]:
    _, end = world_period(world_dir)
    clock = SandboxClock(at, end=end)
    faults = FaultController(profile)
    with ServedApp(create_app(world_dir, clock, faults)) as url:
        yield Fake(url, clock, faults)


@pytest.fixture
def fake_factory(world_dir: Path) -> Callable[..., Any]:
    return lambda at, profile=None: serve_fake(world_dir, at, profile)


def stripe_settings(url: str, **overrides: Any) -> StripeSettings:
    values: dict[str, Any] = {"api_key": SecretStr(KEY), "api_base": url, **overrides}
    return StripeSettings.model_validate(values)


def warehouse_settings(root: Path, **overrides: Any) -> WarehouseSettings:
    values: dict[str, Any] = {
        "duckdb_path": root / "warehouse.duckdb",
        "state_dir": root / "state",
        **overrides,
    }
    return WarehouseSettings.model_validate(values)


def context(url: str, root: Path, **stripe_overrides: Any) -> StripeContext:
    return open_context(stripe_settings(url, **stripe_overrides), warehouse_settings(root))


def ingest(url: str, root: Path, stripe: dict[str, Any] | None = None, **options: Any) -> RunReport:
    ctx = context(url, root, **(stripe or {}))
    try:
        return run_actions(ctx, IngestOptions(**options))
    finally:
        ctx.close()


# --- reading what was loaded -------------------------------------------------------------


def query(root: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = duckdb.connect(str(root / "warehouse.duckdb"))
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def latest(root: Path, table: str) -> dict[str, dict[str, Any]]:
    rows = query(root, f"SELECT id, payload FROM ({latest_sql(table)}) AS t")
    return {row[0]: json.loads(row[1]) for row in rows}


def as_of(root: Path, table: str, ts: int) -> dict[str, dict[str, Any]]:
    rows = query(root, f"SELECT id, payload FROM ({as_of_sql(table, ts)}) AS t")
    return {row[0]: json.loads(row[1]) for row in rows}


def table_fingerprints(root: Path) -> dict[str, tuple[int, str]]:
    """(rows, checksum of every row's key and payload) of every raw_stripe table."""
    tables = [
        row[0]
        for row in query(
            root,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_stripe' "
            "AND table_name NOT LIKE '_dlt%'",
        )
    ]
    fingerprints = {}
    for table in tables:
        count, digest = query(
            root,
            f"SELECT count(*), coalesce(md5(string_agg(id || ':' || "
            f"coalesce(CAST(_dlt_load_id AS VARCHAR), ''), ',' ORDER BY id, _dlt_load_id)), '') "
            f"FROM raw_stripe.{table}",
        )[0]
        fingerprints[table] = (int(count), str(digest))
    return fingerprints


# --- the world's truth ---------------------------------------------------------------------


def world_final(world_dir: Path, table: str) -> dict[str, dict[str, Any]]:
    """The world's final state (at its end) of every object of a raw table."""
    rows = pq.read_table(world_dir / "stripe" / f"{table}.parquet", columns=["id", "payload"])
    return {row["id"]: orjson.loads(row["payload"]) for row in rows.to_pylist()}


def normalised(obj: dict[str, Any]) -> dict[str, Any]:
    """`obj` without the fields Stripe recomputes at read time."""
    copy = json.loads(json.dumps(obj))
    for field in TIME_DEPENDENT.get(copy.get("object", ""), ()):
        copy.pop(field, None)
    if copy.get("object") == "dispute":
        for item in copy.get("balance_transactions") or ():
            if isinstance(item, dict):
                item.pop("status", None)
    return copy


def differences(world_dir: Path, root: Path) -> dict[str, list[str]]:
    """Per raw table, ids whose latest loaded state differs from the world's final one (or
    that are missing on either side)."""
    found = {}
    for resource in RESOURCES:
        truth = world_final(world_dir, resource.table)
        loaded = latest(root, resource.table)
        wrong = sorted(set(truth) ^ set(loaded))
        wrong += [
            object_id
            for object_id in set(truth) & set(loaded)
            if normalised(truth[object_id]) != normalised(loaded[object_id])
        ]
        if wrong:
            found[resource.table] = wrong
    return found


def world_events(world_dir: Path, lowest: int, highest: int) -> int:
    rows = pq.read_table(world_dir / "stripe" / "events.parquet", columns=["created"])
    return sum(1 for created in rows.column("created").to_pylist() if lowest <= created <= highest)


# --- webhooks: a bare receiver into an inbox, and an in-memory inbox -----------------------


class MemoryInbox:
    """The `revstack.inbox.Inbox` protocol in memory (no dedupe on purpose when asked: to
    replay deliveries)."""

    def __init__(self, *, dedupe: bool = True) -> None:
        self.dedupe = dedupe
        self.items: list[Any] = []
        self.done: dict[int, str] = {}

    def append(self, source: str, event_id: str, body: bytes, received_at: float) -> bool:
        from revstack.inbox import InboxItem

        if self.dedupe and any(
            item.source == source and item.event_id == event_id for item in self.items
        ):
            return False
        self.items.append(InboxItem(len(self.items) + 1, source, event_id, received_at, body))
        return True

    def pending(self, source: str, limit: int) -> list[Any]:
        waiting = [i for i in self.items if i.source == source and i.seq not in self.done]
        return waiting[:limit]

    def mark_done(self, source: str, seqs: Any, load_id: str) -> None:
        for seq in seqs:
            self.done.setdefault(seq, load_id)

    def counts(self, source: str) -> dict[str, int]:
        mine = [i for i in self.items if i.source == source]
        done = sum(1 for i in mine if i.seq in self.done)
        return {"pending": len(mine) - done, "done": done}

    def close(self) -> None:
        pass


def receiver_app(inbox: Any, received: list[bytes] | None = None) -> Any:
    """An ASGI app storing every POSTed Stripe event in `inbox` (no signature check: the
    receiver's own tests cover that), and every body in `received`."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        event = orjson.loads(body)
        if received is not None:
            received.append(body)
        inbox.append("stripe", event["id"], body, time.time())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app
