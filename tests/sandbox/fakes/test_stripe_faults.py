"""The fake Stripe API under a fault profile: rate limits worded like Stripe's, measured
accepted rate, and server errors the SDK retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stripe

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile, RateLimit
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.stripe.app import create_app
from revstack.sandbox.fakes.threaded import ServedApp

KEY = "sk_test_revstack"


@pytest.fixture(scope="module")
def served(world_dir: Path) -> Iterator[tuple[str, FaultController]]:
    _, end = world_period(world_dir)
    faults = FaultController()
    with ServedApp(create_app(world_dir, SandboxClock(end, end=end), faults)) as url:
        yield url, faults


def test_rate_limit_accepts_the_configured_rate(served: tuple[str, FaultController]) -> None:
    url, faults = served
    per_second = 25
    faults.configure(FaultProfile(rate_limits=(RateLimit(requests=per_second, per_seconds=1.0),)))
    client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
    accepted = limited = 0
    duration = 3.0
    started = time.monotonic()
    try:
        while time.monotonic() - started < duration:
            try:
                client.v1.customers.list({"limit": 1})
                accepted += 1
            except stripe.RateLimitError as error:
                limited += 1
                assert error.http_status == 429
                assert error.json_body is not None
                assert error.json_body["error"]["code"] == "rate_limit"
                assert error.headers is not None and "Retry-After" not in error.headers
                assert "Stripe-Should-Retry" not in error.headers
                assert error.request_id and error.request_id.startswith("req_")
    finally:
        faults.configure(FaultProfile())
    assert limited > 0
    assert abs(accepted / duration - per_second) <= 0.1 * per_second


def test_server_errors_are_stripe_shaped_and_retried_by_the_sdk(
    served: tuple[str, FaultController], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, faults = served
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)
    monkeypatch.setattr(stripe.HTTPClient, "MAX_DELAY", 0.02)
    faults.configure(FaultProfile(seed=5, error_rate=0.5))
    try:
        bare = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
        failures = []
        for _ in range(20):
            try:
                bare.v1.customers.list({"limit": 1})
            except stripe.APIError as error:
                failures.append(error)
        assert failures
        for error in failures:
            assert error.http_status in (500, 502, 503)
            assert error.json_body is not None
            assert error.json_body["error"]["type"] == "api_error"
        retrying = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=8)
        for _ in range(5):
            assert retrying.v1.customers.list({"limit": 1}).data
    finally:
        faults.configure(FaultProfile())
