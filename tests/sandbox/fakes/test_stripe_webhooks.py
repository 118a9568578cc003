"""Webhooks from the fake Stripe API: the world's events as the clock moves, API writes' events
at once, signatures the SDK verifies, retries, secret rolls, and the fault profile's drops,
duplicates and reordering."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.stripe.app import create_app
from revstack.sandbox.fakes.stripe.settings import StripeFakeSettings
from revstack.sandbox.fakes.threaded import ServedApp

KEY = "sk_test_revstack"
DAY = 86_400
FAST = StripeFakeSettings(webhook_retry_base_s=0.05, webhook_max_attempts=4)


@dataclass
class Receiver:
    """A webhook receiver that records deliveries and can fail the first attempts."""

    fail_first: int = 0
    deliveries: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            event_id = json.loads(body)["id"]
            self.attempts[event_id] = self.attempts.get(event_id, 0) + 1
            if self.attempts[event_id] <= self.fail_first:
                return Response("not now", status_code=503)
            self.deliveries.append((body, dict(request.headers)))
            return Response("ok")

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def event_ids(self) -> list[str]:
        return [json.loads(body)["id"] for body, _ in self.deliveries]


class Sandbox:
    def __init__(self, url: str, receiver_url: str) -> None:
        self.url = url
        self.receiver_url = receiver_url
        self.client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)

    def endpoint(self, events: list[str]) -> Any:
        return self.client.v1.webhook_endpoints.create(
            {"url": f"{self.receiver_url}/hook", "enabled_events": events}
        )

    def advance(self, seconds: float) -> None:
        httpx.post(f"{self.url}/_sandbox/clock", json={"advance": seconds}).raise_for_status()

    def drain(self, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status: dict[str, Any] = httpx.get(f"{self.url}/_sandbox/stripe/webhooks").json()
            if status["pending"] == 0 or time.monotonic() > deadline:
                return status
            time.sleep(0.02)


@pytest.fixture(scope="module")
def events(world_dir: Path) -> list[dict[str, Any]]:
    rows = pq.read_table(world_dir / "stripe" / "events.parquet").to_pylist()
    return sorted(rows, key=lambda r: (r["created"], r["ordinal"]))


def run(
    world_dir: Path,
    at: int,
    receiver: Receiver,
    profile: FaultProfile | None = None,
    settings: StripeFakeSettings = FAST,
) -> Iterator[Sandbox]:
    _, end = world_period(world_dir)
    app = create_app(
        world_dir,
        SandboxClock(at, end=end),
        FaultController(profile),
        settings=settings.model_copy(),
    )
    with ServedApp(receiver.app()) as receiver_url, ServedApp(app) as url:
        yield Sandbox(url, receiver_url)


def window(events: list[dict[str, Any]], lo: int, hi: int) -> list[dict[str, Any]]:
    return [e for e in events if lo < e["created"] <= hi]


def test_moving_the_clock_delivers_exactly_the_worlds_events_of_the_window(
    world_dir: Path, events: list[dict[str, Any]]
) -> None:
    _, end = world_period(world_dir)
    at = end - 20 * DAY
    receiver = Receiver()
    for sandbox in run(world_dir, at, receiver):
        endpoint = sandbox.endpoint(["*"])
        assert endpoint.secret.startswith("whsec_")
        sandbox.advance(2 * DAY)
        status = sandbox.drain()
        assert status["pending"] == 0 and status["failed"] == 0
        expected = window(events, at, at + 2 * DAY)
        assert expected
        assert receiver.event_ids() == [e["id"] for e in expected]
        for body, headers in receiver.deliveries:
            event = stripe.Webhook.construct_event(
                body, headers["stripe-signature"], endpoint.secret
            )
            assert event.id
            assert headers["content-type"] == "application/json; charset=utf-8"
            assert headers["user-agent"] == "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
        with pytest.raises(stripe.SignatureVerificationError):
            body, headers = receiver.deliveries[0]
            stripe.Webhook.construct_event(body, headers["stripe-signature"], "whsec_wrong")


def test_endpoints_get_only_the_types_they_listen_for_and_api_events_at_once(
    world_dir: Path, events: list[dict[str, Any]]
) -> None:
    _, end = world_period(world_dir)
    at = end - 20 * DAY
    receiver = Receiver()
    for sandbox in run(world_dir, at, receiver):
        sandbox.endpoint(["invoice.paid", "customer.created"])
        customer = sandbox.client.v1.customers.create({"email": "hook@example.com"})
        sandbox.drain()
        [(body, _)] = receiver.deliveries
        delivered = json.loads(body)
        assert delivered["type"] == "customer.created"
        assert delivered["data"]["object"]["id"] == customer.id
        assert delivered["request"]["id"] == customer.last_response.request_id
        sandbox.advance(3 * DAY)
        sandbox.drain()
        wanted = ("invoice.paid", "customer.created")
        expected = [e["id"] for e in window(events, at, at + 3 * DAY) if e["type"] in wanted]
        assert expected and receiver.event_ids()[1:] == expected


def test_failed_deliveries_are_retried_with_backoff(
    world_dir: Path, events: list[dict[str, Any]]
) -> None:
    _, end = world_period(world_dir)
    at = end - 20 * DAY
    receiver = Receiver(fail_first=2)
    for sandbox in run(world_dir, at, receiver):
        sandbox.endpoint(["*"])
        sandbox.advance(DAY)
        status = sandbox.drain()
        expected = [e["id"] for e in window(events, at, at + DAY)]
        assert status["delivered"] == len(expected) and status["failed"] == 0
        assert status["attempts"] == 3 * len(expected)
        assert sorted(receiver.event_ids()) == sorted(expected)
        assert all(receiver.attempts[e] == 3 for e in expected)


def test_deliveries_give_up_after_the_last_attempt(world_dir: Path) -> None:
    _, end = world_period(world_dir)
    receiver = Receiver(fail_first=99)
    for sandbox in run(world_dir, end - 20 * DAY, receiver):
        sandbox.endpoint(["customer.created"])
        sandbox.client.v1.customers.create({"email": "never@example.com"})
        status = sandbox.drain()
        assert status["failed"] == 1 and status["attempts"] == FAST.webhook_max_attempts
        assert receiver.deliveries == []


def test_rolled_secret_signs_alongside_the_old_one(world_dir: Path) -> None:
    _, end = world_period(world_dir)
    receiver = Receiver()
    for sandbox in run(world_dir, end - 20 * DAY, receiver):
        endpoint = sandbox.endpoint(["customer.created"])
        rolled = httpx.post(
            f"{sandbox.url}/_sandbox/stripe/webhook_endpoints/{endpoint.id}/roll", json={}
        ).json()
        sandbox.client.v1.customers.create({"email": "roll@example.com"})
        sandbox.drain()
        [(body, headers)] = receiver.deliveries
        signature = headers["stripe-signature"]
        assert signature.count("v1=") == 2
        for secret in (endpoint.secret, rolled["secret"]):
            stripe.Webhook.construct_event(body, signature, secret)


def faulty_run(world_dir: Path, seed: int) -> tuple[list[str], dict[str, Any], list[str]]:
    _, end = world_period(world_dir)
    at = end - 20 * DAY
    profile = FaultProfile(
        seed=seed, webhook_duplicate_rate=0.2, webhook_reorder_rate=0.2, webhook_drop_rate=0.1
    )
    receiver = Receiver()
    for sandbox in run(world_dir, at, receiver, profile):
        sandbox.endpoint(["*"])
        sandbox.advance(4 * DAY)
        status = sandbox.drain()
    rows = pq.read_table(world_dir / "stripe" / "events.parquet").to_pylist()
    expected = [
        e["id"]
        for e in sorted(rows, key=lambda r: (r["created"], r["ordinal"]))
        if at < e["created"] <= at + 4 * DAY
    ]
    return receiver.event_ids(), status, expected


def test_fault_profile_drops_duplicates_and_reorders_reproducibly(world_dir: Path) -> None:
    received, status, expected = faulty_run(world_dir, seed=11)
    assert status["dropped"] > 0
    assert len(received) > len(set(received))  # duplicates
    assert set(received) < set(expected)  # drops
    assert [e for e in received if e in set(received)] != [
        e for e in expected if e in set(received)
    ]
    assert status["dropped"] == len(set(expected) - set(received))
    again, _, _ = faulty_run(world_dir, seed=11)
    assert again == received
    other, _, _ = faulty_run(world_dir, seed=12)
    assert other != received


def test_a_running_clock_delivers_without_being_moved(
    world_dir: Path, events: list[dict[str, Any]]
) -> None:
    _, end = world_period(world_dir)
    at = end - 20 * DAY
    receiver = Receiver()
    for sandbox in run(world_dir, at, receiver):
        sandbox.endpoint(["*"])
        httpx.post(f"{sandbox.url}/_sandbox/clock", json={"speed": 4 * 3600}).raise_for_status()
        deadline = time.monotonic() + 10
        while not receiver.deliveries and time.monotonic() < deadline:
            time.sleep(0.05)
        now = httpx.post(f"{sandbox.url}/_sandbox/clock", json={"speed": 0}).json()["now"]
        sandbox.drain()
        assert receiver.event_ids() == [e["id"] for e in window(events, at, now)]
        assert receiver.deliveries
