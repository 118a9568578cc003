"""REST metadata endpoints: versions, resources, limits, describeGlobal, describe (with
``If-Modified-Since``), sObject basic information and record retrieval."""

from __future__ import annotations

import email.utils
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.errors import TerminalApiError
from revstack.sandbox.fakes.salesforce.api import Api, json_response, not_found, versions
from revstack.sandbox.fakes.salesforce.render import json_record
from revstack.sandbox.fakes.salesforce.service import SalesforceService
from revstack.sandbox.fakes.salesforce.store import DELETE, PURGE
from revstack.sandbox.world.ids import case_safe_suffix

DATA = "/services/data/v{version}"


def sobject_name(service: SalesforceService, request: Request) -> str:
    """The canonical name of the path's object, or 404 as Salesforce answers.
    (Routes for the object's sub-resources must come before the record route.)"""
    name = service.schema.object_name(request.path_params["sobject"])
    if name is None:
        raise not_found()
    return name


def _not_modified(request: Request, changed_ms: int) -> bool:
    """True when the request's ``If-Modified-Since`` is at or after `changed_ms`."""
    value = request.headers.get("if-modified-since")
    if not value:
        return False
    try:
        since = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return since.tzinfo is not None and since.timestamp() * 1000 >= changed_ms


def _last_modified(changed_ms: int) -> str:
    return email.utils.formatdate(changed_ms / 1000, usegmt=True)


def rest_routes(service: SalesforceService, api: Api) -> list[Route]:
    async def list_versions(request: Request) -> Response:
        return json_response(versions())

    async def resources(request: Request) -> Response:
        base = DATA.format(version=request.path_params["version"])
        names = ("sobjects", "query", "queryAll", "limits", "jobs", "search", "tooling")
        return json_response({name: f"{base}/{name}" for name in names})

    async def limits(request: Request) -> Response:
        return json_response(service.budget.limits())

    async def describe_global(request: Request) -> Response:
        schema = service.schema
        changed = schema.changed_ms(None, service.now_ms())
        if _not_modified(request, changed):
            return Response(status_code=304)
        version = request.path_params["version"]
        body = {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [schema.global_entry(name, version) for name in schema.objects],
        }
        response = json_response(body)
        response.headers["Last-Modified"] = _last_modified(changed)
        return response

    async def basic_info(request: Request) -> Response:
        sobject = sobject_name(service, request)
        entry = service.schema.global_entry(sobject, request.path_params["version"])
        return json_response({"objectDescribe": entry, "recentItems": []})

    async def describe(request: Request) -> Response:
        sobject = sobject_name(service, request)
        now = service.now_ms()
        changed = service.schema.changed_ms(sobject, now)
        if _not_modified(request, changed):
            return Response(status_code=304)
        body = service.schema.describe(sobject, now, request.path_params["version"])
        response = json_response(body)
        response.headers["Last-Modified"] = _last_modified(changed)
        return response

    async def retrieve(request: Request) -> Response:
        sobject = sobject_name(service, request)
        record_id = request.path_params["record_id"]
        body = await run_in_threadpool(
            _retrieve,
            service,
            sobject,
            record_id,
            request.query_params.get("fields"),
            request.path_params["version"],
        )
        return json_response(body)

    return [
        *api.route("/services/data", list_versions, auth=False),
        *api.route(DATA, resources),
        *api.route(DATA + "/limits", limits),
        *api.route(DATA + "/sobjects", describe_global),
        *api.route(DATA + "/sobjects/{sobject}", basic_info),
        *api.route(DATA + "/sobjects/{sobject}/describe", describe),
        *api.route(DATA + "/sobjects/{sobject}/{record_id}", retrieve),
    ]


def _retrieve(
    service: SalesforceService, sobject: str, record_id: str, fields: str | None, version: str
) -> dict[str, Any]:
    now = service.now_ms()
    schema = service.schema
    served = schema.fields(sobject, now)
    if fields:
        by_name = {f.name.lower(): f for f in served}
        chosen = []
        for name in (part.strip() for part in fields.split(",")):
            field = by_name.get(name.lower())
            if field is None:
                raise TerminalApiError(
                    f"No such column '{name}' on sobject of type {sobject}",
                    status=400,
                    code="INVALID_FIELD",
                )
            chosen.append(field)
        served = chosen
    if len(record_id) == 15:
        record_id += case_safe_suffix(record_id)
    versions = service.store.versions(sobject)
    row = versions.find(record_id, now)
    if row is None or int(versions.op[row]) == PURGE:
        raise not_found()
    if int(versions.op[row]) == DELETE:
        raise TerminalApiError("entity is deleted", status=404, code="ENTITY_IS_DELETED")
    return json_record(versions.table, row, served, sobject, version)
