"""Custom event occurrences: ``POST /events/v3/send`` and ``/events/v3/send/batch`` (204), and
``GET /_sandbox/hubspot/events`` listing what was received.

An occurrence needs ``eventName`` ``pe{portalId}_{name}``, one of ``objectId``, ``email`` or
``utk``, at most 50 ``properties`` with values of at most 50 characters (200 for URL and
referrer properties); ``occurredAt`` defaults to the sandbox clock's now. A ``uuid`` already
received is refused with 409, so a retried send is never counted twice.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.errors import bad_request, conflict, json_response
from revstack.sandbox.fakes.hubspot.http import inputs, json_body
from revstack.sandbox.fakes.hubspot.settings import (
    EVENT_BATCH_MAX,
    EVENT_PROPERTIES_MAX,
    EVENT_URL_VALUE_MAX_CHARS,
    EVENT_VALUE_MAX_CHARS,
)
from revstack.sandbox.fakes.hubspot.values import parse_datetime_ms, valid_email
from revstack.sandbox.world.crm_common import hs_time

_PROPERTY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def check_occurrence(item: dict[str, Any], portal_id: int, now_ms: int) -> dict[str, Any]:
    """One occurrence as stored, or a 400 saying what is wrong with it."""
    name = item.get("eventName")
    prefix = f"pe{portal_id}_"
    if not isinstance(name, str) or not name.startswith(prefix) or len(name) == len(prefix):
        raise bad_request(
            f"eventName must be the event's fully qualified name ({prefix}<name>), got {name!r}"
        )
    object_id, email, utk = item.get("objectId"), item.get("email"), item.get("utk")
    if not (object_id or email or utk):
        raise bad_request("An event occurrence needs an objectId, an email or a utk")
    if email is not None and not (isinstance(email, str) and valid_email(email)):
        raise bad_request(f"Email address {email} is invalid", "INVALID_EMAIL")
    properties = item.get("properties") or {}
    if not isinstance(properties, dict):
        raise bad_request("properties must be an object")
    if len(properties) > EVENT_PROPERTIES_MAX:
        raise bad_request(
            f"An event occurrence has at most {EVENT_PROPERTIES_MAX} properties, got "
            f"{len(properties)}"
        )
    values: dict[str, str] = {}
    for key, raw in properties.items():
        if not _PROPERTY.fullmatch(str(key)):
            raise bad_request(f"Invalid event property name {key!r}")
        value = "" if raw is None else str(raw)
        limit = (
            EVENT_URL_VALUE_MAX_CHARS
            if key in ("hs_url", "hs_referrer")
            else (EVENT_VALUE_MAX_CHARS)
        )
        if len(value) > limit:
            raise bad_request(
                f"The value of event property {key} is {len(value)} characters long; the "
                f"limit is {limit}"
            )
        values[str(key)] = value
    occurred = item.get("occurredAt")
    occurred_ms = now_ms if occurred in (None, "") else parse_datetime_ms(str(occurred))
    if occurred_ms is None:
        raise bad_request(f"occurredAt {occurred!r} is not an ISO-8601 time")
    uuid = item.get("uuid")
    return {
        "eventName": name,
        "objectId": None if object_id is None else str(object_id),
        "email": email,
        "utk": utk,
        "uuid": None if uuid in (None, "") else str(uuid),
        "occurredAt": hs_time(occurred_ms),
        "properties": values,
        "receivedAt": hs_time(now_ms),
    }


def routes(fake: HubSpotFake) -> list[Route]:
    def accept(items: list[dict[str, Any]]) -> None:
        now_ms = fake.store.now()
        portal = fake.settings.portal_id
        occurrences = [check_occurrence(item, portal, now_ms) for item in items]
        seen = set(fake.event_uuids)
        for occurrence in occurrences:
            uuid = occurrence["uuid"]
            if uuid is None:
                continue
            if uuid in seen:
                raise conflict(f"An event occurrence with uuid {uuid} was already received")
            seen.add(uuid)
        fake.event_uuids.update(seen)
        fake.custom_events.extend(occurrences)

    async def send(request: Request) -> Response:
        accept([await json_body(request)])
        return Response(status_code=204)

    async def send_batch(request: Request) -> Response:
        accept(inputs(await json_body(request), EVENT_BATCH_MAX))
        return Response(status_code=204)

    async def received(request: Request) -> Response:
        return json_response({"results": fake.custom_events})

    return [
        fake.route("/events/v3/send", send, ["POST"]),
        fake.route("/events/v3/send/batch", send_batch, ["POST"]),
        Route("/_sandbox/hubspot/events", received, methods=["GET"]),
    ]
