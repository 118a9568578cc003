"""Token buckets: the one way revstack paces calls to an external API.

A bucket holds up to `capacity` tokens and refills at `rate` tokens per second; a call takes one
token, waiting until one is available. Shared by every caller of the same API in a process, so
the sum of their calls stays under the limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """Thread-safe token bucket; `acquire` blocks, `acquire_async` awaits."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a token bucket's rate must be positive")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        if self.capacity < 1:
            raise ValueError("a token bucket must hold at least one token")
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def _reserve(self, tokens: float) -> float:
        """Take `tokens` now (possibly going negative); return how long to wait before using
        them."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= tokens
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, tokens: float = 1.0) -> float:
        """Wait until `tokens` are available and take them; returns the seconds waited."""
        wait = self._reserve(tokens)
        if wait > 0:
            self._sleep(wait)
        return wait

    async def acquire_async(self, tokens: float = 1.0) -> float:
        wait = self._reserve(tokens)
        if wait > 0:
            await asyncio.sleep(wait)
        return wait

    def available(self) -> float:
        """Tokens available right now (negative while callers wait for reserved ones)."""
        with self._lock:
            elapsed = self._clock() - self._updated
            return min(self.capacity, self._tokens + elapsed * self.rate)

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take `tokens` only if available right now."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False
