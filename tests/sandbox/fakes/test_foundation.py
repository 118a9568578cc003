"""The sandbox clock, fault profiles and control endpoints shared by every fake."""

from __future__ import annotations

import pytest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from revstack.sandbox.fakes.app import fake_app
from revstack.sandbox.fakes.clock import ClockError, SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile, RateLimit


class FakeTime:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


class Renderer:
    def rate_limited(self, limit: RateLimit, retry_after_s: float) -> Response:
        return JSONResponse({"limited": limit.name, "retry_after": retry_after_s}, 429)

    def server_error(self, status: int) -> Response:
        return JSONResponse({"error": "boom"}, status)


def test_clock_is_frozen_moves_forward_only_and_stops_at_the_end() -> None:
    clock = SandboxClock(100, end=1_000)
    assert clock.now() == 100
    assert clock.advance(50) == 150
    with pytest.raises(ClockError):
        clock.set(120)
    with pytest.raises(ClockError):
        clock.set(2_000)
    moves: list[int] = []
    clock.on_move(moves.append)
    clock.set(900)
    assert moves == [900]


def test_running_clock_follows_its_speed_and_caps_at_the_end() -> None:
    time = FakeTime()
    clock = SandboxClock(100, end=10_000, speed=60.0, monotonic=time)
    time.value += 2.5
    assert clock.now() == 250
    assert clock.set_speed(0.0) == 250  # frozen from this very moment
    time.value += 100
    assert clock.now() == 250
    assert clock.advance(10, speed=1.0) == 260
    time.value += 5
    assert clock.now() == 265
    time.value += 10_000
    assert clock.now() == 10_000


def test_rate_limit_is_a_sliding_window() -> None:
    time = FakeTime()
    limit = RateLimit(name="search", requests=5, per_seconds=1.0, path_pattern="/search.*")
    faults = FaultController(FaultProfile(rate_limits=(limit,)), clock=time)
    outcomes = [faults.decide("POST", "/search").kind for _ in range(7)]
    assert outcomes == ["pass"] * 5 + ["rate_limited"] * 2
    assert faults.decide("GET", "/other").kind == "pass"
    time.value += 1.01
    assert faults.decide("POST", "/search").kind == "pass"


def test_faults_replay_under_the_same_seed() -> None:
    profile = FaultProfile(seed=7, error_rate=0.2, timeout_rate=0.1, truncate_rate=0.1)
    first = [FaultController(profile).decide("GET", "/x").kind for _ in range(1)]
    runs = []
    for _ in range(2):
        controller = FaultController(profile)
        runs.append([controller.decide("GET", "/x").kind for _ in range(300)])
    assert runs[0] == runs[1]
    assert first[0] == runs[0][0]
    kinds = set(runs[0])
    assert {"pass", "error", "timeout", "truncate"} <= kinds
    assert 0.1 < runs[0].count("error") / 300 < 0.3
    other = FaultController(profile.model_copy(update={"seed": 8}))
    assert [other.decide("GET", "/x").kind for _ in range(300)] != runs[0]


def test_webhook_plan_drops_duplicates_and_reorders_reproducibly() -> None:
    profile = FaultProfile(
        seed=3, webhook_duplicate_rate=0.2, webhook_reorder_rate=0.2, webhook_drop_rate=0.1
    )
    items = list(range(500))
    plan = FaultController(profile).plan_webhooks(items)
    assert plan == FaultController(profile).plan_webhooks(items)
    assert len(set(plan)) < 500  # some dropped
    assert len(plan) > len(set(plan))  # some twice
    assert plan != sorted(plan)  # some moved later
    assert FaultController().plan_webhooks(items) == items


def test_control_endpoints_move_the_clock_and_set_faults() -> None:
    clock = SandboxClock(1_000, end=100_000)
    faults = FaultController()

    async def hello(request: object) -> Response:
        return JSONResponse({"now": clock.now()})

    app = fake_app([Route("/hello", hello)], clock, faults, Renderer())
    client = TestClient(app)
    assert client.get("/_sandbox/clock").json()["now"] == 1_000
    assert client.post("/_sandbox/clock", json={"advance": 60}).json()["now"] == 1_060
    assert client.post("/_sandbox/clock", json={"to": "1970-01-01T00:30:00Z"}).json()["now"] == (
        1_800
    )
    assert client.post("/_sandbox/clock", json={"to": 10}).status_code == 400
    assert client.post("/_sandbox/clock", json={"sideways": 1}).status_code == 400
    limited = {"rate_limits": [{"requests": 1, "per_seconds": 60}]}
    assert client.post("/_sandbox/faults", json=limited).status_code == 200
    assert client.get("/hello").status_code == 200
    second = client.get("/hello")
    assert second.status_code == 429 and second.json()["limited"] == "default"
    assert client.get("/_sandbox/clock").status_code == 200  # control routes are exempt
    assert client.post("/_sandbox/faults", json={"error_rate": 2}).status_code == 400
    assert client.post("/_sandbox/faults", json={}).status_code == 200
    assert client.get("/hello").status_code == 200
