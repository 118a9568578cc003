"""Associations (v3 parameter and v4 endpoints), owners, pipelines and properties."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

Refusal = Callable[..., tuple[int, dict[str, Any]]]
Factory = Callable[..., Any]
"""The `hubspot` fixture: starts a fake HubSpot (see conftest.py)."""


def world_links(world_dir: Path, at_ms: int) -> set[tuple[str, str, str, str]]:
    links = set()
    for row in pq.read_table(world_dir / "hubspot" / "associations.parquet").to_pylist():
        created = int(row["created_at"].timestamp() * 1000)
        removed = row["removed_at"]
        if created <= at_ms and (removed is None or at_ms < int(removed.timestamp() * 1000)):
            links.add((row["from_type"], row["from_id"], row["to_type"], row["to_id"]))
    return links


def test_v3_associations_match_the_worlds_at_the_clock(hubspot: Factory, world_dir: Path) -> None:
    running = hubspot()
    expected = world_links(world_dir, running.clock.now_ms())
    deals = running.client().crm.deals.get_all(associations=["contacts", "companies"])
    served = {
        ("deals", deal.id, kind, item.id)
        for deal in deals
        for kind, collection in (deal.associations or {}).items()
        for item in collection.results
    }
    assert served == {link for link in expected if link[0] == "deals"}
    assert served  # the world's deals have contacts and companies


def test_v4_associations_read_create_and_remove(hubspot: Factory, refused: Refusal) -> None:
    client = hubspot().client()
    v4 = client.crm.associations.v4.basic_api
    contact = client.crm.contacts.basic_api.create({"properties": {"email": "v4@example.com"}})
    company = client.crm.companies.basic_api.get_page(limit=1).results[0]
    assert v4.get_page("contacts", contact.id, "companies").results == []
    made = v4.create_default("contacts", contact.id, "companies", company.id)
    assert {r.association_spec.association_type_id for r in made.results} == {1, 2}
    linked = v4.get_page("contacts", contact.id, "companies").results
    assert [(int(r.to_object_id), r.association_types[0].type_id) for r in linked] == [
        (int(company.id), 1)
    ]
    back = v4.get_page("companies", company.id, "contacts").results
    assert int(contact.id) in {int(r.to_object_id) for r in back}
    v4.archive("contacts", contact.id, "companies", company.id)
    assert v4.get_page("contacts", contact.id, "companies").results == []
    labelled = v4.create(
        "deals",
        client.crm.deals.basic_api.get_page(limit=1).results[0].id,
        "companies",
        company.id,
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}],
    )
    assert labelled.to_object_id == company.id
    status, _ = refused(v4.create_default, "contacts", "1", "companies", company.id)
    assert status == 404
    batch = client.crm.associations.v4.batch_api
    made = batch.create_default(
        "contacts",
        "companies",
        {"inputs": [{"from": {"id": contact.id}, "to": {"id": company.id}}]},
    )
    assert [r.to.id for r in made.results] == [company.id]
    read = batch.get_page("contacts", "companies", {"inputs": [{"id": contact.id}, {"id": "1"}]})
    assert [(r._from.id, [int(t.to_object_id) for t in r.to]) for r in read.results] == [
        (contact.id, [int(company.id)])
    ]
    assert read.num_errors == 1


def test_owners_pipelines_and_properties(
    hubspot: Factory, world_dir: Path, refused: Refusal
) -> None:
    client = hubspot().client()
    owners = client.crm.owners.owners_api.get_page(limit=5)
    assert len(owners.results) == 5 and owners.paging.next.after == "5"
    rest = client.crm.owners.owners_api.get_page(limit=100, after=owners.paging.next.after)
    world_owners = pq.read_table(world_dir / "hubspot" / "owners.parquet").column("id")
    assert sorted(o.id for o in [*owners.results, *rest.results]) == sorted(
        world_owners.to_pylist()
    )
    one = client.crm.owners.owners_api.get_page(email=owners.results[0].email).results
    assert [o.id for o in one] == [owners.results[0].id]
    pipelines = client.crm.pipelines.pipelines_api.get_all("deals").results
    assert [p.id for p in pipelines] == ["default"]
    assert pipelines[0].stages[-1].id == "closedlost"
    names = {p.name for p in client.crm.properties.core_api.get_all("contacts").results}
    assert {"email", "firstname", "lifecyclestage", "phone"} <= names
    stage = client.crm.properties.core_api.get_by_name("deals", "dealstage")
    assert stage.type == "enumeration" and "closedwon" in {o.value for o in stage.options}
    created = client.crm.properties.core_api.create(
        "contacts",
        {
            "name": "mrr",
            "label": "MRR",
            "type": "number",
            "fieldType": "number",
            "groupName": "contactinformation",
        },
    )
    assert created.name == "mrr" and not created.has_unique_value
    status, _ = refused(
        client.crm.properties.core_api.create,
        "contacts",
        {
            "name": "mrr",
            "label": "MRR",
            "type": "number",
            "fieldType": "number",
            "groupName": "contactinformation",
        },
    )
    assert status == 409
    contact = client.crm.contacts.basic_api.create(
        {"properties": {"email": "m@example.com", "mrr": "12.5"}}
    )
    assert client.crm.contacts.basic_api.get_by_id(contact.id, properties=["mrr"]).properties == {
        "mrr": "12.5"
    }
    status, body = refused(
        client.crm.contacts.basic_api.update, contact.id, {"properties": {"mrr": "lots"}}
    )
    assert status == 400 and body["errors"][0]["code"] == "INVALID_DECIMAL"
