"""HubSpot's error bodies: ``{status: "error", message, correlationId, category, ...}``, the
exception handlers raise to answer with one, and the fault renderer (429s and 5xx)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response

from revstack.errors import TerminalError
from revstack.sandbox.fakes.faults import RateLimit

_POLICIES = ("TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(data), status_code=status, headers=headers, media_type="application/json"
    )


def correlation_id() -> str:
    return str(uuid.uuid4())


class HubSpotApiError(TerminalError):
    """A request the fake answers with a HubSpot error body."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        sub_category: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.sub_category = sub_category
        self.errors = errors
        self.context = context

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
            "category": self.category,
        }
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.errors:
            body["errors"] = self.errors
        if self.context:
            body["context"] = self.context
        return body

    def response(self) -> Response:
        return json_response(self.body(), self.status)


def unauthorized() -> HubSpotApiError:
    return HubSpotApiError(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        "you can find more details at https://developers.hubspot.com/docs/methods/auth/"
        "oauth-overview",
    )


def not_found(message: str = "resource not found") -> HubSpotApiError:
    return HubSpotApiError(404, "OBJECT_NOT_FOUND", message)


def bad_request(message: str, sub_category: str | None = None) -> HubSpotApiError:
    return HubSpotApiError(400, "VALIDATION_ERROR", message, sub_category=sub_category)


def conflict(message: str) -> HubSpotApiError:
    return HubSpotApiError(409, "CONFLICT", message)


def invalid_properties(problems: list[dict[str, Any]]) -> HubSpotApiError:
    """400 ``Property values were not valid: [...]``, as HubSpot words it."""
    text = orjson.dumps(problems).decode()
    return HubSpotApiError(
        400,
        "VALIDATION_ERROR",
        f"Property values were not valid: {text}",
        errors=[
            {
                "message": problem["message"],
                "code": problem["error"],
                "context": {"propertyName": [problem["name"]]},
            }
            for problem in problems
        ],
    )


def policy_name(limit: RateLimit) -> str:
    """HubSpot's policy for a fault-profile rate limit: its name when it is one of HubSpot's,
    otherwise from its window (1 s or less: ``SECONDLY``; a day: ``DAILY``)."""
    name = limit.name.upper()
    if name in _POLICIES:
        return name
    if limit.per_seconds <= 1:
        return "SECONDLY"
    if limit.per_seconds >= 86_400:
        return "DAILY"
    return "TEN_SECONDLY_ROLLING"


class HubSpotFaultRenderer:
    """429 and 5xx answers in HubSpot's words."""

    def __init__(self, send_retry_after: Callable[[], bool] = lambda: False) -> None:
        self.send_retry_after = send_retry_after

    def rate_limited(self, limit: RateLimit, retry_after_s: float) -> Response:
        policy = policy_name(limit)
        body = {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
        }
        headers = {}
        if policy != "DAILY":
            headers = {
                "X-HubSpot-RateLimit-Max": str(limit.requests),
                "X-HubSpot-RateLimit-Remaining": "0",
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(limit.per_seconds * 1000)),
            }
        if self.send_retry_after():
            headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
        return json_response(body, 429, headers)

    def server_error(self, status: int) -> Response:
        messages = {
            500: "internal error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        body = {
            "status": "error",
            "message": messages.get(status, "internal error"),
            "correlationId": correlation_id(),
            "category": "INTERNAL_ERROR" if status == 500 else "SERVICE_UNAVAILABLE",
        }
        return json_response(body, status)
