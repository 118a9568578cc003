"""The receiver against the fake Stripe: real signed deliveries as the sandbox clock moves,
duplicated and reordered by the fault profile, across a secret roll, end in the inbox exactly
once each."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow.parquet as pq
import pytest
import stripe

from revstack.inbox import SqliteInbox
from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.stripe.app import create_app
from revstack.sandbox.fakes.stripe.settings import StripeFakeSettings
from revstack.sandbox.fakes.threaded import ServedApp
from revstack.sandbox.world import WorldConfig, generate_world
from revstack.sources.stripe.webhooks import create_webhook_app
from revstack.warehouse.audit import AuditEvent

DAY = 86_400
WORLD = WorldConfig(
    seed=7, customers=40, months=3, start=dt.date(2025, 3, 1), product_events_per_seat_day=0
)


@pytest.fixture(scope="module")
def webhook_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("webhook-world") / "world"
    generate_world(WORLD, out, workers=1)
    return out


class Deferred:
    """An ASGI app whose real app is set once the fake has told us the endpoint's secret."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app(scope, receive, send)


def drain(url: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = httpx.get(f"{url}/_sandbox/stripe/webhooks").json()
        if status["pending"] == 0 or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


@pytest.mark.integration
def test_fake_stripe_deliveries_land_once_each_despite_duplicates_and_reordering(
    webhook_world: Path, tmp_path: Path
) -> None:
    _, end = world_period(webhook_world)
    at = end - 40 * DAY
    profile = FaultProfile(seed=5, webhook_duplicate_rate=0.3, webhook_reorder_rate=0.3)
    settings = StripeFakeSettings(webhook_retry_base_s=0.05, webhook_max_attempts=3)
    fake = create_app(
        webhook_world, SandboxClock(at, end=end), FaultController(profile), settings=settings
    )
    inbox = SqliteInbox(tmp_path / "inbox.sqlite3")
    audit: list[AuditEvent] = []
    receiver = Deferred()
    with ServedApp(receiver) as receiver_url, ServedApp(fake) as url:
        client = stripe.StripeClient("sk_test_hooks", base_addresses={"api": url})
        endpoint = client.v1.webhook_endpoints.create(
            {"url": f"{receiver_url}/webhooks/stripe", "enabled_events": ["*"]}
        )
        receiver.app = create_webhook_app(inbox, [endpoint.secret], audit=audit.append)
        httpx.post(f"{url}/_sandbox/clock", json={"advance": 15 * DAY}).raise_for_status()
        drain(url)
        # Stripe rolls the secret: deliveries carry the new and the old v1 during the overlap
        httpx.post(f"{url}/_sandbox/stripe/webhook_endpoints/{endpoint.id}/roll", json={})
        httpx.post(f"{url}/_sandbox/clock", json={"advance": 15 * DAY}).raise_for_status()
        status = drain(url)
        health = httpx.get(f"{receiver_url}/webhooks/stripe/health").json()

    rows = pq.read_table(webhook_world / "stripe" / "events.parquet").to_pylist()
    expected = [
        row["id"]
        for row in sorted(rows, key=lambda r: (r["created"], r["ordinal"]))
        if at < row["created"] <= at + 30 * DAY
    ]
    assert len(expected) > 100
    late = [row for row in rows if at + 15 * DAY < row["created"] <= at + 30 * DAY]
    assert late  # some deliveries were signed after the roll, with two v1 values
    assert status["failed"] == 0 and status["dropped"] == 0
    assert status["delivered"] > len(expected)  # duplicates were delivered and acknowledged
    stored = inbox.pending("stripe", 10_000)
    inbox.close()
    assert [item.event_id for item in stored] != expected  # they arrived out of order
    assert sorted(item.event_id for item in stored) == sorted(expected)  # once each
    assert all(orjson.loads(item.body)["id"] == item.event_id for item in stored)
    assert health["inbox"] == {"pending": len(expected), "done": 0}
    assert audit == []  # nothing was refused
