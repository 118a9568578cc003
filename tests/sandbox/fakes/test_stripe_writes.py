"""Writes through the fake Stripe API with the official SDK: customers, catalog, subscriptions,
refunds and metadata updates, their events, validation, idempotency and search."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
import stripe

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.stripe.app import create_app
from revstack.sandbox.fakes.stripe.settings import StripeFakeSettings
from revstack.sandbox.fakes.threaded import ServedApp

KEY = "sk_test_revstack"
DAY = 86_400


class Fake:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)

    def events_of(self, request_id: str) -> list[Any]:
        """Events caused by one request, oldest first."""
        page = self.client.v1.events.list({"limit": 100})
        events = [e for e in page.data if e.request and e.request.id == request_id]
        return list(reversed(events))

    def advance(self, seconds: int) -> None:
        httpx.post(f"{self.url}/_sandbox/clock", json={"advance": seconds}).raise_for_status()


def request_id(obj: Any) -> str:
    assert obj.last_response is not None
    return str(obj.last_response.request_id)


@pytest.fixture(scope="module")
def fake(world_dir: Path) -> Iterator[Fake]:
    _, end = world_period(world_dir)
    settings = StripeFakeSettings(search_lag_s=0.5)
    app = create_app(
        world_dir, SandboxClock(end - 10 * DAY, end=end), FaultController(), settings=settings
    )
    with ServedApp(app) as url:
        yield Fake(url)


def usd_monthly_price(client: stripe.StripeClient) -> Any:
    return next(
        p
        for p in client.v1.prices.list({"limit": 100, "active": True}).auto_paging_iter()
        if p.currency == "usd" and p.recurring and p.recurring.interval == "month"
    )


def test_customer_create_update_delete_and_their_events(fake: Fake) -> None:
    client = fake.client
    created = client.v1.customers.create(
        {"email": "ada@example.com", "name": "Ada", "metadata": {"crm": "1", "tier": "a"}},
        {"idempotency_key": "create-ada"},
    )
    assert created.id.startswith("cus_") and created.email == "ada@example.com"
    assert created.metadata.to_dict() == {"crm": "1", "tier": "a"}
    [event] = fake.events_of(request_id(created))
    assert event.type == "customer.created"
    assert event.request.idempotency_key == "create-ada"
    assert event.data.object.id == created.id
    updated = client.v1.customers.update(
        created.id, {"email": "ada@lovelace.dev", "metadata": {"tier": "", "new": "x"}}
    )
    assert updated.metadata.to_dict() == {"crm": "1", "new": "x"}
    [change] = fake.events_of(request_id(updated))
    assert change.type == "customer.updated"
    assert change.data.previous_attributes.to_dict() == {
        "email": "ada@example.com",
        # nested objects narrowed to their changed keys; an added key's previous value is null
        "metadata": {"tier": "a", "new": None},
    }
    assert client.v1.customers.retrieve(created.id).email == "ada@lovelace.dev"
    deleted = client.v1.customers.delete(created.id)
    assert deleted.deleted is True and deleted.id == created.id
    assert client.v1.customers.retrieve(created.id).deleted is True
    assert created.id not in [c.id for c in client.v1.customers.list({"limit": 10}).data]
    [gone] = fake.events_of(request_id(deleted))
    assert gone.type == "customer.deleted" and gone.data.object.email == "ada@lovelace.dev"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(created.id, {"name": "again"})


def test_subscription_creation_bills_like_the_world(fake: Fake) -> None:
    client = fake.client
    customer = client.v1.customers.create({"email": "bob@example.com", "name": "Bob"})
    price = usd_monthly_price(client)
    sub = client.v1.subscriptions.create(
        {
            "customer": customer.id,
            "items": [{"price": price.id, "quantity": 3}],
            "metadata": {"workspace_id": "ws_x"},
            "expand": ["latest_invoice"],
        }
    )
    assert sub.status == "active" and sub.metadata.workspace_id == "ws_x"
    item = sub["items"].data[0]
    assert item.price.id == price.id and item.quantity == 3
    invoice = sub.latest_invoice
    assert invoice.status == "paid" and invoice.total == price.unit_amount * 3
    assert invoice.number.endswith("-0001")
    types = [e.type for e in fake.events_of(request_id(sub))]
    assert types == [
        "customer.updated",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
    ]
    [charge] = client.v1.charges.list({"customer": customer.id}).data
    assert charge.status == "succeeded" and charge.amount == invoice.total
    bt = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert bt.source == charge.id and bt.net == bt.amount - bt.fee and bt.fee > 0
    assert bt.status == "pending"
    assert client.v1.customers.retrieve(customer.id).next_invoice_sequence == 2
    payments = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    assert [p.status for p in payments] == ["paid"]


def test_trials_and_coupons(fake: Fake) -> None:
    client = fake.client
    customer = client.v1.customers.create({"email": "cy@example.com"})
    price = usd_monthly_price(client)
    trial = client.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id}], "trial_period_days": 14}
    )
    assert trial.status == "trialing" and trial.trial_end - trial.trial_start == 14 * DAY
    invoice = client.v1.invoices.retrieve(trial.latest_invoice)
    assert invoice.status == "paid" and invoice.total == 0
    assert client.v1.charges.list({"customer": customer.id}).data == []
    coupon = next(c for c in client.v1.coupons.list().data if c.percent_off)
    before = client.v1.coupons.retrieve(coupon.id).times_redeemed
    other = client.v1.customers.create({"email": "dee@example.com"})
    discounted = client.v1.subscriptions.create(
        {
            "customer": other.id,
            "items": [{"price": price.id, "quantity": 2}],
            "discounts": [{"coupon": coupon.id}],
            "expand": ["latest_invoice", "discounts"],
        }
    )
    subtotal = price.unit_amount * 2
    assert discounted.latest_invoice.subtotal == subtotal
    assert discounted.latest_invoice.total == subtotal - round(subtotal * coupon.percent_off / 100)
    assert discounted.discounts[0].source.coupon == coupon.id
    assert client.v1.coupons.retrieve(coupon.id).times_redeemed == before + 1
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.subscriptions.create(
            {"customer": other.id, "items": [{"price": price.id}], "coupon": coupon.id}
        )
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "coupon"


def test_subscription_updates_and_cancellation(fake: Fake) -> None:
    client = fake.client
    customer = client.v1.customers.create({"email": "eve@example.com"})
    price = usd_monthly_price(client)
    sub = client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    item_id = sub["items"].data[0].id
    grown = client.v1.subscriptions.update(
        sub.id,
        {
            "items": [{"id": item_id, "quantity": 5}],
            "metadata": {"seats": "5"},
            "proration_behavior": "none",
        },
    )
    assert grown["items"].data[0].quantity == 5
    [event] = fake.events_of(request_id(grown))
    assert event.type == "customer.subscription.updated"
    assert event.data.previous_attributes.metadata.to_dict() == {"seats": None}
    assert event.data.previous_attributes["items"].data[0].quantity == 1
    ending = client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert ending.cancel_at_period_end is True
    assert ending.cancel_at == sub["items"].data[0].current_period_end
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.subscriptions.update(sub.id, {"proration_behavior": "always_invoice"})
    canceled = client.v1.subscriptions.cancel(sub.id)
    assert canceled.status == "canceled" and canceled.ended_at is not None
    assert [e.type for e in fake.events_of(request_id(canceled))] == [
        "customer.subscription.deleted"
    ]
    assert sub.id not in [
        s.id for s in client.v1.subscriptions.list({"customer": customer.id}).data
    ]
    listed = client.v1.subscriptions.list({"customer": customer.id, "status": "canceled"}).data
    assert [s.id for s in listed] == [sub.id]


def test_refunds_never_exceed_what_is_refundable(fake: Fake) -> None:
    client = fake.client
    customer = client.v1.customers.create({"email": "flo@example.com"})
    price = usd_monthly_price(client)
    client.v1.subscriptions.create({"customer": customer.id, "items": [{"price": price.id}]})
    [charge] = client.v1.charges.list({"customer": customer.id}).data
    partial = client.v1.refunds.create({"charge": charge.id, "amount": 100, "reason": "duplicate"})
    assert partial.status == "succeeded" and partial.amount == 100
    assert [e.type for e in fake.events_of(request_id(partial))] == [
        "charge.refunded",
        "refund.created",
    ]
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"charge": charge.id, "amount": charge.amount})
    assert too_much.value.code == "amount_too_large" and too_much.value.param == "amount"
    rest = client.v1.refunds.create({"payment_intent": charge.payment_intent})
    assert rest.amount == charge.amount - 100
    refreshed = client.v1.charges.retrieve(charge.id, {"expand": ["refunds"]})
    assert refreshed.refunded is True and refreshed.amount_refunded == charge.amount
    assert {r.id for r in refreshed.refunds.data} == {partial.id, rest.id}
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create({"charge": charge.id})
    assert again.value.code == "charge_already_refunded"
    bt = client.v1.balance_transactions.retrieve(rest.balance_transaction)
    assert bt.type == "refund" and bt.amount == -rest.amount


def test_metadata_updates_on_charges_invoices_and_payment_intents(fake: Fake) -> None:
    client = fake.client
    charge = client.v1.charges.list({"limit": 1}).data[0]
    updated = client.v1.charges.update(charge.id, {"metadata": {"order": "7"}, "description": "d"})
    assert updated.metadata.order == "7" and updated.description == "d"
    assert [e.type for e in fake.events_of(request_id(updated))] == ["charge.updated"]
    invoice = client.v1.invoices.list({"limit": 1}).data[0]
    changed = client.v1.invoices.update(invoice.id, {"metadata": {"k": "v"}})
    assert [e.type for e in fake.events_of(request_id(changed))] == ["invoice.updated"]
    intent = client.v1.payment_intents.retrieve(charge.payment_intent)
    noted = client.v1.payment_intents.update(intent.id, {"metadata": {"k": "v"}})
    assert noted.metadata.k == "v"
    assert fake.events_of(request_id(noted)) == []  # Stripe has no payment_intent.updated


def test_products_and_prices(fake: Fake) -> None:
    client = fake.client
    product = client.v1.products.create({"name": "Add-on", "metadata": {"sku": "A1"}})
    price = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "usd",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
            "lookup_key": "addon_monthly",
        }
    )
    assert price.type == "recurring" and price.lookup_key == "addon_monthly"
    with pytest.raises(stripe.InvalidRequestError) as immutable:
        client.v1.prices.update(price.id, {"unit_amount": 600})
    assert immutable.value.code == "parameter_unknown" and immutable.value.param == "unit_amount"
    with pytest.raises(stripe.InvalidRequestError, match="lookup key"):
        client.v1.prices.create(
            {
                "product": product.id,
                "currency": "usd",
                "unit_amount": 1,
                "lookup_key": "addon_monthly",
            }
        )
    archived = client.v1.prices.update(price.id, {"active": False, "nickname": "old"})
    assert archived.active is False and archived.nickname == "old"
    [event] = fake.events_of(request_id(archived))
    assert event.type == "price.updated"
    assert event.data.previous_attributes.to_dict() == {"active": True, "nickname": None}
    one_off = client.v1.prices.create(
        {"product_data": {"name": "Setup"}, "currency": "eur", "unit_amount": 9900}
    )
    assert one_off.type == "one_time" and one_off.recurring is None
    renamed = client.v1.products.update(product.id, {"name": "Add-on+"})
    assert renamed.name == "Add-on+" and renamed.updated >= product.updated


def test_validation_errors_name_the_parameter(fake: Fake) -> None:
    client = fake.client
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.create({"nickname": "x"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.code == "parameter_unknown" and unknown.value.param == "nickname"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.subscriptions.create({"customer": "cus_x"})  # type: ignore[typeddict-item]
    assert missing.value.code == "parameter_missing" and missing.value.param == "items"
    with pytest.raises(stripe.InvalidRequestError) as nested:
        client.v1.subscriptions.create({"items": [{"price": "p"}]})  # type: ignore[typeddict-item]
    assert nested.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as no_customer:
        client.v1.subscriptions.create({"customer": "cus_nope", "items": [{"price": "x"}]})
    assert no_customer.value.code == "resource_missing" and no_customer.value.param == "customer"
    with pytest.raises(stripe.InvalidRequestError) as bad_expand:
        client.v1.customers.create({"email": "x@example.com", "expand": ["nothing"]})
    assert "cannot be expanded" in str(bad_expand.value)
    assert client.v1.customers.list({"email": "x@example.com"}).data == []  # undone


def test_idempotent_replay_and_conflicts(fake: Fake) -> None:
    client = fake.client
    first = client.v1.customers.create({"email": "idem@example.com"}, {"idempotency_key": "k-1"})
    again = client.v1.customers.create({"email": "idem@example.com"}, {"idempotency_key": "k-1"})
    assert again.id == first.id
    assert again.last_response is not None
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(client.v1.customers.list({"email": "idem@example.com"}).data) == 1
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"email": "other@example.com"}, {"idempotency_key": "k-1"})
    other_key = stripe.StripeClient("sk_test_another", base_addresses={"api": fake.url})
    fresh = other_key.v1.customers.create({"email": "idem@example.com"}, {"idempotency_key": "k-1"})
    assert fresh.id != first.id  # keys are per API key
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"emial": "typo"}, {"idempotency_key": "k-2"})  # type: ignore[typeddict-unknown-key]
    saved = client.v1.customers.create({"email": "k2@example.com"}, {"idempotency_key": "k-2"})
    assert saved.email == "k2@example.com"  # the 400 was not saved
    httpx.post(f"{fake.url}/_sandbox/stripe/fail_writes", json={"count": 1}).raise_for_status()
    for _ in range(2):
        with pytest.raises(stripe.APIError) as failed:
            client.v1.customers.create({"email": "boom@example.com"}, {"idempotency_key": "k-3"})
        assert failed.value.http_status == 500
    assert failed.value.headers["Idempotent-Replayed"] == "true"
    assert client.v1.customers.list({"email": "boom@example.com"}).data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.create({"email": "x"}, {"idempotency_key": "k" * 256})


def test_search_query_language_and_lag(fake: Fake, world_dir: Path) -> None:
    client = fake.client
    world = [
        json.loads(r["payload"])
        for r in pq.read_table(world_dir / "stripe" / "customers.parquet").to_pylist()
    ]
    target = world[0]
    found = client.v1.customers.search({"query": f'email:"{target["email"].upper()}"'})
    assert [c.id for c in found.data] == [c["id"] for c in world if c["email"] == target["email"]]
    tagged = [c for c in world if "hubspot_company_id" in c["metadata"]]
    hub = tagged[0]["metadata"]["hubspot_company_id"]
    by_meta = client.v1.customers.search({"query": f'metadata["hubspot_company_id"]:"{hub}"'})
    assert [c.id for c in by_meta.data] == [tagged[0]["id"]]
    domain = target["email"].split("@")[1]
    query = f'email~"{domain}" OR name:"{world[1]["name"]}"'
    everything = list(client.v1.customers.search({"query": query, "limit": 1}).auto_paging_iter())
    expected = {c["id"] for c in world if domain in c["email"] or c["name"] == world[1]["name"]}
    assert {c.id for c in everything} >= expected
    counted = client.v1.customers.search({"query": "created>0", "expand": ["total_count"]})
    assert counted.to_dict()["total_count"] >= len(world)
    for bad in ('email:"a" AND name:"b" OR phone:"c"', 'colour:"red"', 'email~"ab"'):
        with pytest.raises(stripe.InvalidRequestError):
            client.v1.customers.search({"query": bad})
    fresh = client.v1.customers.create({"email": "lag@searchable.dev"})
    query = 'email:"lag@searchable.dev"'
    assert client.v1.customers.search({"query": query}).data == []
    assert [c.id for c in client.v1.customers.list({"email": "lag@searchable.dev"}).data] == [
        fresh.id
    ]
    time.sleep(0.6)
    assert [c.id for c in client.v1.customers.search({"query": query}).data] == [fresh.id]


def test_writes_to_world_objects_survive_the_worlds_later_versions(world_dir: Path) -> None:
    rows = pq.read_table(world_dir / "stripe" / "events.parquet").to_pylist()
    start, end = world_period(world_dir)
    later = next(
        r
        for r in sorted(rows, key=lambda r: (r["created"], r["ordinal"]))
        if r["type"] == "customer.updated" and r["created"] > start + 30 * DAY
    )
    event = json.loads(later["payload"])
    app = create_app(world_dir, SandboxClock(later["created"] - 60, end=end), FaultController())
    with ServedApp(app) as url:
        fake = Fake(url)
        customer_id = later["object_id"]
        fake.client.v1.customers.update(customer_id, {"metadata": {"hubspot_id": "42"}})
        fake.advance(120)
        served = fake.client.v1.customers.retrieve(customer_id)
        assert served.metadata.hubspot_id == "42"
        for field in event["data"]["previous_attributes"]:
            if field != "metadata":
                assert served[field] == event["data"]["object"][field]
        listed = fake.client.v1.events.retrieve(event["id"])
        assert listed.data.object.metadata.hubspot_id == "42"
