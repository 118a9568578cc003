"""The fake Stripe's own sandbox routes (no API key, exempt from the fault profile):

- ``GET /_sandbox/stripe/webhooks``: delivery counts (``pending``, ``delivered``, ``failed``,
  ``dropped``, ``attempts``), in total and per endpoint, after queuing every world event the
  clock has reached. Tests poll it until ``pending`` is 0.
- ``POST /_sandbox/stripe/webhook_endpoints/{id}/roll``: a new signing secret; the old one
  keeps signing too (a second ``v1``) for ``secret_roll_overlap_s`` or ``{"expires_in": s}``.
- ``GET`` / ``POST /_sandbox/stripe/config``: the `StripeFakeSettings` (partial updates).
- ``POST /_sandbox/stripe/fail_writes`` ``{"count": n}``: the next n POSTs fail with a 500
  after validation, a result an ``Idempotency-Key`` then replays.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from revstack.sandbox.fakes.control import json_object
from revstack.sandbox.fakes.stripe.http import Api
from revstack.sandbox.fakes.stripe.settings import StripeFakeSettings
from revstack.sandbox.fakes.stripe.webhooks import WebhookDispatcher

PREFIX = "/_sandbox/stripe"


def control_routes(
    dispatcher: WebhookDispatcher, settings: StripeFakeSettings, api: Api
) -> list[Route]:
    async def webhooks(request: Request) -> JSONResponse:
        return JSONResponse(dispatcher.status())

    async def roll(request: Request) -> JSONResponse:
        endpoint = dispatcher.endpoints.get(request.path_params["id"])
        if endpoint is None:
            return JSONResponse({"error": "no such webhook endpoint"}, status_code=404)
        try:
            data = await json_object(request)
            overlap = float(data.get("expires_in", settings.secret_roll_overlap_s))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        secret = endpoint.roll(overlap)
        return JSONResponse({"id": endpoint.id, "secret": secret})

    async def get_config(request: Request) -> JSONResponse:
        return JSONResponse(settings.model_dump())

    async def set_config(request: Request) -> JSONResponse:
        try:
            data = await json_object(request)
            unknown = set(data) - set(StripeFakeSettings.model_fields)
            if unknown:
                raise ValueError(f"unknown setting(s): {sorted(unknown)}")
            merged = StripeFakeSettings.model_validate({**settings.model_dump(), **data})
        except ValidationError as exc:
            return JSONResponse({"error": exc.errors(include_url=False)}, status_code=400)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        for name in data:
            setattr(settings, name, getattr(merged, name))
        return JSONResponse(settings.model_dump())

    async def fail_writes(request: Request) -> JSONResponse:
        try:
            count = int((await json_object(request)).get("count", 1))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        api.fail_writes = max(count, 0)
        return JSONResponse({"fail_writes": api.fail_writes})

    return [
        Route(f"{PREFIX}/webhooks", webhooks, methods=["GET"]),
        Route(f"{PREFIX}/webhook_endpoints/{{id}}/roll", roll, methods=["POST"]),
        Route(f"{PREFIX}/config", get_config, methods=["GET"]),
        Route(f"{PREFIX}/config", set_config, methods=["POST"]),
        Route(f"{PREFIX}/fail_writes", fail_writes, methods=["POST"]),
    ]
