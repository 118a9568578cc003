"""Request plumbing every fake Salesforce endpoint shares: API versions, session check, the
daily budget, Salesforce-shaped errors and the ``Sforce-Limit-Info`` header on every response.

Errors are a JSON array ``[{"message": ..., "errorCode": ...}]``. Handlers raise
`revstack.errors.ApiError` subclasses carrying the HTTP status and Salesforce's error code.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable, Sequence

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.errors import ApiError, TerminalApiError
from revstack.sandbox.fakes.faults import RateLimit
from revstack.sandbox.fakes.salesforce.budget import ApiBudget

Handler = Callable[[Request], Awaitable[Response]]
LIMIT_HEADER = "Sforce-Limit-Info"
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_SEASONS = ("Winter", "Spring", "Summer")
VERSIONS = tuple(f"{number}.0" for number in range(31, 65))
"""API versions the fake answers (Summer '14 to Summer '25)."""


def release_label(version: str) -> str:
    """``59.0`` -> ``Winter '24``: three releases a year, 59.0 being Winter '24."""
    step = int(float(version)) - 59
    return f"{_SEASONS[step % 3]} '{24 + step // 3}"


def versions() -> list[dict[str, str]]:
    """``GET /services/data/``."""
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}", "version": v} for v in VERSIONS
    ]


def json_response(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json;charset=UTF-8")


def error_response(status: int, code: str, message: str) -> Response:
    return json_response([{"message": message, "errorCode": code}], status)


def not_found() -> TerminalApiError:
    return TerminalApiError("The requested resource does not exist", status=404, code="NOT_FOUND")


class SalesforceFaultRenderer:
    """How the fake words injected faults.

    Salesforce has no per-second request limit. The fault profile's rate limits answer like
    an overloaded org: 503 ``SERVER_UNAVAILABLE`` with ``Retry-After``; a limit whose name
    starts with ``concurrent`` answers like Salesforce's concurrent long-running request
    limit instead: 403 ``REQUEST_LIMIT_EXCEEDED`` "ConcurrentRequests (Concurrent API
    Requests) Limit exceeded." (no ``Retry-After``), which a client can only tell from the
    daily limit by the message.
    """

    def __init__(self, budget: ApiBudget) -> None:
        self.budget = budget

    def rate_limited(self, limit: RateLimit, retry_after_s: float) -> Response:
        if limit.name.lower().startswith("concurrent"):
            response = error_response(
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            )
        else:
            response = error_response(
                503,
                "SERVER_UNAVAILABLE",
                "The server is temporarily unable to handle the request: too many requests "
                f"(sandbox limit '{limit.name}'). Retry later.",
            )
            response.headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
        response.headers[LIMIT_HEADER] = self.budget.header()
        return response

    def server_error(self, status: int) -> Response:
        if status == 500:
            error_id = uuid.uuid4().int % 10**9
            response = error_response(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact "
                f"support: {error_id}-{error_id % 99991} (-{error_id % 1000003})",
            )
        else:
            response = error_response(
                status, "SERVER_UNAVAILABLE", "The server is temporarily unavailable."
            )
        response.headers[LIMIT_HEADER] = self.budget.header()
        return response


class Api:
    """Wraps handlers into routes that behave like Salesforce's REST API front door."""

    def __init__(self, budget: ApiBudget) -> None:
        self.budget = budget

    def route(
        self,
        path: str,
        handler: Handler,
        methods: Sequence[str] = ("GET",),
        *,
        auth: bool = True,
        slash: bool = True,
    ) -> list[Route]:
        """Routes for `path` (and `path` + "/" with `slash`) answering `methods` with
        `handler`, and every other method with Salesforce's 405."""
        allowed = tuple(methods)

        async def endpoint(request: Request) -> Response:
            response = await self._handle(request, handler, allowed, auth)
            response.headers[LIMIT_HEADER] = self.budget.header()
            return response

        paths = [path, path.rstrip("/") + "/"] if slash and not path.endswith("/") else [path]
        return [Route(p, endpoint, methods=list(ALL_METHODS)) for p in paths]

    async def _handle(
        self, request: Request, handler: Handler, methods: tuple[str, ...], auth: bool
    ) -> Response:
        try:
            version = request.path_params.get("version")
            if version is not None and version not in VERSIONS:
                raise not_found()
            if auth and not _authorised(request):
                raise TerminalApiError(
                    "Session expired or invalid", status=401, code="INVALID_SESSION_ID"
                )
            if request.method not in methods and not (
                request.method == "HEAD" and "GET" in methods
            ):
                allowed = (*methods, "HEAD") if "GET" in methods else methods
                raise TerminalApiError(
                    f"HTTP Method '{request.method}' not allowed. Allowed are " + ",".join(allowed),
                    status=405,
                    code="METHOD_NOT_ALLOWED",
                )
            if auth and not self.budget.spend():
                raise TerminalApiError(
                    "TotalRequests Limit exceeded.", status=403, code="REQUEST_LIMIT_EXCEEDED"
                )
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.status or 500, exc.code or "UNKNOWN_EXCEPTION", exc.message)


def _authorised(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() in ("bearer", "oauth") and bool(token.strip())
