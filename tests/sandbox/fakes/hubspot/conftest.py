"""Serving the fake HubSpot on a local port for tests, and a webhook receiver."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from hubspot import HubSpot

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile
from revstack.sandbox.fakes.hubspot.app import app_for, build_fake
from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.settings import HubSpotFakeSettings
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.threaded import ServedApp

TOKEN = "pat-na1-test"

Refusal = Callable[..., tuple[int, dict[str, Any]]]


def _refused(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a call the fake refuses (each hubspot-api-client module
    has its own exception classes, so match on the attribute)."""
    try:
        call(*args, **kwargs)
    except Exception as exc:
        status = getattr(exc, "status", None)
        if status is None:
            raise
        body = getattr(exc, "body", None)
        return status, json.loads(body) if body else {}
    raise AssertionError("the call succeeded")


@pytest.fixture
def refused() -> Refusal:
    """`refused(call, *args)`: run a client call the fake must refuse; its status and body."""
    return _refused


@dataclass
class Running:
    url: str
    clock: SandboxClock
    faults: FaultController
    fake: HubSpotFake
    control: httpx.Client

    def client(self, token: str | None = TOKEN) -> HubSpot:
        return HubSpot(access_token=token, host=self.url)

    def webhooks(self, **config: Any) -> dict[str, Any]:
        response = self.control.post("/_sandbox/hubspot/webhooks", json=config)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def settings(self, **changes: Any) -> dict[str, Any]:
        response = self.control.post("/_sandbox/hubspot/settings", json=changes)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def faults_profile(self, **profile: Any) -> None:
        response = self.control.post("/_sandbox/faults", json=profile)
        assert response.status_code == 200, response.text

    def webhook_status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control.get("/_sandbox/hubspot/webhooks/status").json()
        return result

    def wait_for_webhooks(self, timeout: float = 10.0) -> dict[str, Any]:
        """The delivery status once nothing is pending."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.webhook_status()
            assert status["last_error"] is None, status["last_error"]
            if status["idle"]:
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"webhooks still pending: {status}")
            time.sleep(0.02)


Factory = Callable[..., Running]


@pytest.fixture
def hubspot(world_dir: Path) -> Iterator[Factory]:
    """Start a fake HubSpot: ``hubspot(at=None, profile=None, **settings)``; the clock starts at
    `at` (default: a day before the world's end, so it can move on)."""
    stack = contextlib.ExitStack()

    def start(
        at: int | None = None, profile: FaultProfile | None = None, **settings: Any
    ) -> Running:
        _, end = world_period(world_dir)
        clock = SandboxClock(end - 86_400 if at is None else at, end=end)
        faults = FaultController(profile)
        fake = build_fake(world_dir, clock, faults, HubSpotFakeSettings(**settings))
        url = stack.enter_context(ServedApp(app_for(fake)))
        control = stack.enter_context(httpx.Client(base_url=url, timeout=10))
        return Running(url, clock, faults, fake, control)

    with stack:
        yield start


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint that records requests and answers with the statuses queued in
    `replies` (then 200)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    replies: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.replies.pop(0) if self.replies else (200, {})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
            status, headers = state.respond()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/hubspot?tenant=1"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
