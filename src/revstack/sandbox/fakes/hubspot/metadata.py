"""Owners, deal pipelines and property definitions.

- ``GET /crm/v3/owners/`` (``email``, ``limit`` <= 500, ``after``, ``archived``) and
  ``GET /crm/v3/owners/{ownerId}`` (``idProperty=id|userId``)
- ``GET /crm/v3/pipelines/{type}``, ``.../{pipelineId}``, ``.../{pipelineId}/stages``
- ``GET|POST /crm/v3/properties/{type}`` and ``GET /crm/v3/properties/{type}/{name}``
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.errors import bad_request, json_response, not_found
from revstack.sandbox.fakes.hubspot.http import bounded_int, flag, json_body, object_type
from revstack.sandbox.fakes.hubspot.settings import OWNERS_LIMIT_MAX


def routes(fake: HubSpotFake) -> list[Route]:
    async def list_owners(request: Request) -> Response:
        limit = bounded_int(request.query_params.get("limit"), "limit", 100, OWNERS_LIMIT_MAX)
        after = request.query_params.get("after") or "0"
        if not after.isdigit():
            raise bad_request(f"after must be a cursor from paging.next.after, got {after!r}")
        email = (request.query_params.get("email") or "").lower()
        archived = flag(request, "archived")
        owners = [
            owner
            for owner in fake.owners
            if owner["archived"] == archived and (not email or owner["email"].lower() == email)
        ]
        page = owners[int(after) : int(after) + limit]
        body: dict[str, Any] = {"results": page}
        if int(after) + limit < len(owners):
            body["paging"] = {"next": {"after": str(int(after) + limit)}}
        return json_response(body)

    async def get_owner(request: Request) -> Response:
        owner_id = str(request.path_params["owner_id"])
        key = "userId" if request.query_params.get("idProperty") == "userId" else "id"
        for owner in fake.owners:
            if str(owner[key]) == owner_id:
                return json_response(owner)
        raise not_found()

    def pipelines_of(request: Request) -> list[dict[str, Any]]:
        kind = object_type(request)
        found: list[dict[str, Any]] = fake.pipelines["results"] if kind == "deals" else []
        return found

    def pipeline(request: Request) -> dict[str, Any]:
        wanted = str(request.path_params["pipeline_id"])
        for item in pipelines_of(request):
            if item["id"] == wanted:
                return item
        raise not_found(f"Unable to find pipeline {wanted}")

    async def list_pipelines(request: Request) -> Response:
        return json_response({"results": pipelines_of(request)})

    async def get_pipeline(request: Request) -> Response:
        return json_response(pipeline(request))

    async def list_stages(request: Request) -> Response:
        return json_response({"results": pipeline(request)["stages"]})

    async def list_properties(request: Request) -> Response:
        kind = object_type(request)
        if flag(request, "archived"):
            return json_response({"results": []})
        return json_response({"results": fake.registry.all(kind)})

    async def get_property(request: Request) -> Response:
        kind = object_type(request)
        name = str(request.path_params["name"])
        definition = fake.registry.get(kind, name)
        if definition is None:
            raise not_found(f"Unable to find property {name} for object type {kind}")
        return json_response(definition)

    async def create_property(request: Request) -> Response:
        kind = object_type(request)
        body = await json_body(request)
        return json_response(fake.registry.create(kind, body, fake.render_time()), 201)

    return [
        fake.route("/crm/v3/owners", list_owners, ["GET"]),
        fake.route("/crm/v3/owners/", list_owners, ["GET"]),
        fake.route("/crm/v3/owners/{owner_id}", get_owner, ["GET"]),
        fake.route("/crm/v3/pipelines/{object_type}", list_pipelines, ["GET"]),
        fake.route("/crm/v3/pipelines/{object_type}/{pipeline_id}", get_pipeline, ["GET"]),
        fake.route("/crm/v3/pipelines/{object_type}/{pipeline_id}/stages", list_stages, ["GET"]),
        fake.route("/crm/v3/properties/{object_type}", list_properties, ["GET"]),
        fake.route("/crm/v3/properties/{object_type}", create_property, ["POST"]),
        fake.route("/crm/v3/properties/{object_type}/{name}", get_property, ["GET"]),
    ]
