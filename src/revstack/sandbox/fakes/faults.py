"""Fault injection for the fakes: rate limits, server errors, latency, timeouts, truncated
responses, and duplicated, reordered or dropped webhooks.

Every random decision comes from one seeded stream in the order requests arrive, so a fault
profile replays the same way under the same seed and request sequence.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
T = TypeVar("T")


class RateLimit(BaseModel):
    """At most `requests` requests per `per_seconds` (sliding window) on matching paths."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("default", description="Policy name reported in 429 responses.")
    requests: int = Field(gt=0)
    per_seconds: float = Field(gt=0)
    path_pattern: str = Field(
        ".*", description="Regular expression a request's path must match to count."
    )
    methods: tuple[str, ...] = Field((), description="HTTP methods that count; empty: all.")


class FaultProfile(BaseModel):
    """How hostile a fake is. The default is a perfectly healthy API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    rate_limits: tuple[RateLimit, ...] = ()
    error_rate: float = Field(0.0, ge=0, le=1, description="Share answered with a 5xx.")
    latency_ms: float = Field(0.0, ge=0)
    latency_jitter_ms: float = Field(0.0, ge=0)
    timeout_rate: float = Field(
        0.0, ge=0, le=1, description="Share held for `timeout_s` before being processed."
    )
    timeout_s: float = Field(35.0, ge=0)
    truncate_rate: float = Field(
        0.0, ge=0, le=1, description="Share whose response is cut off mid-body."
    )
    webhook_duplicate_rate: float = Field(0.0, ge=0, le=1)
    webhook_reorder_rate: float = Field(
        0.0, ge=0, le=1, description="Share of webhook deliveries moved later in the queue."
    )
    webhook_drop_rate: float = Field(
        0.0, ge=0, le=1, description="Share of webhooks never delivered (no retry)."
    )


@dataclass(frozen=True)
class Decision:
    """What happens to one request."""

    kind: str
    """``pass``, ``rate_limited``, ``error``, ``timeout`` or ``truncate``."""
    latency_s: float = 0.0
    limit: RateLimit | None = None
    retry_after_s: float = 0.0
    status: int = 200


class FaultRenderer(Protocol):
    """The fake's own shape of fault responses (each real API words them differently)."""

    def rate_limited(self, limit: RateLimit, retry_after_s: float) -> Response: ...

    def server_error(self, status: int) -> Response: ...


class FaultController:
    """Holds a fake's fault profile and decides each request's fate."""

    def __init__(
        self, profile: FaultProfile | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(profile or FaultProfile())

    @property
    def profile(self) -> FaultProfile:
        return self._profile

    def configure(self, profile: FaultProfile) -> None:
        """Replace the profile; its seed restarts the random stream."""
        with self._lock:
            self._profile = profile
            self._rng = random.Random(profile.seed)
            self._windows: list[tuple[RateLimit, re.Pattern[str], deque[float]]] = [
                (limit, re.compile(limit.path_pattern), deque()) for limit in profile.rate_limits
            ]

    def decide(self, method: str, path: str) -> Decision:
        with self._lock:
            profile, rng = self._profile, self._rng
            latency = profile.latency_ms / 1000
            if profile.latency_jitter_ms:
                latency += rng.random() * profile.latency_jitter_ms / 1000
            now = self._clock()
            for limit, pattern, window in self._windows:
                if limit.methods and method.upper() not in limit.methods:
                    continue
                if not pattern.fullmatch(path):
                    continue
                while window and window[0] <= now - limit.per_seconds:
                    window.popleft()
                if len(window) >= limit.requests:
                    retry_after = window[0] + limit.per_seconds - now
                    return Decision("rate_limited", latency, limit, max(retry_after, 0.0), 429)
                window.append(now)
            draw = rng.random()
            if draw < profile.error_rate:
                return Decision("error", latency, status=rng.choice((500, 502, 503)))
            draw -= profile.error_rate
            if draw < profile.timeout_rate:
                return Decision("timeout", latency + profile.timeout_s)
            draw -= profile.timeout_rate
            if draw < profile.truncate_rate:
                return Decision("truncate", latency)
            return Decision("pass", latency)

    def plan_webhooks(self, deliveries: Sequence[T]) -> list[T]:
        """The order in which queued webhook deliveries go out, after drops, duplicates and
        reordering: a reordered delivery is moved behind the next few."""
        with self._lock:
            profile, rng = self._profile, self._rng
            planned: list[T] = []
            held: list[T] = []
            for item in deliveries:
                draw = rng.random()
                if draw < profile.webhook_drop_rate:
                    continue
                copies = 2 if rng.random() < profile.webhook_duplicate_rate else 1
                if rng.random() < profile.webhook_reorder_rate:
                    held.extend([item] * copies)
                    continue
                planned.extend([item] * copies)
                if held and rng.random() < 0.5:
                    planned.extend(held)
                    held = []
            planned.extend(held)
            return planned


class FaultMiddleware:
    """ASGI middleware applying a `FaultController` to every request but the sandbox's own
    control endpoints (``/_sandbox/...``)."""

    def __init__(
        self,
        app: ASGIApp,
        controller: FaultController,
        renderer: FaultRenderer,
        exempt_prefix: str = "/_sandbox",
    ) -> None:
        self.app = app
        self.controller = controller
        self.renderer = renderer
        self.exempt_prefix = exempt_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefix):
            await self.app(scope, receive, send)
            return
        decision = self.controller.decide(scope["method"], scope["path"])
        if decision.latency_s:
            await asyncio.sleep(decision.latency_s)
        if decision.kind == "rate_limited":
            assert decision.limit is not None
            response = self.renderer.rate_limited(decision.limit, decision.retry_after_s)
            await response(scope, receive, send)
            return
        if decision.kind == "error":
            await self.renderer.server_error(decision.status)(scope, receive, send)
            return
        if decision.kind == "truncate":
            await self.app(scope, receive, _truncating(send))
            return
        await self.app(scope, receive, send)


class TruncatedResponse(Exception):
    """Raised after half a response body was sent, so the server drops the connection."""


def _truncating(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            raise TruncatedResponse("response cut off by the fault profile")
        await send(message)

    return wrapped
