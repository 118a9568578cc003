"""The fake Salesforce's own control endpoints (not part of Salesforce's API).

- ``GET /_sandbox/salesforce/limits``: ``{"daily_api_requests", "used", "remaining", "day"}``.
- ``POST /_sandbox/salesforce/limits`` with ``{"daily_api_requests": N}`` and/or
  ``{"used": N}``: change today's budget or what is already spent.
- ``GET /_sandbox/salesforce/records``: per object, records live, in the recycle bin and
  injected, as of the clock.
- ``POST /_sandbox/salesforce/records`` with ``{"object": "OpportunityLineItem", "count": N}``
  and optionally ``"from"``/``"to"`` (Unix seconds or ISO-8601; default: the clock): add N
  copies of the object's live records with new Ids, created at times spread over
  ``[from, to]``.
"""

from __future__ import annotations

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from revstack.errors import ApiError
from revstack.sandbox.fakes.control import json_object, parse_moment
from revstack.sandbox.fakes.salesforce.inject import inject
from revstack.sandbox.fakes.salesforce.service import SalesforceService
from revstack.sandbox.fakes.salesforce.store import DELETE, PURGE

PREFIX = "/_sandbox/salesforce"


def _counts(service: SalesforceService) -> dict[str, dict[str, int]]:
    now = service.now_ms()
    store = service.store
    counts = {}
    for sobject in store.schema.objects:
        versions = store.versions(sobject)
        current = versions.current(now)
        ops = versions.op[current]
        counts[sobject] = {
            "live": int(np.count_nonzero((ops != DELETE) & (ops != PURGE))),
            "deleted": int(np.count_nonzero(ops == DELETE)),
            "injected": store.injected(sobject),
        }
    return counts


def salesforce_control_routes(service: SalesforceService) -> list[Route]:
    async def get_limits(request: Request) -> JSONResponse:
        return JSONResponse(service.budget.state())

    async def set_limits(request: Request) -> JSONResponse:
        try:
            data = await json_object(request)
            unknown = set(data) - {"daily_api_requests", "used"}
            if unknown:
                raise ValueError(f"unknown field(s): {sorted(unknown)}")
            limit, used = data.get("daily_api_requests"), data.get("used")
            for value in (limit, used):
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ValueError("daily_api_requests and used must be integers")
            service.budget.configure(limit, used)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(service.budget.state())

    async def get_records(request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(_counts, service))

    async def add_records(request: Request) -> JSONResponse:
        try:
            data = await json_object(request)
            unknown = set(data) - {"object", "count", "from", "to"}
            if unknown:
                raise ValueError(f"unknown field(s): {sorted(unknown)}")
            schema = service.schema
            sobject = schema.object_name(str(data.get("object", "")))
            if sobject is None:
                raise ValueError(f"no such object: {data.get('object')!r}")
            count = data.get("count")
            if not isinstance(count, int) or isinstance(count, bool):
                raise ValueError("count must be an integer")
            now = service.now_ms()
            from_ms = int(parse_moment(data["from"]) * 1000) if "from" in data else now
            to_ms = int(parse_moment(data["to"]) * 1000) if "to" in data else from_ms
            prefix = schema.objects[sobject]["keyPrefix"]
            total = await run_in_threadpool(
                inject, service.store, sobject, count, prefix, from_ms, to_ms, now
            )
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except ApiError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        return JSONResponse({"object": sobject, "added": count, "injected": total})

    return [
        Route(PREFIX + "/limits", get_limits, methods=["GET"]),
        Route(PREFIX + "/limits", set_limits, methods=["POST"]),
        Route(PREFIX + "/records", get_records, methods=["GET"]),
        Route(PREFIX + "/records", add_records, methods=["POST"]),
    ]
