"""Delivering webhook events: batches of up to 100 per POST, signed with the app's client
secret, retried with exponential backoff.

World changes become events as the sandbox clock moves past them (the clock's listener wakes
the dispatcher; a running clock is polled every 100 ms); API writes become events at once.
The fault profile drops, duplicates and reorders events (``FaultController.plan_webhooks``)
when they are emitted, so a seed replays the same way for the same requests. A delivery is
retried on 5xx, timeouts, connection errors and 429 (honouring ``Retry-After``), up to
``max_retries`` times; any other 4xx fails it at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController
from revstack.sandbox.fakes.hubspot.records import History, Version
from revstack.sandbox.fakes.hubspot.settings import HubSpotFakeSettings
from revstack.sandbox.fakes.hubspot.store import Store
from revstack.sandbox.fakes.hubspot.webhook_events import EventBuilder, WebhookConfig, action_of

POLL_S = 0.1
LOG_SIZE = 1000


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """``X-HubSpot-Signature-v3``: base64(HMAC-SHA256(secret, method + uri + body + ts))."""
    message = method.encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_v1(secret: str, body: bytes) -> str:
    """``X-HubSpot-Signature`` (v1): hex SHA-256 of secret + body."""
    return hashlib.sha256(secret.encode() + body).hexdigest()


@dataclass
class Delivery:
    events: list[dict[str, Any]]
    attempt: int = 0
    due: float = 0.0


@dataclass
class Stats:
    emitted: int = 0
    dropped: int = 0
    duplicated: int = 0
    delivered: int = 0
    failed: int = 0
    requests: int = 0
    last_error: str | None = None
    """An unexpected error of the delivery loop (a bug in the fake), if any."""
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))


class WebhookDispatcher:
    def __init__(
        self,
        store: Store,
        clock: SandboxClock,
        faults: FaultController,
        settings: Callable[[], HubSpotFakeSettings],
        wall: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        self.store = store
        self.clock = clock
        self.faults = faults
        self.settings = settings
        self.wall = wall
        self.wall_ms = wall_ms
        self.builder = EventBuilder(store)
        self.config: WebhookConfig | None = None
        self.last_ms = clock.now_ms()
        self.pending: deque[dict[str, Any]] = deque()
        self.first_pending_at = 0.0
        self.queue: list[Delivery] = []
        self.in_flight = 0
        self.stats = Stats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._next_subscription = 1
        store.listeners.append(self.on_write)

    # --- configuration and status -------------------------------------------------------------

    def configure(self, config: WebhookConfig) -> WebhookConfig:
        subscriptions = []
        for sub in config.subscriptions:
            if sub.id == 0:
                sub = sub.model_copy(update={"id": self._next_subscription})
            self._next_subscription = max(self._next_subscription, sub.id) + 1
            subscriptions.append(sub)
        self.config = config.model_copy(update={"subscriptions": subscriptions})
        self.last_ms = self.clock.now_ms()
        self.pending.clear()
        self.queue.clear()
        self.stats = Stats()
        self.wake()
        return self.config

    def clear(self) -> None:
        self.config = None
        self.pending.clear()
        self.queue.clear()

    def status(self) -> dict[str, Any]:
        self.catch_up()
        waiting = len(self.pending) + sum(len(d.events) for d in self.queue) + self.in_flight
        return {
            "configured": self.config is not None,
            "pending": waiting,
            "idle": waiting == 0,
            "emitted": self.stats.emitted,
            "dropped": self.stats.dropped,
            "duplicated": self.stats.duplicated,
            "delivered": self.stats.delivered,
            "failed": self.stats.failed,
            "requests": self.stats.requests,
            "last_error": self.stats.last_error,
            "log": list(self.stats.log),
        }

    # --- turning changes into events ----------------------------------------------------------

    def on_clock_move(self, now: int) -> None:
        """Clock listener; may run on any thread."""
        self.wake()

    def wake(self) -> None:
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(event.set)

    def _ids(self) -> tuple[int, int]:
        settings = self.settings()
        return settings.app_id, settings.portal_id

    def catch_up(self) -> None:
        """Emit the world's changes between the last look and the clock's now."""
        now = self.clock.now_ms()
        if now <= self.last_ms:
            return
        after, self.last_ms = self.last_ms, now
        if self.config is None:
            return
        app_id, portal_id = self._ids()
        events: list[dict[str, Any]] = []
        for kind, history, version in self.builder.world_versions(after, now):
            action = action_of(history, version)
            events.extend(
                self.builder.events(
                    kind, history, version, action, self.config.subscriptions, app_id, portal_id
                )
            )
        self.emit(events)

    def on_write(self, kind: str, history: History, version: Version, action: str) -> None:
        """Store listener: an API write's events, after the world's up to now."""
        if self.config is None:
            return
        self.catch_up()
        app_id, portal_id = self._ids()
        self.emit(
            self.builder.events(
                kind, history, version, action, self.config.subscriptions, app_id, portal_id
            )
        )

    def emit(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        planned = self.faults.plan_webhooks(events)
        self.stats.emitted += len(events)
        unique = {id(event) for event in planned}
        self.stats.dropped += len(events) - len(unique)
        self.stats.duplicated += len(planned) - len(unique)
        if planned and not self.pending:
            self.first_pending_at = self.wall()
        self.pending.extend(planned)
        self.wake()

    # --- delivering ---------------------------------------------------------------------------

    def _form_batches(self) -> None:
        config = self.config
        if config is None or not self.pending:
            return
        ready = self.wall() - self.first_pending_at >= config.batch_window_s
        while self.pending and (ready or len(self.pending) >= config.batch_size):
            size = min(config.batch_size, len(self.pending))
            batch = [self.pending.popleft() for _ in range(size)]
            self.queue.append(Delivery(batch, 0, self.wall()))
        if self.pending:
            self.first_pending_at = self.wall()

    async def run(self) -> None:
        """Deliver until cancelled (the app's lifespan starts and stops this)."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    await self._step(client)
                except Exception as exc:  # keep delivering; the status route reports it
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                timeout = POLL_S
                if self.queue:
                    timeout = min(timeout, max(min(d.due for d in self.queue) - self.wall(), 0))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self._wake.clear()

    async def _step(self, client: httpx.AsyncClient) -> None:
        self.catch_up()
        self._form_batches()
        now = self.wall()
        for delivery in [d for d in self.queue if d.due <= now]:
            self.queue.remove(delivery)
            await self._send(client, delivery)

    async def _send(self, client: httpx.AsyncClient, delivery: Delivery) -> None:
        config = self.config
        if config is None:
            return
        body = orjson.dumps(
            [{**event, "attemptNumber": delivery.attempt} for event in delivery.events]
        )
        timestamp = str(int(self.wall_ms()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)",
            "X-HubSpot-Signature-v3": sign_v3(
                config.client_secret, "POST", config.target_url, body, timestamp
            ),
            "X-HubSpot-Request-Timestamp": timestamp,
            "X-HubSpot-Signature": sign_v1(config.client_secret, body),
            "X-HubSpot-Signature-Version": "v1",
        }
        self.in_flight = len(delivery.events)
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            response = await client.post(
                config.target_url, content=body, headers=headers, timeout=config.timeout_s
            )
            status = response.status_code
            if status == 429:
                retry_after = _seconds(response.headers.get("retry-after"))
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        finally:
            self.in_flight = 0
        self.stats.requests += 1
        self.stats.log.append(
            {
                "attempt": delivery.attempt,
                "status": status,
                "error": error,
                "events": len(delivery.events),
                "eventIds": [event["eventId"] for event in delivery.events],
            }
        )
        if status is not None and 200 <= status < 300:
            self.stats.delivered += len(delivery.events)
            return
        retryable = status is None or status == 429 or status >= 500
        if not retryable or delivery.attempt >= config.max_retries:
            self.stats.failed += len(delivery.events)
            return
        delay = min(config.retry_base_s * 2**delivery.attempt, config.retry_max_s)
        if retry_after is not None:
            delay = retry_after
        delivery.attempt += 1
        delivery.due = self.wall() + delay
        self.queue.append(delivery)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
