"""The org's daily API request budget, counted per sandbox-clock day (UTC).

Every authenticated API request counts; once the day's budget is spent, requests get 403
``REQUEST_LIMIT_EXCEEDED`` until the sandbox clock reaches the next UTC day. Every response
reports the count in ``Sforce-Limit-Info: api-usage=used/max``.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from revstack.sandbox.fakes.clock import SandboxClock

DEFAULT_DAILY_LIMIT = 100_000
DEFAULT_DAILY_BULK_QUERY_JOBS = 10_000
_DAY = 86_400


class ApiBudget:
    def __init__(self, clock: SandboxClock, daily_limit: int = DEFAULT_DAILY_LIMIT) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limit = daily_limit
        self._day = clock.now() // _DAY
        self._used = 0
        self._bulk_jobs = 0

    def _roll(self) -> None:
        day = self._clock.now() // _DAY
        if day != self._day:
            self._day, self._used, self._bulk_jobs = day, 0, 0

    def spend(self) -> bool:
        """Count one request; False (and nothing counted) when the day's budget is spent."""
        with self._lock:
            self._roll()
            if self._used >= self._limit:
                return False
            self._used += 1
            return True

    def count_bulk_job(self) -> None:
        with self._lock:
            self._roll()
            self._bulk_jobs += 1

    def header(self) -> str:
        """The ``Sforce-Limit-Info`` value."""
        with self._lock:
            self._roll()
            return f"api-usage={self._used}/{self._limit}"

    def limits(self) -> dict[str, Any]:
        """``GET /limits`` (the limits the fake keeps)."""
        with self._lock:
            self._roll()
            return {
                "DailyApiRequests": {"Max": self._limit, "Remaining": self._limit - self._used},
                "DailyBulkV2QueryJobs": {
                    "Max": DEFAULT_DAILY_BULK_QUERY_JOBS,
                    "Remaining": max(DEFAULT_DAILY_BULK_QUERY_JOBS - self._bulk_jobs, 0),
                },
            }

    def state(self) -> dict[str, Any]:
        with self._lock:
            self._roll()
            day = dt.datetime.fromtimestamp(self._day * _DAY, dt.UTC).date().isoformat()
            return {
                "daily_api_requests": self._limit,
                "used": self._used,
                "remaining": max(self._limit - self._used, 0),
                "day": day,
            }

    def configure(self, daily_limit: int | None = None, used: int | None = None) -> None:
        """Change today's limit and/or the count already used (for tests and demos)."""
        if daily_limit is not None and daily_limit < 0:
            raise ValueError("daily_api_requests cannot be negative")
        if used is not None and used < 0:
            raise ValueError("used cannot be negative")
        with self._lock:
            self._roll()
            if daily_limit is not None:
                self._limit = daily_limit
            if used is not None:
                self._used = used
