"""What to do about a failed Stripe request: classification and backoff, as pure functions.

Every failure becomes one of revstack's API errors (`revstack.errors.api_error_for_status`):
transient ones are retried with exponential backoff and full jitter, never sooner than a
``Retry-After`` the API sent; terminal ones stop the run.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from typing import Any

import stripe

from revstack.errors import (
    ApiError,
    RateLimitedError,
    TerminalApiError,
    TransientApiError,
    api_error_for_status,
)
from revstack.log import redact
from revstack.sources.stripe.settings import BACKOFF_BASE_S, BACKOFF_MAX_S, RATE_LIMIT_WAIT_S


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """A response header by case-insensitive name."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return None if value is None else str(value)
    return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


def classify(error: stripe.StripeError, now: float) -> ApiError:
    """The revstack error a Stripe SDK error stands for.

    No response (connection refused, reset, timeout) and an unreadable body (a response cut
    off half-way) are transient; ``Stripe-Should-Retry`` overrides the status when present.
    """
    status = error.http_status
    code = error.code if isinstance(error.code, str) else None
    # The API may echo a key back ("Invalid API Key provided: sk_..."): never keep it.
    text = error.user_message or str(error) or "Stripe error"
    message = type(error).__name__ + ": " + str(redact(text))
    should_retry = header(error.headers, "Stripe-Should-Retry")
    retry_after = parse_retry_after(header(error.headers, "Retry-After"), now)
    if isinstance(error, stripe.APIConnectionError) or status is None:
        return TransientApiError(message, status=None, code=code)
    if status < 400:
        # A 2xx/3xx the SDK could not read: the body was cut off or garbled on the way.
        return TransientApiError(message, status=status, code=code or "invalid_body")
    if should_retry == "false" and status != 429:
        return TerminalApiError(message, status=status, code=code)
    if should_retry == "true" and status < 500 and status != 429:
        return TransientApiError(message, status=status, code=code)
    return api_error_for_status(message, status=status, code=code, retry_after=retry_after)


def backoff_delay(attempt: int, retry_after: float | None, jitter: float) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (attempts count from 1).

    Full jitter over an exponential ceiling (``BACKOFF_BASE_S * 2**(attempt-1)``, capped at
    ``BACKOFF_MAX_S``), but never less than ``retry_after``. ``jitter`` is a uniform draw in
    [0, 1).
    """
    if attempt < 1:
        raise ValueError("attempts count from 1")
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** (attempt - 1))
    delay = ceiling * jitter
    if retry_after is not None:
        delay = max(delay, min(retry_after, BACKOFF_MAX_S * 4))
    return delay


def retry_after_of(error: BaseException | None) -> float | None:
    """The least wait an error calls for: its ``Retry-After``, else ``RATE_LIMIT_WAIT_S`` for
    a 429 (Stripe's limits are per second: an earlier retry meets the same full window)."""
    value = getattr(error, "retry_after", None)
    if isinstance(value, int | float):
        return float(value)
    return RATE_LIMIT_WAIT_S if isinstance(error, RateLimitedError) else None


def next_rate(
    current: float, configured: float, *, limited: bool, since_decrease_s: float = float("inf")
) -> float:
    """The shared request rate after a response (additive increase, multiplicative decrease).

    A 429 halves it (never below 1/s), at most once a second: the 429s of requests already
    in flight describe the same full window. Each success adds back ``5 %`` of the configured
    rate divided by the current rate, which is about 5 % of the configured rate per second,
    never above it. Every reader shares one bucket, so one 429 slows them all at once instead
    of each retrying into the same full window.
    """
    if limited:
        return max(1.0, current / 2) if since_decrease_s >= 1.0 else current
    return min(configured, current + configured * 0.05 / max(current, 1.0))
