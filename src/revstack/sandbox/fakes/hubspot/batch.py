"""CRM v3 batch endpoints: ``POST /crm/v3/objects/{type}/batch/{create|read|update|upsert|
archive}`` with at most 100 ``inputs``.

As in HubSpot, one invalid input fails the whole batch (400 ``VALIDATION_ERROR`` without saying
which input), and a taken email or unique value fails it with 409 naming only the first.
Unknown ids in read and update come back as a 207 with ``errors``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.errors import (
    bad_request,
    invalid_properties,
    json_response,
)
from revstack.sandbox.fakes.hubspot.http import flag, inputs, json_body, object_type, string_list
from revstack.sandbox.fakes.hubspot.settings import BATCH_INPUTS_MAX, SINGULAR
from revstack.sandbox.fakes.hubspot.store import Found
from revstack.sandbox.fakes.hubspot.writes import (
    UniqueCheck,
    create,
    create_associations,
    properties_of,
    unique_names,
)

BASE = "/crm/v3/objects/{object_type}/batch"


def _normalise_all(
    fake: HubSpotFake, kind: str, items: list[dict[str, Any]]
) -> list[dict[str, str]]:
    """Every input's values, or one 400 listing the problems without naming inputs."""
    out: list[dict[str, str]] = []
    problems: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        values, found = fake.registry.check(kind, properties_of(item), batch=True)
        out.append(values)
        for problem in found:
            problems.setdefault((problem["name"], problem["error"]), problem)
    if problems:
        raise invalid_properties(list(problems.values()))
    return out


def _ids(items: list[dict[str, Any]]) -> list[str]:
    ids = []
    for item in items:
        if item.get("id") in (None, ""):
            raise bad_request("Every input needs an id")
        ids.append(str(item["id"]))
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise bad_request(f"Duplicate IDs found in batch input: {duplicates}")
    return ids


def _envelope(
    fake: HubSpotFake, results: list[dict[str, Any]], missing: list[str], kind: str
) -> tuple[dict[str, Any], int]:
    stamp = fake.render_time()
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": stamp,
        "completedAt": stamp,
    }
    if not missing:
        return body, 200
    body["numErrors"] = 1
    body["errors"] = [
        {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {SINGULAR[kind].upper()} objects, they may be "
            "deleted or not exist. Check that ids are valid.",
            "context": {"ids": missing},
        }
    ]
    return body, 207


def routes(fake: HubSpotFake) -> list[Route]:
    store, render, registry = fake.store, fake.render, fake.registry

    def locate(kind: str, record_id: str, id_property: str | None, t: int) -> Found | None:
        if id_property and id_property != "hs_object_id":
            if not registry.exists(kind, id_property):
                raise bad_request(f'Property "{id_property}" does not exist')
            return store.find(kind, id_property, record_id, t)
        return store.live(kind, record_id, t)

    async def batch_read(request: Request) -> Response:
        kind = object_type(request)
        body = await json_body(request)
        items = inputs(body, BATCH_INPUTS_MAX)
        ids = _ids(items)
        properties = string_list(body.get("properties"), "properties")
        with_history = string_list(body.get("propertiesWithHistory"), "propertiesWithHistory")
        id_property = body.get("idProperty")
        archived = flag(request, "archived")
        t = store.now()
        results, missing = [], []
        for record_id in ids:
            if archived:
                found = store.get(kind, record_id, t)
                found = found if found is not None and found.version.archived else None
            else:
                found = locate(kind, record_id, id_property, t)
            if found is None:
                missing.append(record_id)
                continue
            results.append(
                render.obj(kind, found, t, properties=properties, with_history=with_history)
            )
        envelope, status = _envelope(fake, results, missing, kind)
        return json_response(envelope, status)

    async def batch_create(request: Request) -> Response:
        kind = object_type(request)
        items = inputs(await json_body(request), BATCH_INPUTS_MAX)
        values = _normalise_all(fake, kind, items)
        t = store.now()
        pairs = [create_associations(store, kind, item.get("associations"), t) for item in items]
        check = UniqueCheck(store, registry, kind, t)
        for props in values:
            check.claim(props)
        created = [
            create(store, kind, props, links) for props, links in zip(values, pairs, strict=True)
        ]
        results = [render.obj(kind, f, t, properties=list(f.version.props)) for f in created]
        envelope, _ = _envelope(fake, results, [], kind)
        return json_response(envelope, 201)

    async def batch_update(request: Request) -> Response:
        kind = object_type(request)
        items = inputs(await json_body(request), BATCH_INPUTS_MAX)
        ids = _ids(items)
        values = _normalise_all(fake, kind, items)
        t = store.now()
        targets: list[tuple[Found, dict[str, str]]] = []
        missing = []
        for item, record_id, changes in zip(items, ids, values, strict=True):
            found = locate(kind, record_id, item.get("idProperty"), t)
            if found is None:
                missing.append(record_id)
            else:
                targets.append((found, changes))
        check = UniqueCheck(store, registry, kind, t)
        for found, changes in targets:
            check.claim(changes, found.history.id)
        results = []
        for found, changes in targets:
            updated = store.update(kind, found, changes)
            results.append(render.obj(kind, updated, t, properties=list(updated.version.props)))
        envelope, status = _envelope(fake, results, missing, kind)
        return json_response(envelope, status)

    async def batch_upsert(request: Request) -> Response:
        kind = object_type(request)
        items = inputs(await json_body(request), BATCH_INPUTS_MAX)
        ids = _ids(items)
        values = _normalise_all(fake, kind, items)
        t = store.now()
        allowed = {"hs_object_id", *unique_names(registry, kind)}
        plans: list[tuple[Found | None, dict[str, str]]] = []
        for item, record_id, changes in zip(items, ids, values, strict=True):
            id_property = item.get("idProperty") or "hs_object_id"
            if id_property not in allowed:
                raise bad_request(
                    f"idProperty {id_property!r} is not a unique property of {kind}; use one "
                    f"of {sorted(allowed)}"
                )
            found = locate(kind, record_id, id_property, t)
            if found is None and id_property == "hs_object_id":
                raise bad_request(f"No {SINGULAR[kind]} with id {record_id!r} to upsert")
            if found is None:  # created with the id property set to the id
                key = registry.normalise(kind, {id_property: record_id}, batch=True)
                changes = {**changes, **key}
            plans.append((found, changes))
        check = UniqueCheck(store, registry, kind, t)
        for found, changes in plans:
            check.claim(changes, found.history.id if found else None)
        results = []
        for found, changes in plans:
            new = found is None
            done = (
                create(store, kind, changes, [])
                if found is None
                else (store.update(kind, found, changes))
            )
            names = list(done.version.props)
            results.append(render.obj(kind, done, t, properties=names, upsert_new=new))
        envelope, _ = _envelope(fake, results, [], kind)
        return json_response(envelope)

    async def batch_archive(request: Request) -> Response:
        kind = object_type(request)
        ids = _ids(inputs(await json_body(request), BATCH_INPUTS_MAX))
        t = store.now()
        for record_id in ids:
            found = store.live(kind, record_id, t)
            if found is not None:
                store.archive(kind, found)
        return Response(status_code=204)

    return [
        fake.route(BASE + "/read", batch_read, ["POST"]),
        fake.route(BASE + "/create", batch_create, ["POST"]),
        fake.route(BASE + "/update", batch_update, ["POST"]),
        fake.route(BASE + "/upsert", batch_upsert, ["POST"]),
        fake.route(BASE + "/archive", batch_archive, ["POST"]),
    ]
