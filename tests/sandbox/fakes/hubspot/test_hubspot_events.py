"""Custom event occurrences (``/events/v3/send``) through hubspot-api-client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

Refusal = Callable[..., tuple[int, dict[str, Any]]]
Factory = Callable[..., Any]
"""The `hubspot` fixture: starts a fake HubSpot (see conftest.py)."""

PORTAL = 24_681_357
EVENT = f"pe{PORTAL}_workspace_usage"


def test_send_and_a_duplicate_uuid(hubspot: Factory, refused: Refusal) -> None:
    running = hubspot(portal_id=PORTAL)
    send = running.client().events.send.basic_api.send
    occurrence = {
        "eventName": EVENT,
        "email": "ines.hansen@agileanalytics.net",
        "occurredAt": dt.datetime(2025, 10, 30, 12, tzinfo=dt.UTC),
        "properties": {"plan": "pro", "seats": "12"},
        "uuid": "5b2ab7a6-0d2f-4a53-9a5e-6d0c1f1f7d11",
    }
    assert send(occurrence) is None  # 204
    status, body = refused(send, occurrence)
    assert status == 409 and body["category"] == "CONFLICT"
    send({"eventName": EVENT, "objectId": "100000"})
    received = running.control.get("/_sandbox/hubspot/events").json()["results"]
    assert [(e["eventName"], e["uuid"], e["objectId"]) for e in received] == [
        (EVENT, occurrence["uuid"], None),
        (EVENT, None, "100000"),
    ]
    assert received[0]["occurredAt"] == "2025-10-30T12:00:00.000Z"
    assert received[0]["properties"] == {"plan": "pro", "seats": "12"}
    assert received[1]["occurredAt"] == received[1]["receivedAt"]  # defaults to the clock


@pytest.mark.parametrize(
    "change",
    [
        {"eventName": "pe999_workspace_usage"},
        {"email": None},
        {"email": "nobody"},
        {"properties": {f"p{n}": "x" for n in range(51)}},
        {"properties": {"note": "x" * 51}},
        {"properties": {"Bad-Name": "x"}},
        {"occurredAt": "yesterday"},
    ],
    ids=[
        "other-portal",
        "no-identity",
        "bad-email",
        "51-properties",
        "long-value",
        "bad-name",
        "bad-time",
    ],
)
def test_invalid_occurrences_are_refused(
    hubspot: Factory, change: dict[str, Any], refused: Refusal
) -> None:
    running = hubspot(portal_id=PORTAL)
    occurrence = {"eventName": EVENT, "email": "a@example.com", **change}
    status, body = refused(running.client().events.send.basic_api.send, occurrence)
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert running.control.get("/_sandbox/hubspot/events").json()["results"] == []


def test_batch_send_is_all_or_nothing(hubspot: Factory, refused: Refusal) -> None:
    running = hubspot(portal_id=PORTAL)
    batch = running.client().events.send.batch_api.send
    inputs = [
        {"eventName": EVENT, "objectId": str(100_000 + n), "uuid": f"u-{n}"} for n in range(5)
    ]
    status, _ = refused(batch, {"inputs": [*inputs, {**inputs[0]}]})
    assert status == 409
    assert running.control.get("/_sandbox/hubspot/events").json()["results"] == []
    batch({"inputs": inputs})
    received = running.control.get("/_sandbox/hubspot/events").json()["results"]
    assert [e["uuid"] for e in received] == [f"u-{n}" for n in range(5)]
