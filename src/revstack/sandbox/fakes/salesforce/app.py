"""The fake Salesforce: REST (query, queryAll, describe, retrieve, updated/deleted, limits) and
Bulk API 2.0 query jobs over the world as of the sandbox clock.

Every API response carries ``Sforce-Limit-Info``; errors are Salesforce's JSON array of
``{"message", "errorCode"}``. See docs/sandbox.md ("Fake Salesforce") for the endpoints, the
SOQL subset and every deliberate difference from the real API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from revstack.sandbox.fakes.app import fake_app
from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import ASGIApp, FaultController
from revstack.sandbox.fakes.salesforce.api import (
    ALL_METHODS,
    Api,
    SalesforceFaultRenderer,
    not_found,
)
from revstack.sandbox.fakes.salesforce.bulk import bulk_routes
from revstack.sandbox.fakes.salesforce.control import salesforce_control_routes
from revstack.sandbox.fakes.salesforce.rest import rest_routes
from revstack.sandbox.fakes.salesforce.rest_query import query_routes
from revstack.sandbox.fakes.salesforce.service import SalesforceService


def create_app(world_dir: Path, clock: SandboxClock, faults: FaultController) -> ASGIApp:
    """The fake Salesforce API for the world in `world_dir`, served as of `clock`."""
    service = SalesforceService(world_dir, clock)
    api = Api(service.budget)

    async def unknown(request: Request) -> Response:
        raise not_found()

    # Order matters: /sobjects/{X}/updated|deleted|describe before /sobjects/{X}/{id}.
    routes: list[BaseRoute] = [
        *salesforce_control_routes(service),
        *query_routes(service, api),
        *bulk_routes(service, api),
        *rest_routes(service, api),
        *api.route("/services/{path:path}", unknown, ALL_METHODS, slash=False),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(lambda: service.store)
        yield

    return fake_app(routes, clock, faults, SalesforceFaultRenderer(service.budget), lifespan)
