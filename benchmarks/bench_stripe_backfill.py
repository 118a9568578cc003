"""Objects per second the Stripe back-fill loads, against the bound the rate limit sets.

A world is generated into a temporary directory (2,000 customers over 18 months; 1,000 with
``--quick``) and served by the Stripe fake in a child process (its own interpreter, as in
production Stripe is another machine). Then, in one run:

1. the fake's ceiling: every list walked page by page (100 objects) by as many unthrottled
   keep-alive clients as the connector has readers, objects per second;
2. the connector: ``revstack ingest stripe --backfill`` (the same code, in-process) into a
   fresh DuckDB file at the configured rate (``--rate`` requests/s times the 0.8 share),
   timed from the first request to the last committed load (creating the empty warehouse's
   tables is excluded: it happens once per warehouse), while the fake enforces ``--rate`` as
   a one-second sliding window (``retries`` counts the 429s met, expected 0);
3. the bound: configured requests per second x 100 objects per page.

``ratio_to_bound`` (target >= 0.8) says how much of the rate limit the back-fill turns into
loaded objects; the fake's ceiling, well above the bound, shows the fake is not what limits.

    .venv/bin/python benchmarks/bench_stripe_backfill.py           # default world
    .venv/bin/python benchmarks/bench_stripe_backfill.py --quick   # under 60 s
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

DEFAULT_CUSTOMERS = 2_000
QUICK_CUSTOMERS = 1_000
MONTHS = 18
DEFAULT_RATE = 25.0
"""Stripe's test-mode limit, requests per second; the connector uses 80 % of it."""
SHARE = 0.8
KEY = "sk_test_bench"


def _serve(world_dir: str, conn: Connection) -> None:
    """Child process: the fake Stripe over the world until the parent says stop."""
    from revstack.sandbox.fakes.clock import SandboxClock
    from revstack.sandbox.fakes.faults import FaultController
    from revstack.sandbox.fakes.server import world_period
    from revstack.sandbox.fakes.stripe.app import create_app
    from revstack.sandbox.fakes.threaded import ServedApp

    _, end = world_period(Path(world_dir))
    app = create_app(Path(world_dir), SandboxClock(end, end=end), FaultController())
    with ServedApp(app) as url:
        conn.send(url)
        conn.recv()


class Served:
    def __init__(self, world_dir: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(str(world_dir), child))

    def __enter__(self) -> str:
        self.process.start()
        return str(self.conn.recv())

    def __exit__(self, *exc_info: object) -> None:
        self.conn.send("stop")
        self.process.join(30)


def fake_ceiling(url: str, tables: list[str], workers: int) -> tuple[float, int, float]:
    """(objects/s, objects, seconds): every list walked by `workers` unthrottled clients."""
    todo = list(tables)
    lock = threading.Lock()
    counted = [0]

    def walk() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as http:
            while True:
                with lock:
                    if not todo:
                        return
                    table = todo.pop(0)
                params: dict[str, Any] = {"limit": 100}
                if table == "subscriptions":
                    params["status"] = "all"
                while True:
                    page = http.get(f"/v1/{table}", params=params).raise_for_status().json()
                    with lock:
                        counted[0] += len(page["data"])
                    if not page["has_more"]:
                        break
                    params["starting_after"] = page["data"][-1]["id"]

    started = time.perf_counter()
    threads = [threading.Thread(target=walk) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return counted[0] / elapsed, counted[0], elapsed


def backfill(url: str, root: Path, rate: float) -> dict[str, Any]:
    from pydantic import SecretStr

    from revstack.config import StripeSettings, WarehouseSettings
    from revstack.sources.stripe import flows
    from revstack.sources.stripe.context import open_context

    stripe = StripeSettings.model_validate(
        {
            "api_key": SecretStr(KEY),
            "api_base": url,
            "rate_limit_per_s": rate,
            "rate_limit_share": SHARE,
        }
    )
    warehouse = WarehouseSettings(duckdb_path=root / "bench.duckdb", state_dir=root / "state")
    ctx = open_context(stripe, warehouse)
    try:
        ctx.loader.prepare()  # creates the empty warehouse's tables: once per warehouse
        ctx.loader.commit([])  # (the creation rides on the next load: make it now)
        ctx.api.bucket.acquire(ctx.api.bucket.capacity)  # start with an empty bucket
        started = time.perf_counter()
        flows.backfill(ctx)
        elapsed = time.perf_counter() - started
    finally:
        ctx.close()
    objects = sum(t.offered for t in ctx.report.tallies)
    return {
        "objects": objects,
        "seconds": elapsed,
        "requests": ctx.api.requests(),
        "retries": ctx.api.retries(),
        "loads": len({load for t in ctx.report.tallies for load in t.load_ids}),
        "by_table": {t.stream: t.offered for t in ctx.report.tallies},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 1,000-customer world")
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"the account's requests per second (default {DEFAULT_RATE:g}, Stripe test mode)",
    )
    args = parser.parse_args()
    from revstack.sandbox.world import WorldConfig, generate_world
    from revstack.sources.stripe.settings import LIST_WORKERS, PAGE_LIMIT, RESOURCES

    customers = QUICK_CUSTOMERS if args.quick else DEFAULT_CUSTOMERS
    configured = args.rate * SHARE
    bound = configured * PAGE_LIMIT
    with tempfile.TemporaryDirectory(prefix="revstack-bench-stripe-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        generate_world(WorldConfig(customers=customers, months=MONTHS), root / "world")
        generate_s = time.perf_counter() - started
        with Served(root / "world") as url:
            tables = [resource.table for resource in RESOURCES]
            fake_ceiling(url, tables, LIST_WORKERS)  # warm the fake's caches
            ceiling, fake_objects, fake_s = fake_ceiling(url, tables, LIST_WORKERS)
            # From here the fake enforces the account's limit, as Stripe would: any request
            # over it would be a 429 (and a retry).
            limit = {"rate_limits": [{"requests": int(args.rate), "per_seconds": 1.0}]}
            httpx.post(f"{url}/_sandbox/faults", json=limit).raise_for_status()
            run = backfill(url, root, args.rate)
    objects_per_s = run["objects"] / run["seconds"]
    print(f"world: {customers} customers, {MONTHS} months, generated in {generate_s:.1f} s")
    print(
        f"fake Stripe ceiling: {ceiling:,.0f} objects/s ({fake_objects:,} objects, "
        f"{LIST_WORKERS} unthrottled clients, {fake_s:.1f} s)"
    )
    print(
        f"back-fill: {run['objects']:,} objects in {run['seconds']:.1f} s = "
        f"{objects_per_s:,.0f} objects/s; {run['requests']} requests, {run['loads']} loads; "
        f"{run['retries']} retries against the fake's {args.rate:g} requests/s limit"
    )
    print(
        f"rate bound: {configured:g} requests/s x {PAGE_LIMIT} objects = {bound:,.0f} objects/s; "
        f"ratio {objects_per_s / bound:.2f}; fake ceiling / bound {ceiling / bound:.1f}"
    )
    print(
        json.dumps(
            {
                "objects_per_s": round(objects_per_s, 1),
                "rate_bound_objects_per_s": round(bound, 1),
                "ratio_to_bound": round(objects_per_s / bound, 3),
                "fake_ceiling_objects_per_s": round(ceiling, 1),
                "configured_requests_per_s": configured,
                "objects": run["objects"],
                "requests": run["requests"],
                "retries": run["retries"],
                "loads": run["loads"],
                "seconds": round(run["seconds"], 2),
                "customers": customers,
                "months": MONTHS,
            }
        )
    )


if __name__ == "__main__":
    main()
