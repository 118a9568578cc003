"""Stripe-shaped error responses: the request errors the fake raises and the fault renderer.

Bodies follow Stripe's envelope ``{"error": {"type", "code", "message", "param", "doc_url"}}``
(keys without a value are left out, as Stripe does).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from starlette.responses import Response

from revstack.errors import TerminalApiError
from revstack.sandbox.fakes.faults import RateLimit
from revstack.sandbox.world.ids import base62
from revstack.sandbox.world.stripe_render import API_VERSION

DOCS = "https://stripe.com/docs/error-codes/"


class StripeRequestError(TerminalApiError):
    """A request the fake refuses, rendered as Stripe's error envelope.

    `saved` says whether an idempotency key keeps the result: validation failures (raised
    before anything ran) are not saved, Stripe's own refusals during execution are. `extra`
    holds the other fields Stripe puts in some errors (a card error's ``decline_code``,
    ``charge`` and ``payment_intent``).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        saved: bool = False,
        should_retry: bool | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.type = type
        self.param = param
        self.saved = saved
        self.should_retry = should_retry
        self.extra = extra or {}

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        error: dict[str, Any] = {}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOCS + self.code.replace("_", "-")
        error["message"] = self.message
        if self.param:
            error["param"] = self.param
        if request_id:
            error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}?t=0"
        error["type"] = self.type
        error.update(self.extra)
        return {"error": dict(sorted(error.items()))}


def unknown_parameter(name: str) -> StripeRequestError:
    return StripeRequestError(
        f"Received unknown parameter: {name}", code="parameter_unknown", param=name
    )


def missing_parameter(name: str) -> StripeRequestError:
    return StripeRequestError(
        f"Missing required param: {name}.", code="parameter_missing", param=name
    )


def invalid_parameter(name: str, message: str) -> StripeRequestError:
    return StripeRequestError(message, code="parameter_invalid_string", param=name)


def invalid_integer(name: str) -> StripeRequestError:
    return StripeRequestError(
        f"Invalid integer: {name}", code="parameter_invalid_integer", param=name
    )


def no_such(kind: str, object_id: str, param: str = "id", status: int = 404) -> StripeRequestError:
    label = kind.replace("_", " ")
    return StripeRequestError(
        f"No such {label}: '{object_id}'", status=status, code="resource_missing", param=param
    )


def new_request_id() -> str:
    return "req_" + base62(secrets.randbits(84) % 62**14, 14)


def json_response(
    status: int, body: bytes, request_id: str, extra: dict[str, str] | None = None
) -> Response:
    headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
    if extra:
        headers.update(extra)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def error_response(error: StripeRequestError, request_id: str) -> Response:
    extra = {}
    if error.should_retry is not None:
        extra["Stripe-Should-Retry"] = "true" if error.should_retry else "false"
    return json_response(
        error.status or 400, orjson.dumps(error.body(request_id)), request_id, extra
    )


class StripeFaultRenderer:
    """Fault responses worded as Stripe words them.

    429s carry no ``Retry-After`` (Stripe sends none) and no ``Stripe-Should-Retry``, so the SDK
    does not retry them by itself; injected 5xx answers carry no ``Stripe-Should-Retry`` either,
    so the SDK retries them as it retries Stripe's own transient failures.
    """

    def rate_limited(self, limit: RateLimit, retry_after_s: float) -> Response:
        error = StripeRequestError(
            "Request rate limit exceeded. You can learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            status=429,
            code="rate_limit",
        )
        return error_response(error, new_request_id())

    def server_error(self, status: int) -> Response:
        error = StripeRequestError(
            "An unknown error occurred. Please try again later.",
            status=status,
            type="api_error",
        )
        return error_response(error, new_request_id())
