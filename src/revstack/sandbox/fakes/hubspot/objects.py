"""CRM v3 object endpoints: list, read, create, update and archive one record.

- ``GET /crm/v3/objects/{type}``: ``limit`` (<= 100; <= 50 with ``propertiesWithHistory``),
  ``after`` (from ``paging.next.after``), ``properties``, ``propertiesWithHistory``,
  ``associations``, ``archived``.
- ``GET|PATCH|DELETE /crm/v3/objects/{type}/{id}`` (``idProperty`` to address by e.g. email).
- ``POST /crm/v3/objects/{type}``: 201; 409 when a contact's email is taken.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.errors import bad_request, json_response, not_found
from revstack.sandbox.fakes.hubspot.http import (
    bounded_int,
    flag,
    json_body,
    kinds,
    multi,
    object_type,
)
from revstack.sandbox.fakes.hubspot.settings import (
    HISTORY_PAGE_LIMIT_MAX,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
)
from revstack.sandbox.fakes.hubspot.store import Found
from revstack.sandbox.fakes.hubspot.writes import (
    UniqueCheck,
    create,
    create_associations,
    properties_of,
)

BASE = "/crm/v3/objects/{object_type}"


def lookup(
    fake: HubSpotFake, kind: str, record_id: str, id_property: str | None, t: int, archived: bool
) -> Found:
    """The record a path addresses, or 404."""
    if id_property and id_property != "hs_object_id":
        if not fake.registry.exists(kind, id_property):
            raise bad_request(f'Property "{id_property}" does not exist')
        found = fake.store.find(kind, id_property, record_id, t)
    else:
        found = fake.store.get(kind, record_id, t)
    if found is None or found.version.archived != archived:
        raise not_found()
    return found


def routes(fake: HubSpotFake) -> list[Route]:
    store, render = fake.store, fake.render

    async def list_objects(request: Request) -> Response:
        kind = object_type(request)
        with_history = multi(request, "propertiesWithHistory")
        maximum = HISTORY_PAGE_LIMIT_MAX if with_history else PAGE_LIMIT_MAX
        limit = bounded_int(request.query_params.get("limit"), "limit", PAGE_LIMIT_DEFAULT, maximum)
        after_raw = request.query_params.get("after") or "0"
        if not after_raw.isdigit():
            raise bad_request(f"after must be a cursor from paging.next.after, got {after_raw!r}")
        archived = flag(request, "archived")
        properties = multi(request, "properties")
        associations = kinds(request)
        t = store.now()
        results: list[dict[str, Any]] = []
        next_after = None
        for found in store.scan(kind, t, after=int(after_raw)):
            if found.version.archived != archived:
                continue
            if len(results) == limit:
                next_after = found.history.id
                break
            results.append(
                render.obj(
                    kind,
                    found,
                    t,
                    properties=properties,
                    with_history=with_history,
                    associations=associations,
                )
            )
        body: dict[str, Any] = {"results": results}
        if next_after is not None:
            link = f"{request.url.path}?after={next_after}"
            body["paging"] = {"next": {"after": next_after, "link": link}}
        return json_response(body)

    async def get_object(request: Request) -> Response:
        kind = object_type(request)
        t = store.now()
        found = lookup(
            fake,
            kind,
            str(request.path_params["object_id"]),
            request.query_params.get("idProperty"),
            t,
            flag(request, "archived"),
        )
        return json_response(
            render.obj(
                kind,
                found,
                t,
                properties=multi(request, "properties"),
                with_history=multi(request, "propertiesWithHistory"),
                associations=kinds(request),
            )
        )

    async def create_object(request: Request) -> Response:
        kind = object_type(request)
        body = await json_body(request)
        t = store.now()
        props = fake.registry.normalise(kind, properties_of(body))
        pairs = create_associations(store, kind, body.get("associations"), t)
        UniqueCheck(store, fake.registry, kind, t).claim(props)
        found = create(store, kind, props, pairs)
        names = list(found.version.props)
        return json_response(render.obj(kind, found, t, properties=names), 201)

    async def update_object(request: Request) -> Response:
        kind = object_type(request)
        body = await json_body(request)
        t = store.now()
        found = lookup(
            fake,
            kind,
            str(request.path_params["object_id"]),
            request.query_params.get("idProperty"),
            t,
            False,
        )
        changes = fake.registry.normalise(kind, properties_of(body))
        UniqueCheck(store, fake.registry, kind, t).claim(changes, found.history.id)
        updated = store.update(kind, found, changes)
        names = list(updated.version.props)
        return json_response(render.obj(kind, updated, t, properties=names))

    async def archive_object(request: Request) -> Response:
        kind = object_type(request)
        found = store.live(kind, str(request.path_params["object_id"]), store.now())
        if found is not None:
            store.archive(kind, found)
        return Response(status_code=204)

    return [
        fake.route(BASE, list_objects, ["GET"]),
        fake.route(BASE, create_object, ["POST"]),
        fake.route(BASE + "/{object_id}", get_object, ["GET"]),
        fake.route(BASE + "/{object_id}", update_object, ["PATCH"]),
        fake.route(BASE + "/{object_id}", archive_object, ["DELETE"]),
    ]
