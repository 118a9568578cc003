"""The fake Stripe API's ASGI app: reads, writes, webhook endpoints and deliveries, and the
sandbox's control routes, behind the fault middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from revstack.sandbox.fakes.app import fake_app
from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import ASGIApp, FaultController
from revstack.sandbox.fakes.stripe.control import control_routes
from revstack.sandbox.fakes.stripe.endpoints import WebhookEndpoints
from revstack.sandbox.fakes.stripe.errors import (
    StripeFaultRenderer,
    StripeRequestError,
    error_response,
    new_request_id,
)
from revstack.sandbox.fakes.stripe.http import Api
from revstack.sandbox.fakes.stripe.idempotency import IdempotencyStore
from revstack.sandbox.fakes.stripe.reads import Reads
from revstack.sandbox.fakes.stripe.settings import StripeFakeSettings
from revstack.sandbox.fakes.stripe.store import StripeStore
from revstack.sandbox.fakes.stripe.webhooks import WebhookDispatcher
from revstack.sandbox.fakes.stripe.world_index import load_world
from revstack.sandbox.fakes.stripe.writes_billing import BillingWrites
from revstack.sandbox.fakes.stripe.writes_catalog import CatalogWrites
from revstack.sandbox.fakes.stripe.writes_charges import ChargeWrites
from revstack.sandbox.fakes.stripe.writes_disputes import DisputeWrites
from revstack.sandbox.fakes.stripe.writes_intents import IntentWrites
from revstack.sandbox.fakes.stripe.writes_invoices import InvoiceWrites
from revstack.sandbox.fakes.stripe.writes_items import ItemWrites
from revstack.sandbox.fakes.stripe.writes_payments import PaymentWrites

_METHODS = ["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]


async def _unrecognized(request: Request) -> Response:
    error = StripeRequestError(
        f"Unrecognized request URL ({request.method}: {request.url.path}). Please see "
        "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        status=404,
    )
    return error_response(error, new_request_id())


def create_app(
    world_dir: Path,
    clock: SandboxClock,
    faults: FaultController,
    *,
    settings: StripeFakeSettings | None = None,
) -> ASGIApp:
    """The fake Stripe API serving the world in `world_dir` as of `clock`."""
    settings = settings or StripeFakeSettings()
    store = StripeStore(load_world(world_dir))
    api = Api(IdempotencyStore(lambda: settings.idempotency_ttl_s))
    dispatcher = WebhookDispatcher(store, clock, faults, settings)
    reads = Reads(store, clock, settings)
    routes: list[BaseRoute] = [
        *control_routes(dispatcher, settings, api),
        *WebhookEndpoints(store, clock, dispatcher).routes(api),
        *reads.routes(api),
        *(
            route
            for writes in (
                CatalogWrites,
                BillingWrites,
                PaymentWrites,
                IntentWrites,
                ChargeWrites,
                InvoiceWrites,
                ItemWrites,
                DisputeWrites,
            )
            for route in writes(store, clock, dispatcher, reads).routes(api)
        ),
        Route("/v1/{path:path}", _unrecognized, methods=_METHODS),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await dispatcher.start()
        try:
            yield
        finally:
            await dispatcher.stop()

    return fake_app(routes, clock, faults, StripeFaultRenderer(), lifespan)
