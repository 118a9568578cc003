"""The CRM v3 object endpoints, driven through hubspot-api-client only."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from revstack.sandbox.fakes.server import world_period

KINDS = ("contacts", "companies", "deals")
Refusal = Callable[..., tuple[int, dict[str, Any]]]
Factory = Callable[..., Any]
"""The `hubspot` fixture: starts a fake HubSpot (see conftest.py)."""


def world_state(world_dir: Path, kind: str, at_ms: int) -> dict[str, dict[str, Any]]:
    """Each record's latest version at `at_ms`, read straight from the world's files."""
    state: dict[str, dict[str, Any]] = {}
    for row in pq.read_table(world_dir / "hubspot" / f"{kind}.parquet").to_pylist():
        updated = int(row["updated_at"].timestamp() * 1000)
        if updated > at_ms:
            continue
        current = state.get(row["id"])
        if current is None or row["version"] > current["version"]:
            state[row["id"]] = {
                **row,
                "updated_ms": updated,
                "props": json.loads(row["properties"]),
            }
    return state


def api(client: Any, kind: str) -> Any:
    return getattr(client.crm, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_paging_at_the_worlds_end_returns_exactly_the_worlds_records(
    hubspot: Factory, world_dir: Path, kind: str
) -> None:
    running = hubspot(at=world_period(world_dir)[1])
    expected = world_state(world_dir, kind, running.clock.now_ms())
    names = sorted({name for row in expected.values() for name in row["props"]})
    records = api(running.client(), kind).get_all(properties=names)
    live = {i: r for i, r in expected.items() if not r["archived"]}
    assert [r.id for r in records] == sorted(live, key=int)
    for record in records:
        row = live[record.id]
        assert record.properties == {name: row["props"].get(name) for name in names}
        assert int(record.updated_at.timestamp() * 1000) == row["updated_ms"]
        assert not record.archived
    archived = api(running.client(), kind).get_all(archived=True)
    gone = {i for i, r in expected.items() if r["archived"] and not r["merged_into"]}
    assert {r.id for r in archived} == gone
    assert all(r.archived and r.archived_at is not None for r in archived)
    if kind == "contacts":
        assert gone  # the world archives some contacts


def test_records_are_served_as_of_the_clock(
    hubspot: Factory, world_dir: Path, refused: Refusal
) -> None:
    start, end = world_period(world_dir)
    at = start + (end - start) // 2
    running = hubspot(at=at)
    expected = world_state(world_dir, "companies", at * 1000)
    client = running.client()
    records = client.crm.companies.get_all(properties=["lifecyclestage", "numberofemployees"])
    assert {r.id for r in records} == {i for i, r in expected.items() if not r["archived"]}
    later = world_state(world_dir, "companies", end * 1000)
    changed = next(
        i
        for i, r in later.items()
        if i in expected
        and not r["archived"]
        and not expected[i]["archived"]
        and r["props"]["lifecyclestage"] != expected[i]["props"]["lifecyclestage"]
    )
    before = client.crm.companies.basic_api.get_by_id(changed, properties=["lifecyclestage"])
    assert before.properties["lifecyclestage"] == expected[changed]["props"]["lifecyclestage"]
    future = next(i for i in later if i not in expected)
    assert refused(client.crm.companies.basic_api.get_by_id, future)[0] == 404
    running.clock.set(end)
    after = client.crm.companies.basic_api.get_by_id(changed, properties=["lifecyclestage"])
    assert after.properties["lifecyclestage"] == later[changed]["props"]["lifecyclestage"]
    assert client.crm.companies.basic_api.get_by_id(future).id == future


def test_properties_repeated_or_comma_joined_and_defaults(
    hubspot: Factory, refused: Refusal
) -> None:
    client = hubspot().client()
    repeated = client.crm.contacts.basic_api.get_page(limit=3, properties=["email", "phone"])
    joined = client.crm.contacts.basic_api.get_page(limit=3, properties=["email,phone"])
    assert [r.properties for r in repeated.results] == [r.properties for r in joined.results]
    assert set(repeated.results[0].properties) == {"email", "phone"}
    default = client.crm.deals.basic_api.get_page(limit=1).results[0]
    assert set(default.properties) == {
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    }
    by_type_id = client.crm.objects.basic_api.get_page("0-1", limit=3, properties=["email"])
    assert [r.properties for r in by_type_id.results] == [
        {"email": r.properties["email"]} for r in repeated.results
    ]
    page = client.crm.contacts.basic_api.get_page(limit=100)
    assert len(page.results) == 100 and page.paging.next.after
    assert refused(client.crm.contacts.basic_api.get_page, limit=101)[0] == 400


def test_create_update_archive_and_a_duplicate_email(hubspot: Factory, refused: Refusal) -> None:
    running = hubspot()
    contacts = running.client().crm.contacts.basic_api
    created = contacts.create(
        {
            "properties": {
                "email": "Ada@Example.com",
                "firstname": "Ada",
                "phone": "+44 20 7946 0000",
            }
        }
    )
    assert created.properties["email"] == "ada@example.com"
    assert created.properties["hs_object_id"] == created.id
    assert created.created_at == created.updated_at
    status, body = refused(contacts.create, {"properties": {"email": "ada@example.com"}})
    assert status == 409
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {created.id}"
    by_email = contacts.get_by_id("ADA@example.com", id_property="email", properties=["firstname"])
    assert by_email.id == created.id and by_email.properties == {"firstname": "Ada"}
    running.clock.advance(60)
    updated = contacts.update(created.id, {"properties": {"firstname": "Augusta", "phone": ""}})
    assert updated.properties["firstname"] == "Augusta" and "phone" not in updated.properties
    assert updated.updated_at > created.updated_at
    history = contacts.get_by_id(created.id, properties_with_history=["firstname"])
    values = [h.value for h in history.properties_with_history["firstname"]]
    sources = {h.source_type for h in history.properties_with_history["firstname"]}
    assert values == ["Augusta", "Ada"] and sources == {"INTEGRATION"}
    contacts.archive(created.id)
    assert refused(contacts.get_by_id, created.id)[0] == 404
    assert contacts.get_by_id(created.id, archived=True).archived
    contacts.archive(created.id)  # archiving again is fine, as in HubSpot
    again = contacts.create({"properties": {"email": "ada@example.com"}})
    assert again.id != created.id  # the archived contact no longer holds the email


@pytest.mark.parametrize(
    ("properties", "code"),
    [
        ({"email": "not-an-email"}, "INVALID_EMAIL"),
        ({"email": "a@b"}, "INVALID_EMAIL"),
        ({"email": "ok@example.com", "phone": "call me"}, "INVALID_PHONE_NUMBER"),
        ({"email": "ok@example.com", "lifecyclestage": "friend"}, "INVALID_OPTION"),
        ({"email": "ok@example.com", "favourite_colour": "blue"}, "PROPERTY_DOESNT_EXIST"),
    ],
    ids=["no-at", "no-tld", "phone", "option", "unknown-property"],
)
def test_invalid_values_are_rejected_like_hubspot(
    hubspot: Factory, properties: dict[str, str], code: str, refused: Refusal
) -> None:
    contacts = hubspot().client().crm.contacts.basic_api
    status, body = refused(contacts.create, {"properties": properties})
    assert status == 400
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid")
    assert [e["code"] for e in body["errors"]] == [code]


def test_a_merged_away_contact_answers_with_its_winner(hubspot: Factory, world_dir: Path) -> None:
    running = hubspot()
    state = world_state(world_dir, "contacts", running.clock.now_ms())
    loser, row = next((i, r) for i, r in state.items() if r["merged_into"])
    found = running.client().crm.contacts.basic_api.get_by_id(loser)
    assert found.id == row["merged_into"]


def test_requests_need_a_bearer_token(hubspot: Factory, refused: Refusal) -> None:
    running = hubspot(access_tokens=["pat-na1-test"])
    status, body = refused(running.client(token=None).crm.contacts.basic_api.get_page)
    assert status == 401 and body["category"] == "INVALID_AUTHENTICATION"
    other = running.client(token="pat-na1-other")
    assert refused(other.crm.contacts.basic_api.get_page)[0] == 401
    page = running.client().crm.contacts.basic_api.get_page(limit=1)
    assert len(page.results) == 1


def test_create_with_associations_and_read_them_back(hubspot: Factory) -> None:
    client = hubspot().client()
    company = client.crm.companies.basic_api.get_page(limit=1).results[0]
    created = client.crm.contacts.basic_api.create(
        {
            "properties": {"email": "grace@example.com"},
            "associations": [
                {
                    "to": {"id": company.id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}],
                }
            ],
        }
    )
    read = client.crm.contacts.basic_api.get_by_id(created.id, associations=["companies"])
    assert [a.id for a in read.associations["companies"].results] == [company.id]
    back = client.crm.companies.basic_api.get_by_id(company.id, associations=["contacts"])
    assert created.id in {a.id for a in back.associations["contacts"].results}
    assert dt.timedelta(0) <= read.updated_at - read.created_at


def test_api_writes_sit_on_top_of_the_worlds_later_changes(
    hubspot: Factory, world_dir: Path
) -> None:
    _, end = world_period(world_dir)
    at = end - 60 * 86_400
    running = hubspot(at=at)
    rows = pq.read_table(world_dir / "hubspot" / "companies.parquet").to_pylist()
    later: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if int(row["updated_at"].timestamp()) > at:
            later.setdefault(row["id"], []).append(row)
    now = world_state(world_dir, "companies", at * 1000)
    candidates = [
        i
        for i, versions in later.items()
        if i in now
        and not now[i]["archived"]
        and all(
            not v["archived"] and "numberofemployees" not in json.loads(v["changed"])
            for v in versions
        )
        and any(json.loads(v["changed"]) for v in versions)
    ]
    edited, archived = candidates[0], candidates[1]
    companies = running.client().crm.companies.basic_api
    companies.update(edited, {"properties": {"numberofemployees": "999"}})
    companies.archive(archived)
    running.clock.set(end)
    final = world_state(world_dir, "companies", end * 1000)
    names = sorted(final[edited]["props"])
    served = companies.get_by_id(edited, properties=names).properties
    assert served == {**final[edited]["props"], "numberofemployees": "999"}
    gone = companies.get_by_id(archived, archived=True, properties=names)
    assert gone.archived and gone.properties == {
        name: now[archived]["props"].get(name) for name in names
    } | {"hs_lastmodifieddate": gone.properties["hs_lastmodifieddate"]}
