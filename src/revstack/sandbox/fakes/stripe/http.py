"""The request shell around every ``/v1`` handler: API-key auth, parameter decoding,
``Request-Id`` and ``Stripe-Version`` headers, Stripe-shaped errors and idempotent replay.
Handlers are plain functions from a `Call` to (status, JSON bytes)."""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.stripe.errors import (
    StripeRequestError,
    error_response,
    json_response,
    new_request_id,
)
from revstack.sandbox.fakes.stripe.forms import Params, decode, parse_pairs
from revstack.sandbox.fakes.stripe.idempotency import IdempotencyStore, fingerprint

log = logging.getLogger(__name__)

_KEY = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9_]+$")


@dataclass
class Call:
    """One API request, decoded."""

    request: Request
    params: Params
    api_key: str
    request_id: str
    idempotency_key: str | None
    wall: float

    def path(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value


Handler = Callable[[Call], tuple[int, bytes]]


def ok(body: bytes | dict[str, object]) -> tuple[int, bytes]:
    return 200, body if isinstance(body, bytes) else orjson.dumps(body)


def _masked(key: str) -> str:
    return key[:8] + "*" * max(len(key) - 12, 4) + key[-4:] if len(key) > 12 else "****"


def authenticate(request: Request) -> str:
    header = request.headers.get("authorization", "")
    key = ""
    if header.lower().startswith("bearer "):
        key = header[7:].strip()
    elif header.lower().startswith("basic "):
        try:
            key = base64.b64decode(header[6:].strip()).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not header or not key:
        raise StripeRequestError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
            "or we can help at https://support.stripe.com/.",
            status=401,
        )
    if not _KEY.match(key):
        raise StripeRequestError(f"Invalid API Key provided: {_masked(key)}", status=401)
    return key


class Api:
    """Builds ``/v1`` routes that share the idempotency store and the write-failure switch."""

    def __init__(self, idempotency: IdempotencyStore) -> None:
        self.idempotency = idempotency
        self.fail_writes = 0
        """Sandbox switch: the next N POSTs fail with a 500 after validation (saved)."""

    def route(self, path: str, handler: Handler, method: str) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, handler, method)

        return Route(path, endpoint, methods=[method])

    async def _serve(self, request: Request, handler: Handler, method: str) -> Response:
        request_id = new_request_id()
        key: str | None = None
        api_key = ""
        request_fingerprint = ""
        try:
            api_key = authenticate(request)
            if method == "POST":
                pairs = parse_pairs(await request.body())
                key = request.headers.get("idempotency-key") or None
            else:
                pairs = parse_pairs(request.url.query)
            params = Params(decode(pairs))
            if key is not None:
                self.idempotency.check_key(key)
                request_fingerprint = fingerprint(method, request.url.path, pairs)
                saved = self.idempotency.lookup(api_key, key, request_fingerprint)
                if saved is not None:
                    headers = {
                        **saved.headers,
                        "Idempotent-Replayed": "true",
                        "Original-Request": saved.request_id,
                        "Idempotency-Key": key,
                    }
                    return json_response(saved.status, saved.body, request_id, headers)
            call = Call(request, params, api_key, request_id, key, time.time())
            if method == "POST" and self.fail_writes > 0:
                self.fail_writes -= 1
                raise StripeRequestError(
                    "An unknown error occurred while processing the request.",
                    status=500,
                    type="api_error",
                    saved=True,
                    should_retry=False,
                )
            status, body = handler(call)
            extra = {"Idempotency-Key": key} if key else {}
            if key is not None:
                self.idempotency.save(
                    api_key, key, request_fingerprint, status, body, request_id, {}
                )
            return json_response(status, body, request_id, extra)
        except StripeRequestError as exc:
            failure = exc
        except Exception:
            log.exception("fake Stripe failed on %s %s", method, request.url.path)
            failure = StripeRequestError(
                "An unknown error occurred.",
                status=500,
                type="api_error",
                saved=True,
                should_retry=False,
            )
        response = error_response(failure, request_id)
        if key is not None and request_fingerprint and failure.saved:
            extra = {"Stripe-Should-Retry": "false"} if failure.should_retry is False else {}
            self.idempotency.save(
                api_key,
                key,
                request_fingerprint,
                response.status_code,
                bytes(response.body),
                request_id,
                extra,
            )
        return response
