"""The sandbox's own control endpoints, mounted on every fake under ``/_sandbox``.

- ``GET /_sandbox/clock``: ``{"now": <unix s>, "iso": ..., "speed": ..., "end": ...}``.
- ``POST /_sandbox/clock`` with ``{"to": <unix s or ISO-8601>}`` or ``{"advance": <seconds>}``,
  optionally ``"speed"`` (0 freezes the clock, 1.0 is real time).
- ``GET /_sandbox/faults`` and ``POST /_sandbox/faults`` with a fault profile (JSON).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from revstack.sandbox.fakes.clock import ClockError, SandboxClock
from revstack.sandbox.fakes.faults import FaultController, FaultProfile


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def clock_state(clock: SandboxClock) -> dict[str, Any]:
    now = clock.now()
    return {
        "now": now,
        "iso": _iso(now),
        "speed": clock.speed,
        "end": clock.end,
        "end_iso": _iso(clock.end),
    }


def parse_moment(value: Any) -> float:
    """Unix seconds from a number or an ISO-8601 string (naive means UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.timestamp()
    raise ValueError("expected Unix seconds or an ISO-8601 time")


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (empty body: `{}`); `ValueError` otherwise."""
    try:
        data = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def control_routes(clock: SandboxClock, faults: FaultController) -> list[Route]:
    async def get_clock(request: Request) -> JSONResponse:
        return JSONResponse(clock_state(clock))

    async def move_clock(request: Request) -> JSONResponse:
        try:
            data = await json_object(request)
            unknown = set(data) - {"to", "advance", "speed"}
            if unknown:
                raise ValueError(f"unknown field(s): {sorted(unknown)}")
            speed = data.get("speed")
            if "to" in data and "advance" in data:
                raise ValueError("give either 'to' or 'advance', not both")
            speed = None if speed is None else float(speed)
            if "to" in data:
                clock.set(parse_moment(data["to"]), speed=speed)
            elif "advance" in data:
                clock.advance(float(data["advance"]), speed=speed)
            elif speed is not None:
                clock.set_speed(speed)
        except (ValueError, TypeError, ClockError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(clock_state(clock))

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(faults.profile.model_dump(mode="json"))

    async def set_faults(request: Request) -> JSONResponse:
        try:
            profile = FaultProfile.model_validate(await json_object(request))
        except ValidationError as exc:
            return JSONResponse({"error": exc.errors(include_url=False)}, status_code=400)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        faults.configure(profile)
        return JSONResponse(profile.model_dump(mode="json"))

    return [
        Route("/_sandbox/clock", get_clock, methods=["GET"]),
        Route("/_sandbox/clock", move_clock, methods=["POST"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["POST"]),
    ]
