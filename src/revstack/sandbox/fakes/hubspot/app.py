"""The fake HubSpot API as an ASGI app (see docs/sandbox.md, "Fake HubSpot")."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from revstack.sandbox.fakes.app import fake_app
from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import ASGIApp, FaultController
from revstack.sandbox.fakes.hubspot import (
    associations,
    batch,
    control,
    events,
    metadata,
    objects,
    search,
)
from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.errors import HubSpotFaultRenderer
from revstack.sandbox.fakes.hubspot.http import RateHeaders
from revstack.sandbox.fakes.hubspot.properties import PropertyRegistry
from revstack.sandbox.fakes.hubspot.render import Renderer
from revstack.sandbox.fakes.hubspot.settings import HubSpotFakeSettings
from revstack.sandbox.fakes.hubspot.store import Store
from revstack.sandbox.fakes.hubspot.webhook_delivery import WebhookDispatcher
from revstack.sandbox.fakes.hubspot.world import load_world


def build_fake(
    world_dir: Path,
    clock: SandboxClock,
    faults: FaultController,
    settings: HubSpotFakeSettings | None = None,
) -> HubSpotFake:
    """The fake's state, loaded from a world's ``hubspot/`` files."""
    world = load_world(world_dir)
    holder: list[HubSpotFake] = []

    def current() -> HubSpotFakeSettings:
        return holder[0].settings if holder else (settings or HubSpotFakeSettings())

    store = Store(world, clock, current)
    created = world.pipelines["results"][0]["createdAt"] if world.pipelines["results"] else ""
    registry = PropertyRegistry(world.property_names, world.pipelines, created)
    fake = HubSpotFake(
        clock=clock,
        faults=faults,
        store=store,
        registry=registry,
        render=Renderer(store, registry),
        rate=RateHeaders(faults),
        webhooks=WebhookDispatcher(store, clock, faults, current),
        owners=world.owners,
        pipelines=world.pipelines,
        settings=settings or HubSpotFakeSettings(),
    )
    holder.append(fake)
    clock.on_move(fake.webhooks.on_clock_move)
    return fake


def fake_routes(fake: HubSpotFake) -> list[BaseRoute]:
    return [
        *search.routes(fake),
        *batch.routes(fake),
        *objects.routes(fake),
        *associations.routes(fake),
        *metadata.routes(fake),
        *events.routes(fake),
        *control.routes(fake),
    ]


def app_for(fake: HubSpotFake) -> ASGIApp:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(fake.webhooks.run(), name="hubspot-webhooks")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    renderer = HubSpotFaultRenderer(lambda: fake.settings.send_retry_after)
    return fake_app(fake_routes(fake), fake.clock, fake.faults, renderer, lifespan)


def create_app(
    world_dir: Path,
    clock: SandboxClock,
    faults: FaultController,
    *,
    settings: HubSpotFakeSettings | None = None,
) -> ASGIApp:
    """The fake HubSpot serving `world_dir` as of `clock`, behind `faults`."""
    return app_for(build_fake(world_dir, clock, faults, settings))
