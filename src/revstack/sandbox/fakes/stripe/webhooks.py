"""Webhook delivery: the world's events as the clock reaches them and the events of API
writes at once, signed, POSTed to every enabled endpoint that listens for them, retried with
exponential backoff, and put through the fault profile's drops, duplicates and reordering.

Each endpoint has its own queue and sender, so a failing receiver never holds up another; a
failed delivery leaves its queue and comes back after its backoff, so it never holds up the
deliveries behind it either.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController
from revstack.sandbox.fakes.stripe.settings import StripeFakeSettings
from revstack.sandbox.fakes.stripe.store import StripeStore
from revstack.sandbox.fakes.stripe.world_index import EventRecord

log = logging.getLogger(__name__)

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(body: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


@dataclass
class Endpoint:
    id: str
    url: str
    enabled_events: list[str]
    secret: str
    created: int
    since: int
    """Clock moment the endpoint was created: earlier world events are never sent to it."""
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    api_version: str | None = None
    status: str = "enabled"
    previous_secret: str | None = None
    previous_expires: float = 0.0
    stats: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(
            ("pending", "delivered", "failed", "dropped", "attempts"), 0
        )
    )

    def wants(self, event_type: str) -> bool:
        return self.status == "enabled" and (
            "*" in self.enabled_events or event_type in self.enabled_events
        )

    def signature(self, body: bytes, timestamp: int, wall: float) -> str:
        parts = [f"t={timestamp}", f"v1={sign(body, self.secret, timestamp)}"]
        if self.previous_secret is not None and wall < self.previous_expires:
            parts.append(f"v1={sign(body, self.previous_secret, timestamp)}")
        return ",".join(parts)

    def roll(self, overlap_s: float) -> str:
        self.previous_secret = self.secret
        self.previous_expires = time.time() + overlap_s
        self.secret = new_secret()
        return self.secret


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")


@dataclass
class Delivery:
    endpoint: Endpoint
    event_id: str
    body: bytes
    attempt: int = 0


class WebhookDispatcher:
    """Queues and sends webhook deliveries; also the write path's `EventSink`."""

    def __init__(
        self,
        store: StripeStore,
        clock: SandboxClock,
        faults: FaultController,
        settings: StripeFakeSettings,
    ) -> None:
        self.store = store
        self.clock = clock
        self.faults = faults
        self.settings = settings
        self.endpoints: dict[str, Endpoint] = {}
        self._removed: list[Endpoint] = []
        self.cursor = clock.now()
        """Every world event created at or before this moment has been queued."""
        self._queues: dict[str, asyncio.Queue[Delivery]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._poller: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        clock.on_move(self._on_move)

    # --- endpoints -----------------------------------------------------------------------

    def add_endpoint(self, endpoint: Endpoint) -> None:
        self.collect()
        self.endpoints[endpoint.id] = endpoint
        self._ensure_worker(endpoint)

    def remove_endpoint(self, endpoint_id: str) -> None:
        endpoint = self.endpoints.pop(endpoint_id, None)
        if endpoint is not None:
            self._removed.append(endpoint)

    # --- EventSink -----------------------------------------------------------------------

    def pending_for(self, event_type: str) -> int:
        return sum(1 for endpoint in self.endpoints.values() if endpoint.wants(event_type))

    def publish(self, events: list[EventRecord]) -> None:
        """Queue the events of one API write (after any world events already due)."""
        self.collect()
        batch = []
        for event in events:
            body = self.store.event_bytes(event)
            for endpoint in self.endpoints.values():
                if endpoint.wants(event.type):
                    batch.append(Delivery(endpoint, event.id, body))
        self._enqueue(batch)

    # --- the world's events ----------------------------------------------------------------

    def collect(self) -> int:
        """Queue the world's events created in (cursor, now]; returns how many deliveries."""
        now = self.clock.now()
        if now <= self.cursor:
            return 0
        index = self.store.event_index
        lo = bisect.bisect_right(index.created, self.cursor)
        hi = bisect.bisect_right(index.created, now)
        self.cursor = now
        endpoints = [e for e in self.endpoints.values() if e.status == "enabled"]
        if not endpoints:
            return 0
        batch = []
        for position in range(lo, hi):
            event = self.store.events[index.ids[position]]
            if event.api or not self.store.event_visible(event):
                continue
            body: bytes | None = None
            for endpoint in endpoints:
                if event.created > endpoint.since and endpoint.wants(event.type):
                    body = body if body is not None else self.store.event_bytes(event)
                    batch.append(Delivery(endpoint, event.id, body))
        self._enqueue(batch)
        return len(batch)

    def _enqueue(self, batch: list[Delivery]) -> None:
        if not batch:
            return
        planned = self.faults.plan_webhooks(batch)
        kept = {id(item) for item in planned}
        for item in batch:
            if id(item) not in kept:
                item.endpoint.stats["dropped"] += 1
        for item in planned:
            copy = Delivery(item.endpoint, item.event_id, item.body)
            copy.endpoint.stats["pending"] += 1
            self._ensure_worker(copy.endpoint)
            self._queues[copy.endpoint.id].put_nowait(copy)

    # --- running ---------------------------------------------------------------------------

    def _on_move(self, now: int) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def _ensure_worker(self, endpoint: Endpoint) -> None:
        if endpoint.id not in self._queues:
            self._queues[endpoint.id] = asyncio.Queue()
        if self._loop is not None and endpoint.id not in self._workers:
            self._workers[endpoint.id] = self._loop.create_task(self._worker(endpoint.id))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient()
        for endpoint in self.endpoints.values():
            self._ensure_worker(endpoint)
        self._poller = self._loop.create_task(self._poll())

    async def stop(self) -> None:
        tasks = [t for t in (self._poller, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        if self._client is not None:
            await self._client.aclose()
        self._loop = None

    async def _poll(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)
            self._wake.clear()
            try:
                self.collect()
            except Exception:
                log.exception("collecting due webhook events failed")

    async def _worker(self, endpoint_id: str) -> None:
        queue = self._queues[endpoint_id]
        while True:
            delivery = await queue.get()
            endpoint = delivery.endpoint
            if self.endpoints.get(endpoint_id) is not endpoint or endpoint.status != "enabled":
                endpoint.stats["pending"] -= 1
                endpoint.stats["dropped"] += 1
                continue
            try:
                delivered = await self._send(delivery)
            except Exception:
                log.exception("webhook delivery to %s failed", endpoint.url)
                delivered = False
            endpoint.stats["attempts"] += 1
            delivery.attempt += 1
            if delivered:
                endpoint.stats["pending"] -= 1
                endpoint.stats["delivered"] += 1
            elif delivery.attempt >= self.settings.webhook_max_attempts:
                endpoint.stats["pending"] -= 1
                endpoint.stats["failed"] += 1
            else:
                delay = self.settings.webhook_retry_base_s * 2 ** (delivery.attempt - 1)
                asyncio.get_running_loop().call_later(delay, queue.put_nowait, delivery)

    async def _send(self, delivery: Delivery) -> bool:
        assert self._client is not None
        endpoint = delivery.endpoint
        wall = time.time()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "Stripe-Signature": endpoint.signature(delivery.body, int(wall), wall),
        }
        try:
            response = await self._client.post(
                endpoint.url,
                content=delivery.body,
                headers=headers,
                timeout=self.settings.webhook_timeout_s,
            )
        except (httpx.HTTPError, httpx.InvalidURL, OSError):
            return False
        return 200 <= response.status_code < 300

    # --- reporting -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        self.collect()
        totals = dict.fromkeys(("pending", "delivered", "failed", "dropped", "attempts"), 0)
        for endpoint in (*self.endpoints.values(), *self._removed):
            for key, value in endpoint.stats.items():
                totals[key] += value
        return {
            **totals,
            "cursor": self.cursor,
            "endpoints": {
                endpoint.id: {"url": endpoint.url, **endpoint.stats}
                for endpoint in self.endpoints.values()
            },
        }
