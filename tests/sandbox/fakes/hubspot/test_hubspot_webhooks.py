"""Webhooks v3: world changes and API writes become signed, batched deliveries, retried after
receiver failures, and disturbed reproducibly by the fault profile."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from hubspot.utils.signature import Signature

from revstack.sandbox.fakes.faults import FaultProfile
from revstack.sandbox.fakes.server import world_period

Factory = Callable[..., Any]
"""The `hubspot` fixture: starts a fake HubSpot (see conftest.py)."""

SECRET = "app-client-secret"
SUBSCRIPTIONS = [
    {"event_type": "contact.creation"},
    {"event_type": "contact.deletion"},
    {"event_type": "contact.restore"},
    {"event_type": "contact.merge"},
    {"event_type": "contact.propertyChange", "property_name": "email"},
    {"event_type": "contact.propertyChange", "property_name": "phone"},
    {"event_type": "contact.propertyChange", "property_name": "lifecyclestage"},
    {"event_type": "company.creation"},
    {"event_type": "company.propertyChange", "property_name": "lifecyclestage"},
    {"event_type": "deal.propertyChange", "property_name": "dealstage"},
]
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}


def expected_events(world_dir: Path, after_ms: int, upto_ms: int) -> Counter[tuple[Any, ...]]:
    """What the subscriptions should report for world versions in (after, upto], from the
    world's files alone."""
    wanted = {(s["event_type"], s.get("property_name")) for s in SUBSCRIPTIONS}
    out: Counter[tuple[Any, ...]] = Counter()
    for kind, singular in SINGULAR.items():
        rows = pq.read_table(world_dir / "hubspot" / f"{kind}.parquet").to_pylist()
        rows.sort(key=lambda r: (r["id"], r["version"]))
        previous: dict[str, Any] = {}
        for row in rows:
            t = int(row["updated_at"].timestamp() * 1000)
            before = previous.get(row["id"])
            previous[row["id"]] = row
            if not after_ms < t <= upto_ms:
                continue
            props, changed = json.loads(row["properties"]), json.loads(row["changed"])
            if before is None:
                actions = ["creation", "propertyChange"]
            elif row["merged_into"]:
                actions = ["merge"]
            elif row["archived"] and not before["archived"]:
                actions = ["deletion"]
            elif before["archived"] and not row["archived"]:
                actions = ["restore"]
            else:
                actions = ["propertyChange"]
            for action in actions:
                kind_type = f"{singular}.{action}"
                if action != "propertyChange":
                    if (kind_type, None) in wanted:
                        object_id = row["merged_into"] if action == "merge" else row["id"]
                        out[(kind_type, int(object_id), None, None, row["change_source"], t)] += 1
                    continue
                for name in changed:
                    if (kind_type, name) in wanted:
                        out[
                            (
                                kind_type,
                                int(row["id"]),
                                name,
                                props.get(name, ""),
                                row["change_source"],
                                t,
                            )
                        ] += 1
    return out


def delivered(receiver: Any) -> list[dict[str, Any]]:
    return [event for request in receiver.requests for event in json.loads(request.body)]


def key(event: dict[str, Any]) -> tuple[Any, ...]:
    return (
        event["subscriptionType"],
        event["objectId"],
        event.get("propertyName"),
        event.get("propertyValue"),
        event["changeSource"],
        event["occurredAt"],
    )


def test_world_changes_arrive_signed_and_batched(
    hubspot: Factory, receiver: Any, world_dir: Path
) -> None:
    _, end = world_period(world_dir)
    start = end - 30 * 86_400
    running = hubspot(at=start)
    config = running.webhooks(
        target_url=receiver.url,
        client_secret=SECRET,
        subscriptions=SUBSCRIPTIONS,
        app_id=424242,
        portal_id=777,
    )
    assert [s["id"] for s in config["subscriptions"]] == list(range(1, len(SUBSCRIPTIONS) + 1))
    running.clock.set(end)
    status = running.wait_for_webhooks()
    expected = expected_events(world_dir, start * 1000, end * 1000)
    events = delivered(receiver)
    assert Counter(key(e) for e in events) == expected
    assert status["delivered"] == len(events) == sum(expected.values()) > 100
    assert {e["changeSource"] for e in events} >= {"CRM_UI", "AUTOMATION", "INTEGRATION"}
    assert max(len(json.loads(r.body)) for r in receiver.requests) == 100  # batched
    assert len({e["eventId"] for e in events}) == len(events)
    for event in events:
        assert (event["portalId"], event["appId"], event["attemptNumber"]) == (777, 424242, 0)
    for request in receiver.requests:
        assert request.path == "/hooks/hubspot?tenant=1"
        assert Signature.is_valid(
            signature=request.headers["X-HubSpot-Signature-v3"],
            client_secret=SECRET,
            request_body=request.body.decode(),
            http_uri=receiver.url,
            http_method="POST",
            signature_version="v3",
            timestamp=request.headers["X-HubSpot-Request-Timestamp"],
        )
    assert not Signature.is_valid(
        signature=receiver.requests[0].headers["X-HubSpot-Signature-v3"],
        client_secret="another-secret",
        request_body=receiver.requests[0].body.decode(),
        http_uri=receiver.url,
        signature_version="v3",
        timestamp=receiver.requests[0].headers["X-HubSpot-Request-Timestamp"],
    )
    merges = [e for e in events if e["subscriptionType"] == "contact.merge"]
    for merge in merges:
        assert merge["primaryObjectId"] == merge["objectId"]
        assert merge["objectId"] not in merge["mergedObjectIds"]


def test_a_running_clock_is_followed(hubspot: Factory, receiver: Any, world_dir: Path) -> None:
    _, end = world_period(world_dir)
    start = end - 20 * 86_400
    running = hubspot(at=start)
    running.webhooks(target_url=receiver.url, client_secret=SECRET, subscriptions=SUBSCRIPTIONS)
    running.clock.set(start, speed=10 * 86_400)  # ten days a second
    deadline = time.monotonic() + 5
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.requests  # polled: nothing moved the clock since it started running
    running.clock.set(end, speed=0)
    running.wait_for_webhooks()
    expected = expected_events(world_dir, start * 1000, end * 1000)
    assert Counter(key(e) for e in delivered(receiver)) == expected


def test_api_writes_notify_at_once_as_the_integration(hubspot: Factory, receiver: Any) -> None:
    running = hubspot()
    running.webhooks(target_url=receiver.url, client_secret=SECRET, subscriptions=SUBSCRIPTIONS)
    app_id = str(running.fake.settings.app_id)
    contacts = running.client().crm.contacts.basic_api
    created = contacts.create({"properties": {"email": "echo@example.com", "phone": "+1 555 0100"}})
    contacts.update(created.id, {"properties": {"phone": "+1 555 0199", "jobtitle": "CTO"}})
    contacts.archive(created.id)
    running.wait_for_webhooks()
    events = [e for e in delivered(receiver) if e["objectId"] == int(created.id)]
    assert [
        (e["subscriptionType"], e.get("propertyName"), e.get("propertyValue")) for e in events
    ] == [
        ("contact.creation", None, None),
        ("contact.propertyChange", "email", "echo@example.com"),
        ("contact.propertyChange", "phone", "+1 555 0100"),
        ("contact.propertyChange", "phone", "+1 555 0199"),
        ("contact.deletion", None, None),
    ]
    assert {(e["changeSource"], e["sourceId"]) for e in events} == {("INTEGRATION", app_id)}
    assert {e["occurredAt"] for e in events} == {running.clock.now_ms()}


def test_failed_deliveries_are_retried_with_backoff(hubspot: Factory, receiver: Any) -> None:
    running = hubspot()
    running.webhooks(
        target_url=receiver.url,
        client_secret=SECRET,
        subscriptions=SUBSCRIPTIONS,
        retry_base_s=0.05,
        max_retries=3,
    )
    contacts = running.client().crm.contacts.basic_api
    receiver.replies = [(500, {}), (503, {})]
    contacts.create({"properties": {"email": "retry@example.com"}})
    status = running.wait_for_webhooks()
    attempts = [
        (json.loads(r.body)[0]["eventId"], json.loads(r.body)[0]["attemptNumber"])
        for r in receiver.requests
    ]
    assert [a for _, a in attempts] == [0, 1, 2] and len({i for i, _ in attempts}) == 1
    assert [entry["status"] for entry in status["log"]] == [500, 503, 200]
    assert (status["delivered"], status["failed"]) == (2, 0)
    receiver.requests.clear()
    receiver.replies = [(500, {})] * 4
    contacts.create({"properties": {"email": "never@example.com"}})
    status = running.wait_for_webhooks()
    assert len(receiver.requests) == 4 and status["failed"] == 2  # 1 try + 3 retries
    receiver.requests.clear()
    receiver.replies = [(400, {})]
    contacts.create({"properties": {"email": "rejected@example.com"}})
    status = running.wait_for_webhooks()
    assert len(receiver.requests) == 1 and status["failed"] == 4  # a 4xx is not retried


def test_a_429_is_retried_after_its_retry_after(hubspot: Factory, receiver: Any) -> None:
    running = hubspot()
    running.webhooks(
        target_url=receiver.url, client_secret=SECRET, subscriptions=SUBSCRIPTIONS, retry_base_s=30
    )
    receiver.replies = [(429, {"Retry-After": "1"})]
    running.client().crm.contacts.basic_api.create({"properties": {"email": "slow@example.com"}})
    started = time.monotonic()
    status = running.wait_for_webhooks(timeout=5)
    assert 0.9 <= time.monotonic() - started < 5
    assert [entry["status"] for entry in status["log"]] == [429, 200]


def _faulty_run(hubspot: Factory, receiver: Any, world_dir: Path, seed: int) -> list[int]:
    _, end = world_period(world_dir)
    profile = FaultProfile(
        seed=seed, webhook_duplicate_rate=0.1, webhook_reorder_rate=0.1, webhook_drop_rate=0.05
    )
    running = hubspot(at=end - 20 * 86_400, profile=profile)
    receiver.requests.clear()
    running.webhooks(
        target_url=receiver.url, client_secret=SECRET, subscriptions=SUBSCRIPTIONS, batch_window_s=0
    )
    running.clock.set(end)
    status = running.wait_for_webhooks()
    assert status["dropped"] > 0 and status["duplicated"] > 0
    return [event["eventId"] for event in delivered(receiver)]


def test_webhook_faults_replay_under_a_seed(
    hubspot: Factory, receiver: Any, world_dir: Path
) -> None:
    first = _faulty_run(hubspot, receiver, world_dir, seed=11)
    second = _faulty_run(hubspot, receiver, world_dir, seed=11)
    other = _faulty_run(hubspot, receiver, world_dir, seed=12)
    assert first == second
    assert first != other
    assert len(first) != len(set(first))  # duplicates
    assert first != sorted(first)  # reordered
    assert set(first) < set(range(1, max(first) + 1))  # some dropped
