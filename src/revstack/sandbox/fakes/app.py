"""What every fake's ASGI app has in common: control routes, the fault middleware, a lifespan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.control import control_routes
from revstack.sandbox.fakes.faults import ASGIApp, FaultController, FaultMiddleware, FaultRenderer

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[Any]]


def fake_app(
    routes: Sequence[BaseRoute],
    clock: SandboxClock,
    faults: FaultController,
    renderer: FaultRenderer,
    lifespan: Lifespan | None = None,
) -> ASGIApp:
    """A fake API: its routes plus ``/_sandbox`` control routes, behind the fault middleware."""
    app = Starlette(routes=[*control_routes(clock, faults), *routes], lifespan=lifespan)
    return FaultMiddleware(app, faults, renderer)
