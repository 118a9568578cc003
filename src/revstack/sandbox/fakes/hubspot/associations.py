"""CRM v4 associations, with HubSpot's default (unlabeled) association types only.

- ``GET /crm/v4/objects/{type}/{id}/associations/{toType}``
- ``PUT /crm/v4/objects/{type}/{id}/associations/default/{toType}/{toId}``
- ``PUT|DELETE /crm/v4/objects/{type}/{id}/associations/{toType}/{toId}`` (PUT body: a list of
  ``{associationCategory: HUBSPOT_DEFINED, associationTypeId}``)
- ``POST /crm/v4/associations/{type}/{toType}/batch/read`` and ``.../batch/associate/default``
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
    inputs,
    json_any,
    json_body,
    object_type,
)
from revstack.sandbox.fakes.hubspot.settings import (
    ASSOCIATION_TYPE_IDS,
    ASSOCIATIONS_LIMIT_MAX,
    BATCH_INPUTS_MAX,
    OBJECT_TYPE_IDS,
    SINGULAR,
)
from revstack.sandbox.fakes.hubspot.world import Link

OBJECT = "/crm/v4/objects/{object_type}/{object_id}/associations"
BATCH = "/crm/v4/associations/{object_type}/{to_object_type}/batch"


def _associated(link: Link) -> dict[str, Any]:
    return {
        "toObjectId": int(link.to_id),
        "associationTypes": [
            {"category": "HUBSPOT_DEFINED", "typeId": link.type_id, "label": None}
        ],
    }


def _spec(link: Link) -> dict[str, Any]:
    return {
        "from": {"id": link.from_id},
        "to": {"id": link.to_id},
        "associationSpec": {
            "associationCategory": "HUBSPOT_DEFINED",
            "associationTypeId": link.type_id,
        },
    }


def routes(fake: HubSpotFake) -> list[Route]:
    store = fake.store

    def pair(request: Request) -> tuple[str, str, str, str]:
        kind = object_type(request)
        to_kind = object_type(request, "to_object_type")
        if (kind, to_kind) not in ASSOCIATION_TYPE_IDS:
            raise bad_request(f"{kind} cannot be associated with {to_kind}")
        record_id = str(request.path_params.get("object_id", ""))
        to_id = str(request.path_params.get("to_object_id", ""))
        return kind, record_id, to_kind, to_id

    def existing(kind: str, record_id: str) -> None:
        if store.live(kind, record_id, store.now()) is None:
            raise not_found(f"No {SINGULAR[kind]} with id {record_id}")

    async def list_associations(request: Request) -> Response:
        kind, record_id, to_kind, _ = pair(request)
        existing(kind, record_id)
        limit = bounded_int(
            request.query_params.get("limit"),
            "limit",
            ASSOCIATIONS_LIMIT_MAX,
            ASSOCIATIONS_LIMIT_MAX,
        )
        after = request.query_params.get("after") or "0"
        if not after.isdigit():
            raise bad_request(f"after must be a cursor from paging.next.after, got {after!r}")
        links = [
            link
            for link in store.links_at(kind, record_id, to_kind, store.now())
            if int(link.to_id) >= int(after)
        ]
        body: dict[str, Any] = {"results": [_associated(link) for link in links[:limit]]}
        if len(links) > limit:
            body["paging"] = {"next": {"after": links[limit].to_id}}
        return json_response(body)

    async def associate_default(request: Request) -> Response:
        kind, record_id, to_kind, to_id = pair(request)
        existing(kind, record_id)
        existing(to_kind, to_id)
        made = store.associate(kind, record_id, to_kind, to_id)
        stamp = fake.render_time()
        return json_response(
            {
                "status": "COMPLETE",
                "results": [_spec(link) for link in made],
                "startedAt": stamp,
                "completedAt": stamp,
            }
        )

    async def associate_labels(request: Request) -> Response:
        kind, record_id, to_kind, to_id = pair(request)
        existing(kind, record_id)
        existing(to_kind, to_id)
        specs = await json_any(request)
        if not isinstance(specs, list) or not specs:
            raise bad_request("the body must be a list of {associationCategory, associationTypeId}")
        allowed = ASSOCIATION_TYPE_IDS[(kind, to_kind)]
        for spec in specs:
            if (
                not isinstance(spec, dict)
                or spec.get("associationTypeId") != allowed
                or (spec.get("associationCategory") != "HUBSPOT_DEFINED")
            ):
                raise bad_request(
                    f"only the default association (HUBSPOT_DEFINED {allowed}) exists from "
                    f"{kind} to {to_kind} here"
                )
        store.associate(kind, record_id, to_kind, to_id)
        return json_response(
            {
                "fromObjectTypeId": OBJECT_TYPE_IDS[kind],
                "fromObjectId": record_id,
                "toObjectTypeId": OBJECT_TYPE_IDS[to_kind],
                "toObjectId": to_id,
                "labels": [],
            },
            201,
        )

    async def dissociate(request: Request) -> Response:
        kind, record_id, to_kind, to_id = pair(request)
        store.dissociate(kind, record_id, to_kind, to_id)
        return Response(status_code=204)

    async def batch_read(request: Request) -> Response:
        kind, _, to_kind, _ = pair(request)
        t = store.now()
        results, missing = [], []
        for item in inputs(await json_body(request), 1000):
            record_id = str(item.get("id", ""))
            if store.live(kind, record_id, t) is None:
                missing.append(record_id)
                continue
            links = store.links_at(kind, record_id, to_kind, t)
            if links:
                results.append(
                    {"from": {"id": record_id}, "to": [_associated(link) for link in links]}
                )
        stamp = fake.render_time()
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": stamp,
            "completedAt": stamp,
        }
        if missing:
            body["numErrors"] = len(missing)
            body["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"No {SINGULAR[kind]} with id {record_id}",
                    "context": {"fromObjectId": [record_id]},
                }
                for record_id in missing
            ]
        return json_response(body, 207 if missing else 200)

    async def batch_associate(request: Request) -> Response:
        kind, _, to_kind, _ = pair(request)
        made: list[Link] = []
        items = inputs(await json_body(request), BATCH_INPUTS_MAX)
        for item in items:
            record_id = str((item.get("from") or {}).get("id", ""))
            to_id = str((item.get("to") or {}).get("id", ""))
            existing(kind, record_id)
            existing(to_kind, to_id)
        for item in items:
            made.extend(
                store.associate(kind, str(item["from"]["id"]), to_kind, str(item["to"]["id"]))[:1]
            )
        stamp = fake.render_time()
        return json_response(
            {
                "status": "COMPLETE",
                "results": [_spec(link) for link in made],
                "startedAt": stamp,
                "completedAt": stamp,
            }
        )

    return [
        fake.route(OBJECT + "/{to_object_type}", list_associations, ["GET"]),
        fake.route(OBJECT + "/default/{to_object_type}/{to_object_id}", associate_default, ["PUT"]),
        fake.route(OBJECT + "/{to_object_type}/{to_object_id}", associate_labels, ["PUT"]),
        fake.route(OBJECT + "/{to_object_type}/{to_object_id}", dissociate, ["DELETE"]),
        fake.route(BATCH + "/read", batch_read, ["POST"]),
        fake.route(BATCH + "/associate/default", batch_associate, ["POST"]),
    ]
