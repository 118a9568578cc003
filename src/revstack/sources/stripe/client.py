"""The connector's one door to Stripe: a `stripe.StripeClient` instance behind a token bucket
and our own retries, counting every request it sends.

The SDK's own retries are off (``max_network_retries=0``): it does not read ``Retry-After``
and would hide requests from the count the audit log records. Responses are read as plain
JSON (``raw_request``), so payloads are stored exactly as Stripe sent them.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import stripe
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from revstack.config import StripeSettings
from revstack.errors import ConfigError, RateLimitedError, TransientError
from revstack.log import get_logger
from revstack.sources.ratelimit import TokenBucket
from revstack.sources.stripe.retry import backoff_delay, classify, next_rate, retry_after_of
from revstack.sources.stripe.settings import MAX_ATTEMPTS, REQUEST_TIMEOUT_S

Json = dict[str, Any]
_log = get_logger(__name__)


@dataclass(frozen=True)
class ListPage:
    data: list[Json]
    has_more: bool


def bucket_for(settings: StripeSettings) -> TokenBucket:
    """A token bucket at ``rate_limit_per_s * rate_limit_share`` requests per second.

    Its burst is the headroom the share leaves (``rate_limit_per_s`` minus our rate, at least
    one request), so no one-second window ever holds more than the account's limit.
    """
    rate = settings.rate_limit_per_s * settings.rate_limit_share
    return TokenBucket(rate, capacity=max(1.0, settings.rate_limit_per_s - rate))


class StripeApi:
    """Rate-limited, retrying GETs against the Stripe API (thread-safe)."""

    def __init__(
        self,
        settings: StripeSettings,
        *,
        bucket: TokenBucket | None = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        if settings.api_key is None:
            raise ConfigError(
                "sources.stripe.api_key is not set: set STRIPE_API_KEY or write "
                'api_key = { env = "VARIABLE" } under [sources.stripe]'
            )
        base = {"api": settings.api_base} if settings.api_base else None
        self._client = stripe.StripeClient(
            settings.api_key.get_secret_value(),
            base_addresses=base,  # type: ignore[arg-type]
            max_network_retries=0,
            http_client=http_client or stripe.RequestsClient(timeout=timeout_s),
        )
        self.bucket = bucket or bucket_for(settings)
        self.configured_rate = self.bucket.rate
        self._decreased_at = float("-inf")
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._retries: Counter[str] = Counter()

    # --- counting ------------------------------------------------------------------------

    def requests(self, stream: str | None = None) -> int:
        """Requests sent (retries included), for one stream or in total."""
        with self._lock:
            return self._requests[stream] if stream else sum(self._requests.values())

    def retries(self, stream: str | None = None) -> int:
        with self._lock:
            return self._retries[stream] if stream else sum(self._retries.values())

    def _count(self, stream: str, attempt: int) -> None:
        with self._lock:
            self._requests[stream] += 1
            if attempt > 1:
                self._retries[stream] += 1

    # --- requests ------------------------------------------------------------------------

    def _adapt(self, *, limited: bool) -> None:
        with self._lock:
            now = time.monotonic()
            rate = next_rate(
                self.bucket.rate,
                self.configured_rate,
                limited=limited,
                since_decrease_s=now - self._decreased_at,
            )
            if rate < self.bucket.rate:
                self._decreased_at = now
                _log.warning("stripe.rate.reduced", rate_per_s=round(rate, 2))
            self.bucket.rate = rate

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        with self._lock:
            jitter = self._rng.random()
        delay = backoff_delay(state.attempt_number, retry_after_of(error), jitter)
        _log.info(
            "stripe.request.retry",
            attempt=state.attempt_number,
            wait_s=round(delay, 3),
            error=str(error),
        )
        return delay

    def get(self, path: str, params: Mapping[str, Any] | None = None, *, stream: str) -> Json:
        """GET `path` with `params`; the parsed JSON body. Raises `TransientError` (after
        `max_attempts`) or `TerminalError` subclasses of `revstack.errors.ApiError`."""
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            retry=retry_if_exception_type(TransientError),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.bucket.acquire()
                self._count(stream, attempt.retry_state.attempt_number)
                try:
                    response = self._client.raw_request("get", path, **dict(params or {}))
                except stripe.StripeError as error:
                    classified = classify(error, time.time())
                    if isinstance(classified, RateLimitedError):
                        self._adapt(limited=True)
                    raise classified from error
                self._adapt(limited=False)
                body: Json = orjson.loads(response.body)
                return body
        raise AssertionError("unreachable: tenacity reraises the last error")

    def list_page(self, path: str, params: Mapping[str, Any], *, stream: str) -> ListPage:
        body = self.get(path, params, stream=stream)
        return ListPage(list(body.get("data") or []), bool(body.get("has_more")))

    def newest_event_created(self, *, stream: str = "events") -> int | None:
        """``created`` of the newest event the API lists: Stripe's clock as seen through its
        own data (None when no event is within the retention)."""
        page = self.list_page("/v1/events", {"limit": 1}, stream=stream)
        return int(page.data[0]["created"]) if page.data else None
