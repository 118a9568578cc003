"""Everything one fake HubSpot holds, shared by its endpoints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.routing import Route

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController
from revstack.sandbox.fakes.hubspot.http import Handler, RateHeaders, api_endpoint
from revstack.sandbox.fakes.hubspot.properties import PropertyRegistry
from revstack.sandbox.fakes.hubspot.render import Renderer
from revstack.sandbox.fakes.hubspot.settings import HubSpotFakeSettings
from revstack.sandbox.fakes.hubspot.store import Store
from revstack.sandbox.fakes.hubspot.webhook_delivery import WebhookDispatcher
from revstack.sandbox.world.crm_common import hs_time


@dataclass
class HubSpotFake:
    clock: SandboxClock
    faults: FaultController
    store: Store
    registry: PropertyRegistry
    render: Renderer
    rate: RateHeaders
    webhooks: WebhookDispatcher
    owners: list[dict[str, Any]]
    pipelines: dict[str, Any]
    settings: HubSpotFakeSettings = field(default_factory=HubSpotFakeSettings)
    custom_events: list[dict[str, Any]] = field(default_factory=list)
    event_uuids: set[str] = field(default_factory=set)

    def current_settings(self) -> HubSpotFakeSettings:
        return self.settings

    def render_time(self) -> str:
        """The sandbox clock's now as HubSpot prints times."""
        return hs_time(self.store.now())

    def route(self, path: str, handler: Handler, methods: list[str]) -> Route:
        """A HubSpot API route (bearer token, HubSpot errors, rate-limit headers)."""
        return Route(path, api_endpoint(handler, self.current_settings, self.rate), methods=methods)
