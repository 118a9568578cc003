"""Every error revstack raises on purpose, and what to do about each.

A failed piece of work is handled by answering one question, and only by its class:

- :class:`TransientError` -- the same call may succeed later. Retry it with backoff (honouring
  any ``retry_after``), then give up and dead-letter it once the retry budget is spent.
- :class:`TerminalError` -- retrying will not help. Do not retry; dead-letter the item (or stop
  the command) and tell a human what to fix.

Anything that is not a :class:`RevstackError` is a bug: it keeps its traceback.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ApiError",
    "ConfigError",
    "LoadError",
    "MissingDependencyError",
    "NotAvailableError",
    "RateLimitedError",
    "RevstackError",
    "SignatureError",
    "TerminalApiError",
    "TerminalError",
    "TerminalLoadError",
    "TransientApiError",
    "TransientError",
    "TransientLoadError",
    "WorldError",
    "api_error_for_status",
]


class RevstackError(Exception):
    """Base of every error revstack raises on purpose.

    Catch this to tell an expected failure (bad configuration, an API refusing a call) from a
    bug. The message is written for the person running revstack and says what to do.
    """

    exit_code: ClassVar[int] = 1
    """Exit status of the ``revstack`` command when this error ends it."""


class TransientError(RevstackError):
    """The failure is temporary: retry the same call later, with backoff.

    Workers retry these and nothing else. If the retry budget runs out, the item is
    dead-lettered like a terminal error, keeping this error as the reason.
    """


class TerminalError(RevstackError):
    """Retrying will not help: stop, dead-letter the item, fix the cause named in the message."""


class ConfigError(TerminalError):
    """The configuration is invalid or incomplete.

    The message names the offending key as a dotted path (``sources.stripe.rate_limit_share``)
    and where it came from (the file or a ``REVSTACK__`` environment variable). Fix that value
    and run again.
    """


class NotAvailableError(TerminalError):
    """A planned feature that has not been built yet.

    Nothing was done. The message says what the command will do once it exists; there is no
    workaround inside revstack today.
    """

    exit_code: ClassVar[int] = 2

    def __init__(self, feature: str, planned: str | None = None) -> None:
        self.feature = feature
        self.planned = planned
        message = f"{feature} is not available yet"
        if planned:
            message += f" (planned: {planned})"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.feature, self.planned))


class MissingDependencyError(TerminalError):
    """An optional dependency of the configured feature is not installed.

    The message names the extra to install, e.g. ``pip install 'revstack[postgres]'``.
    """


class LoadError(RevstackError):
    """Loading into the warehouse failed.

    Raised as :class:`TransientLoadError` when the warehouse may accept the same load later
    (connection lost, lock held) and :class:`TerminalLoadError` when it will not (a schema or
    permission problem). Either way nothing past the last committed load counts as done: run
    again once the cause is fixed and the pending load is finished or rolled back.
    """


class TransientLoadError(LoadError, TransientError):
    """The warehouse failed temporarily; run again later."""


class TerminalLoadError(LoadError, TerminalError):
    """The warehouse refused the load; fix the cause named in the message, then run again."""


class ApiError(RevstackError):
    """A source or target API refused or failed a request.

    Do not raise this class itself: use :func:`api_error_for_status`, which returns the
    subclass that says whether to retry (:class:`TransientApiError`,
    :class:`RateLimitedError`) or not (:class:`TerminalApiError`). ``status`` is the HTTP
    status (``None`` when no response arrived) and ``code`` the API's own error code, if any.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        self.message = message
        self.status = status
        self.code = code
        super().__init__(message)

    def __str__(self) -> str:
        details = [f"HTTP {self.status}" if self.status is not None else "no response"]
        if self.code:
            details.append(self.code)
        return f"{self.message} ({', '.join(details)})"

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if sent again later."""
        return isinstance(self, TransientError)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,), self.__dict__.copy())


class TransientApiError(ApiError, TransientError):
    """The API failed in a way that usually passes (5xx, timeout, dropped connection, lock).

    Retry with exponential backoff; the request must be idempotent (Stripe ``Idempotency-Key``,
    HubSpot upsert by id property), so sending it twice is safe.
    """


class TerminalApiError(ApiError, TerminalError):
    """The API rejected the request itself (4xx other than 408/409/429).

    Sending it again gives the same answer: dead-letter it and read ``code``/message -- usually
    a revoked key, a missing permission, or a record the API considers invalid.
    """


class RateLimitedError(ApiError, TransientError):
    """The API said "too many requests" (HTTP 429).

    Wait ``retry_after`` seconds when the API sent ``Retry-After``, otherwise back off
    exponentially, and then retry. Frequent 429s mean the configured rate limit or its share is
    set higher than the account allows.
    """

    def __init__(
        self,
        message: str = "rate limited",
        *,
        status: int | None = 429,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, status=status, code=code)

    def __str__(self) -> str:
        text = super().__str__()
        if self.retry_after is not None:
            text += f"; retry after {self.retry_after:g} s"
        return text


class SignatureError(TerminalError):
    """A webhook's signature is missing, malformed, too old or does not match.

    Reject the delivery (HTTP 400) and do not process it. If every delivery fails, the
    configured webhook secret does not belong to this endpoint: copy it again from the sender.
    ``reason`` is a short code for logs and the audit log (``missing_header``, ``malformed``,
    ``no_v1``, ``stale``, ``mismatch``); ``None`` when the raiser gave none.
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self),), self.__dict__.copy())


class WorldError(TerminalError):
    """The synthetic company (the sandbox world) could not be generated or read.

    The message names the directory or file. Regenerate the world with
    ``revstack sandbox generate --force`` if it is incomplete or from another version.
    """


_RETRYABLE_CLIENT_STATUSES = frozenset({408, 409})
"""4xx statuses that mean "try again": request timeout, and a conflicting concurrent request
(Stripe answers 409 while another request with the same idempotency key or object lock runs)."""


def api_error_for_status(
    message: str,
    *,
    status: int | None,
    code: str | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """Return the :class:`ApiError` subclass that matches an HTTP outcome.

    429 is :class:`RateLimitedError`; no response, 408, 409 and every 5xx are
    :class:`TransientApiError`; any other status is :class:`TerminalApiError`.
    """
    if status == 429:
        return RateLimitedError(message, status=status, code=code, retry_after=retry_after)
    if status is None or status >= 500 or status in _RETRYABLE_CLIENT_STATUSES:
        return TransientApiError(message, status=status, code=code)
    return TerminalApiError(message, status=status, code=code)
