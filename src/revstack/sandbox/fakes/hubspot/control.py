"""The fake HubSpot's own control endpoints (no token, no faults):

- ``GET|POST /_sandbox/hubspot/settings``: portal and app ids, accepted tokens, search index
  lag and result cap (POST changes the fields it names).
- ``GET|POST|DELETE /_sandbox/hubspot/webhooks``: the app's webhook target, client secret and
  subscriptions (POST replaces them; events start from the clock's now).
- ``GET /_sandbox/hubspot/webhooks/status``: pending, delivered, failed, dropped and
  duplicated event counts and a log of delivery requests, for tests to wait on.
"""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from revstack.sandbox.fakes.control import json_object
from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.settings import HubSpotFakeSettings
from revstack.sandbox.fakes.hubspot.webhook_events import WebhookConfig


def _problem(exc: ValidationError | ValueError) -> JSONResponse:
    if isinstance(exc, ValidationError):
        return JSONResponse({"error": exc.errors(include_url=False, include_context=False)}, 400)
    return JSONResponse({"error": str(exc)}, 400)


def routes(fake: HubSpotFake) -> list[Route]:
    async def get_settings(request: Request) -> Response:
        return JSONResponse(fake.settings.model_dump(mode="json"))

    async def set_settings(request: Request) -> Response:
        try:
            changes = await json_object(request)
            fake.settings = HubSpotFakeSettings.model_validate(
                {**fake.settings.model_dump(), **changes}
            )
        except (ValidationError, ValueError) as exc:
            return _problem(exc)
        return JSONResponse(fake.settings.model_dump(mode="json"))

    async def get_webhooks(request: Request) -> Response:
        config = fake.webhooks.config
        return JSONResponse(config.model_dump(mode="json") if config else None)

    async def set_webhooks(request: Request) -> Response:
        try:
            config = WebhookConfig.model_validate(await json_object(request))
            ids = {"app_id": config.app_id, "portal_id": config.portal_id}
            ids = {key: value for key, value in ids.items() if value is not None}
            settings = HubSpotFakeSettings.model_validate({**fake.settings.model_dump(), **ids})
        except (ValidationError, ValueError) as exc:
            return _problem(exc)
        fake.settings = settings
        config = fake.webhooks.configure(
            config.model_copy(update={"app_id": settings.app_id, "portal_id": settings.portal_id})
        )
        return JSONResponse(config.model_dump(mode="json"))

    async def delete_webhooks(request: Request) -> Response:
        fake.webhooks.clear()
        return Response(status_code=204)

    async def webhook_status(request: Request) -> Response:
        return JSONResponse(fake.webhooks.status())

    return [
        Route("/_sandbox/hubspot/settings", get_settings, methods=["GET"]),
        Route("/_sandbox/hubspot/settings", set_settings, methods=["POST"]),
        Route("/_sandbox/hubspot/webhooks", get_webhooks, methods=["GET"]),
        Route("/_sandbox/hubspot/webhooks", set_webhooks, methods=["POST"]),
        Route("/_sandbox/hubspot/webhooks", delete_webhooks, methods=["DELETE"]),
        Route("/_sandbox/hubspot/webhooks/status", webhook_status, methods=["GET"]),
    ]
