"""Batch create, read, update, upsert and archive, driven through hubspot-api-client only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Refusal = Callable[..., tuple[int, dict[str, Any]]]
Factory = Callable[..., Any]
"""The `hubspot` fixture: starts a fake HubSpot (see conftest.py)."""


def contact(n: int, **extra: str) -> dict[str, Any]:
    return {"properties": {"email": f"person{n}@batch.example", "firstname": f"P{n}", **extra}}


def test_one_bad_input_fails_the_whole_batch_without_saying_which(
    hubspot: Factory, refused: Refusal
) -> None:
    batch = hubspot().client().crm.contacts.batch_api
    inputs = [contact(n) for n in range(10)]
    inputs[6] = contact(6, phone="not a phone")
    inputs[3] = {"properties": {"email": "person3-at-batch.example"}}
    status, body = refused(batch.create, {"inputs": inputs})
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert sorted(e["code"] for e in body["errors"]) == ["INVALID_EMAIL", "INVALID_PHONE_NUMBER"]
    assert "person3-at-batch" not in body["message"] and "not a phone" not in body["message"]
    found = batch.read(
        {
            "inputs": [{"id": "person0@batch.example"}],
            "idProperty": "email",
            "properties": ["email"],
            "propertiesWithHistory": [],
        }
    )
    assert found.results == []  # nothing of the failed batch was created
    good = [item for n, item in enumerate(inputs) if n not in (3, 6)]
    created = batch.create({"inputs": good})
    assert created.status == "COMPLETE" and len(created.results) == 8
    assert sorted(r.properties["email"] for r in created.results) == sorted(
        item["properties"]["email"] for item in good
    )


def test_a_taken_email_fails_the_batch_with_409_naming_only_the_first(
    hubspot: Factory, refused: Refusal
) -> None:
    batch = hubspot().client().crm.contacts.batch_api
    first = batch.create({"inputs": [contact(1), contact(2)]})
    ids = {r.properties["email"]: r.id for r in first.results}
    status, body = refused(batch.create, {"inputs": [contact(3), contact(1), contact(2)]})
    assert status == 409 and body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {ids['person1@batch.example']}"
    assert ids["person2@batch.example"] not in body["message"]
    status, _ = refused(batch.create, {"inputs": [contact(4), contact(4)]})
    assert status == 400


def test_more_than_100_inputs_are_refused(hubspot: Factory, refused: Refusal) -> None:
    batch = hubspot().client().crm.contacts.batch_api
    status, body = refused(batch.create, {"inputs": [contact(n) for n in range(101)]})
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    assert len(batch.create({"inputs": [contact(n) for n in range(100)]}).results) == 100


def test_upsert_by_email_creates_or_updates(hubspot: Factory, refused: Refusal) -> None:
    client = hubspot().client()
    batch = client.crm.contacts.batch_api
    existing = client.crm.contacts.basic_api.get_page(limit=1, properties=["email"]).results[0]
    email = existing.properties["email"]
    result = batch.upsert(
        {
            "inputs": [
                {"idProperty": "email", "id": email.upper(), "properties": {"jobtitle": "CFO"}},
                {
                    "idProperty": "email",
                    "id": "new.person@upsert.example",
                    "properties": {"firstname": "New"},
                },
            ]
        }
    )
    by_new = {r.new: r for r in result.results}
    assert by_new[False].id == existing.id and by_new[False].properties["jobtitle"] == "CFO"
    assert by_new[True].properties["email"] == "new.person@upsert.example"
    again = batch.upsert(
        {
            "inputs": [
                {
                    "idProperty": "email",
                    "id": "new.person@upsert.example",
                    "properties": {"firstname": "Renamed"},
                }
            ]
        }
    )
    assert [(r.new, r.id) for r in again.results] == [(False, by_new[True].id)]
    status, _ = refused(
        batch.upsert, {"inputs": [{"idProperty": "firstname", "id": "New", "properties": {}}]}
    )
    assert status == 400  # only unique properties identify records


def test_upsert_by_a_unique_custom_property(hubspot: Factory, refused: Refusal) -> None:
    client = hubspot().client()
    client.crm.properties.core_api.create(
        "contacts",
        {
            "name": "stripe_customer_id",
            "label": "Stripe customer id",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
            "hasUniqueValue": True,
        },
    )
    batch = client.crm.contacts.batch_api
    made = batch.upsert(
        {
            "inputs": [
                {
                    "idProperty": "stripe_customer_id",
                    "id": "cus_A",
                    "properties": {"email": "a@stripe-sync.example"},
                }
            ]
        }
    )
    assert made.results[0].new and made.results[0].properties["stripe_customer_id"] == "cus_A"
    same = batch.upsert(
        {
            "inputs": [
                {
                    "idProperty": "stripe_customer_id",
                    "id": "cus_A",
                    "properties": {"firstname": "A"},
                }
            ]
        }
    )
    assert not same.results[0].new and same.results[0].id == made.results[0].id
    status, body = refused(
        client.crm.contacts.basic_api.create,
        {"properties": {"email": "b@stripe-sync.example", "stripe_customer_id": "cus_A"}},
    )
    assert status == 409 and made.results[0].id in body["message"]


def test_batch_read_update_and_archive(hubspot: Factory, refused: Refusal) -> None:
    client = hubspot().client()
    batch = client.crm.companies.batch_api
    ids = [c.id for c in client.crm.companies.basic_api.get_page(limit=3).results]
    read = batch.read(
        {
            "inputs": [{"id": i} for i in [*ids, "1"]],
            "properties": ["name"],
            "propertiesWithHistory": [],
        }
    )
    assert sorted(r.id for r in read.results) == sorted(ids)
    assert read.num_errors == 1 and read.errors[0].context == {"ids": ["1"]}
    updated = batch.update(
        {"inputs": [{"id": i, "properties": {"industry": "RETAIL"}} for i in ids]}
    )
    assert {r.properties["industry"] for r in updated.results} == {"RETAIL"}
    status, _ = refused(
        batch.update,
        {"inputs": [{"id": ids[0], "properties": {}}, {"id": ids[0], "properties": {}}]},
    )
    assert status == 400
    batch.archive({"inputs": [{"id": i} for i in ids[:2]]})
    remaining = batch.read(
        {"inputs": [{"id": i} for i in ids], "properties": ["name"], "propertiesWithHistory": []}
    )
    assert [r.id for r in remaining.results] == ids[2:]
    archived = batch.read(
        {
            "inputs": [{"id": i} for i in ids[:2]],
            "properties": ["name"],
            "propertiesWithHistory": [],
        },
        archived=True,
    )
    assert sorted(r.id for r in archived.results) == sorted(ids[:2])
