"""Requests per second the fake Stripe API serves for 100-object list pages.

A world is generated into a temporary directory (the default 2,000 customers; 300 with
``--quick``) and served by the Stripe fake under uvicorn in a child process, the way tests and
the demo run it. Several concurrent httpx clients on keep-alive connections walk
``GET /v1/charges?limit=100`` page by page (every page, round-robin) for a fixed time. The
baseline, measured the same way in the same run, is a trivial Starlette route answering a
fixed 100-object JSON list (the fake's first page, precomputed): the ceiling of the HTTP stack
and of the load generator themselves. Fake and baseline are measured in alternating rounds
and each keeps its best round, so a burst of other load on the machine hits both alike.

    .venv/bin/python benchmarks/bench_fakes.py            # default world, 3 rounds of 5 s
    .venv/bin/python benchmarks/bench_fakes.py --quick    # small world, 2 rounds of 2 s
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

DEFAULT_CUSTOMERS = 2_000
QUICK_CUSTOMERS = 300
CLIENTS = 8
HEADERS = {"Authorization": "Bearer sk_test_bench"}


def _serve(kind: str, world_dir: str, body: bytes, conn: Connection) -> None:
    """Child process: serve the fake (or the baseline) until the parent says stop."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from revstack.sandbox.fakes.clock import SandboxClock
    from revstack.sandbox.fakes.faults import FaultController
    from revstack.sandbox.fakes.server import world_period
    from revstack.sandbox.fakes.threaded import ServedApp

    started = time.perf_counter()
    if kind == "stripe":
        from revstack.sandbox.fakes.stripe.app import create_app

        _, end = world_period(Path(world_dir))
        app: Any = create_app(Path(world_dir), SandboxClock(end, end=end), FaultController())
    else:

        async def fixed(request: Request) -> Response:
            return Response(body, media_type="application/json")

        app = Starlette(routes=[Route("/v1/charges", fixed)])
    load_s = time.perf_counter() - started
    with ServedApp(app) as url:
        conn.send((url, load_s))
        conn.recv()


class Served:
    def __init__(self, kind: str, world_dir: Path, body: bytes = b"") -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(kind, str(world_dir), body, child))

    def __enter__(self) -> tuple[str, float]:
        self.process.start()
        url, load_s = self.conn.recv()
        return str(url), float(load_s)

    def __exit__(self, *exc_info: object) -> None:
        self.conn.send("stop")
        self.process.join(30)


def page_cursors(url: str) -> tuple[list[str | None], bytes]:
    """Every page's ``starting_after`` cursor (walking them all warms the fake) and the body
    of the first page."""
    cursors: list[str | None] = [None]
    first = b""
    with httpx.Client(base_url=url, headers=HEADERS) as client:
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursors[-1] is not None:
                params["starting_after"] = cursors[-1]
            response = client.get("/v1/charges", params=params)
            response.raise_for_status()
            first = first or response.content
            page = response.json()
            if not page["has_more"]:
                return cursors, first
            cursors.append(page["data"][-1]["id"])


async def _load(url: str, cursors: list[str | None], seconds: float) -> tuple[int, float]:
    done = 0
    stop_at = time.perf_counter() + seconds

    async def client(offset: int) -> None:
        nonlocal done
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, limits=limits) as http:
            position = offset
            while time.perf_counter() < stop_at:
                cursor = cursors[position % len(cursors)]
                params = {"limit": "100"}
                if cursor is not None:
                    params["starting_after"] = cursor
                response = await http.get("/v1/charges", params=params)
                if response.status_code != 200:
                    raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
                done += 1
                position += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i * 7) for i in range(CLIENTS)))
    return done, time.perf_counter() - started


def measure(url: str, cursors: list[str | None], seconds: float) -> float:
    done, elapsed = asyncio.run(_load(url, cursors, seconds))
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small world, short runs")
    args = parser.parse_args()
    from revstack.sandbox.world import WorldConfig, generate_world

    customers = QUICK_CUSTOMERS if args.quick else DEFAULT_CUSTOMERS
    months = 6 if args.quick else 18
    seconds = 2.0 if args.quick else 5.0
    rounds = 2 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="revstack-bench-fakes-") as tmp:
        world_dir = Path(tmp) / "world"
        started = time.perf_counter()
        config = WorldConfig(customers=customers, months=months, start=dt.date(2025, 5, 1))
        generate_world(config, world_dir)
        generate_s = time.perf_counter() - started
        with Served("stripe", world_dir) as (url, load_s):
            cursors, first_page = page_cursors(url)
            with Served("baseline", world_dir, first_page) as (baseline_url, _):
                measure(url, cursors, 0.5)  # warm connections and caches
                measure(baseline_url, [None], 0.5)
                fakes, baselines = [], []
                for _ in range(rounds):
                    fakes.append(measure(url, cursors, seconds))
                    baselines.append(measure(baseline_url, [None], seconds))
    fake, baseline = max(fakes), max(baselines)
    pages = len(cursors)
    print(f"world: {customers} customers, {months} months, generated in {generate_s:.1f} s")
    print(f"fake Stripe start-up (index the world): {load_s:.2f} s; {pages} pages of charges")
    print(
        f"GET /v1/charges?limit=100, {CLIENTS} keep-alive clients, best of {rounds} rounds "
        f"of {seconds:.0f} s:"
    )
    print(
        "  rounds (fake / baseline): "
        + ", ".join(f"{f:.0f} / {b:.0f}" for f, b in zip(fakes, baselines, strict=True))
    )
    print(f"  fake Stripe: {fake:8.0f} req/s")
    print(f"  baseline:    {baseline:8.0f} req/s (fixed 100-object list, same HTTP stack)")
    print(f"  ratio:       {fake / baseline:8.2f}")
    print(
        json.dumps(
            {
                "stripe_list_req_per_s": round(fake, 1),
                "baseline_req_per_s": round(baseline, 1),
                "ratio": round(fake / baseline, 3),
                "customers": customers,
                "charge_pages": pages,
                "startup_s": round(load_s, 2),
                "clients": CLIENTS,
                "seconds": seconds,
                "rounds": rounds,
            }
        )
    )


if __name__ == "__main__":
    main()
