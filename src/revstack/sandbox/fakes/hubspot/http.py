"""Request plumbing shared by the fake's endpoints: bearer-token auth, HubSpot error bodies,
rate-limit headers, query and body parsing."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from revstack.sandbox.fakes.faults import FaultController, RateLimit
from revstack.sandbox.fakes.hubspot.errors import HubSpotApiError, bad_request, unauthorized
from revstack.sandbox.fakes.hubspot.settings import (
    DEFAULT_DAILY,
    DEFAULT_TEN_SECONDLY,
    TYPE_ALIASES,
    HubSpotFakeSettings,
)

Handler = Callable[[Request], Awaitable[Response]]


class RateHeaders:
    """``X-HubSpot-RateLimit-*`` headers: the fault profile's limits when set (counted here the
    same way), otherwise HubSpot Professional's 190 per 10 s and 650,000 a day."""

    def __init__(self, faults: FaultController, clock: Callable[[], float] = time.monotonic):
        self.faults = faults
        self.clock = clock
        self._windows: dict[tuple[Any, ...], deque[float]] = {}
        self._day_start = clock()
        self._day_count = 0

    def _limits(self, method: str, path: str) -> tuple[RateLimit, RateLimit | None]:
        rolling: RateLimit | None = None
        daily: RateLimit | None = None
        for limit in self.faults.profile.rate_limits:
            if limit.methods and method.upper() not in limit.methods:
                continue
            if not re.fullmatch(limit.path_pattern, path):
                continue
            if limit.per_seconds >= 86_400 or limit.name.upper() == "DAILY":
                daily = daily or limit
            else:
                rolling = rolling or limit
        default = RateLimit(
            name="TEN_SECONDLY_ROLLING", requests=DEFAULT_TEN_SECONDLY, per_seconds=10
        )
        return rolling or default, daily

    def headers(self, method: str, path: str) -> dict[str, str]:
        rolling, daily = self._limits(method, path)
        now = self.clock()
        key = (rolling.name, rolling.requests, rolling.per_seconds, rolling.path_pattern)
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - rolling.per_seconds:
            window.popleft()
        window.append(now)
        if now - self._day_start >= 86_400:
            self._day_start, self._day_count = now, 0
        self._day_count += 1
        day_max = daily.requests if daily else DEFAULT_DAILY
        return {
            "X-HubSpot-RateLimit-Max": str(rolling.requests),
            "X-HubSpot-RateLimit-Remaining": str(max(rolling.requests - len(window), 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(rolling.per_seconds * 1000)),
            "X-HubSpot-RateLimit-Daily": str(day_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(day_max - self._day_count, 0)),
        }


def authorize(request: Request, settings: HubSpotFakeSettings) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    if settings.access_tokens and token not in settings.access_tokens:
        raise HubSpotApiError(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication "
            "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
            "oauth-overview",
        )


def api_endpoint(
    handler: Handler,
    settings: Callable[[], HubSpotFakeSettings],
    rate: RateHeaders,
) -> Handler:
    """A HubSpot endpoint: token checked, HubSpot errors rendered, rate-limit headers added."""

    async def endpoint(request: Request) -> Response:
        try:
            authorize(request, settings())
            response = await handler(request)
        except HubSpotApiError as exc:
            response = exc.response()
        response.headers.update(rate.headers(request.method, request.url.path))
        return response

    return endpoint


def object_type(request: Request, param: str = "object_type") -> str:
    raw = str(request.path_params[param])
    kind = TYPE_ALIASES.get(raw.lower())
    if kind is None:
        raise bad_request(f"Unable to infer object type from: {raw}")
    return kind


def multi(request: Request, name: str) -> list[str]:
    """A list parameter, given repeated (``p=a&p=b``) or comma-joined (``p=a,b``)."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out.extend(part.strip() for part in raw.split(",") if part.strip())
    return list(dict.fromkeys(out))


def kinds(request: Request, name: str = "associations") -> list[str]:
    out = []
    for raw in multi(request, name):
        kind = TYPE_ALIASES.get(raw.lower())
        if kind is None:
            raise bad_request(f"Unable to infer object type from: {raw}")
        out.append(kind)
    return out


def flag(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name} must be true or false, got {raw!r}")


def bounded_int(value: Any, name: str, default: int, maximum: int, minimum: int = 1) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be an integer, got {value!r}") from None
    if number < minimum or number > maximum:
        raise bad_request(f"{name} must be between {minimum} and {maximum}, got {number}")
    return number


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        data = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise bad_request("Invalid input JSON on line 1: the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request("Invalid input JSON: expected an object")
    return data


async def json_any(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise bad_request("Invalid input JSON on line 1: the body is not valid JSON") from None


def string_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(f"{name} must be a list of strings")
    return [item for item in value if item]


def inputs(body: dict[str, Any], maximum: int) -> list[dict[str, Any]]:
    items = body.get("inputs")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise bad_request("inputs must be a list of objects")
    if len(items) > maximum:
        raise bad_request(
            f"Batch input size {len(items)} exceeds the maximum of {maximum} inputs",
            "BATCH_SIZE_TOO_LARGE",
        )
    return items
