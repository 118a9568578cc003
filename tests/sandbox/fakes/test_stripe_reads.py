"""The fake Stripe API serves the world as of the sandbox clock, driven through the official
`stripe` SDK: lists, retrieval, filters, expansion, events retention and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import stripe

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.stripe.app import create_app
from revstack.sandbox.fakes.threaded import ServedApp

KEY = "sk_test_revstack"
DAY = 86_400
LISTS = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "coupons": "coupon",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "invoice_payments": "invoice_payment",
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "disputes": "dispute",
    "balance_transactions": "balance_transaction",
    "payouts": "payout",
}


def final_rows(world_dir: Path, kind: str) -> dict[str, dict[str, Any]]:
    table = pq.read_table(world_dir / "stripe" / f"{kind}s.parquet")
    return {row["id"]: served_form(json.loads(row["payload"])) for row in table.to_pylist()}


def versions_as_of(world_dir: Path, at: int) -> dict[str, dict[str, Any]]:
    """Each object's latest version (event data.object or silent version) created by `at`."""
    rows: list[tuple[int, int, str, dict[str, Any]]] = []
    for row in pq.read_table(world_dir / "stripe" / "events.parquet").to_pylist():
        if row["created"] <= at:
            obj = json.loads(row["payload"])["data"]["object"]
            rows.append((row["created"], row["ordinal"], row["object_id"], served_form(obj)))
    for row in pq.read_table(world_dir / "stripe" / "silent_versions.parquet").to_pylist():
        if row["created"] <= at:
            obj = served_form(json.loads(row["payload"]))
            rows.append((row["created"], row["ordinal"], row["object_id"], obj))
    rows.sort(key=lambda r: (r[0], r[1]))
    return {object_id: obj for _, _, object_id, obj in rows}


def world_events(world_dir: Path) -> list[dict[str, Any]]:
    rows = pq.read_table(world_dir / "stripe" / "events.parquet").to_pylist()
    return sorted(rows, key=lambda r: (r["created"], r["ordinal"]))


@pytest.fixture(scope="module")
def world_end(world_dir: Path) -> int:
    return world_period(world_dir)[1]


@pytest.fixture(scope="module")
def client(world_dir: Path, world_end: int) -> Iterator[stripe.StripeClient]:
    app = create_app(world_dir, SandboxClock(world_end, end=world_end), FaultController())
    with ServedApp(app) as url:
        yield stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)


def service(client: stripe.StripeClient, resource: str) -> Any:
    return getattr(client.v1, resource)


@pytest.mark.parametrize("resource", list(LISTS))
def test_paging_at_the_end_returns_the_worlds_final_objects(
    client: stripe.StripeClient, world_dir: Path, resource: str
) -> None:
    params: dict[str, Any] = {"limit": 100}
    if resource == "subscriptions":
        params["status"] = "all"
    served = [
        obj.to_dict(for_json=True)
        for obj in service(client, resource).list(params).auto_paging_iter()
    ]
    expected = final_rows(world_dir, LISTS[resource])
    assert [obj["id"] for obj in served] == sorted(
        expected, key=lambda i: (expected[i]["created"], i), reverse=True
    )
    for obj in served:
        assert obj == expected[obj["id"]], obj["id"]


def test_retrieve_serves_each_object_and_404s_unknown_ids(
    client: stripe.StripeClient, world_dir: Path
) -> None:
    for resource, kind in LISTS.items():
        expected = final_rows(world_dir, kind)
        some_id = sorted(expected)[0]
        assert (
            service(client, resource).retrieve(some_id).to_dict(for_json=True) == expected[some_id]
        )
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.charges.retrieve("ch_doesnotexist")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"
    assert missing.value.param == "id"
    assert missing.value.request_id and missing.value.request_id.startswith("req_")


def test_an_earlier_clock_serves_only_what_existed_then_as_it_was(world_dir: Path) -> None:
    start, end = world_period(world_dir)
    at = start + (end - start) // 2
    expected = versions_as_of(world_dir, at)
    app = create_app(world_dir, SandboxClock(at, end=end), FaultController())
    with ServedApp(app) as url:
        client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)
        for resource in ("customers", "subscriptions", "invoices", "charges", "refunds"):
            params: dict[str, Any] = {"limit": 100}
            if resource == "subscriptions":
                params["status"] = "all"
            served = {
                o.id: o.to_dict(for_json=True)
                for o in service(client, resource).list(params).auto_paging_iter()
            }
            kind = LISTS[resource]
            wanted = {i: o for i, o in expected.items() if o["object"] == kind}
            assert served.keys() == wanted.keys()
            for object_id, obj in served.items():
                if kind == "customer":
                    obj.pop("next_invoice_sequence")
                    wanted[object_id].pop("next_invoice_sequence")
                assert obj == wanted[object_id]
        later = max(c["created"] for c in final_rows(world_dir, "customer").values())
        assert later > at
        newest = client.v1.customers.list({"limit": 1}).data[0]
        assert newest.created <= at
        # Balance transactions have no versions: status is recomputed for the clock.
        for bt in client.v1.balance_transactions.list({"limit": 100}).auto_paging_iter():
            assert bt.created <= at
            assert bt.status == ("available" if bt.available_on <= at else "pending")


def test_list_filters(client: stripe.StripeClient, world_dir: Path) -> None:
    charges = final_rows(world_dir, "charge")
    customer = next(c["customer"] for c in charges.values() if c["status"] == "succeeded")
    served = {
        c.id
        for c in client.v1.charges.list({"customer": customer, "limit": 100}).auto_paging_iter()
    }
    assert served == {i for i, c in charges.items() if c["customer"] == customer}
    some = next(iter(charges.values()))
    by_intent = client.v1.charges.list({"payment_intent": some["payment_intent"]}).data
    assert {c.id for c in by_intent} == {
        i for i, c in charges.items() if c["payment_intent"] == some["payment_intent"]
    }
    subs = final_rows(world_dir, "subscription")
    default = {s.id for s in client.v1.subscriptions.list({"limit": 100}).auto_paging_iter()}
    assert default == {i for i, s in subs.items() if s["status"] != "canceled"}
    ended = {
        s.id
        for s in client.v1.subscriptions.list({"status": "ended", "limit": 100}).auto_paging_iter()
    }
    assert ended == {
        i for i, s in subs.items() if s["status"] in ("canceled", "incomplete_expired")
    }
    invoices = final_rows(world_dir, "invoice")
    paid = {
        i.id for i in client.v1.invoices.list({"status": "paid", "limit": 100}).auto_paging_iter()
    }
    assert paid == {i for i, v in invoices.items() if v["status"] == "paid"}
    sub_id = next(iter(subs))
    by_sub = {i.id for i in client.v1.invoices.list({"subscription": sub_id}).auto_paging_iter()}
    assert by_sub == {
        i
        for i, v in invoices.items()
        if v["parent"]["subscription_details"]["subscription"] == sub_id
    }
    created = sorted(c["created"] for c in charges.values())
    lo, hi = created[len(created) // 4], created[len(created) // 2]
    ranged = {
        c.id
        for c in client.v1.charges.list(
            {"created": {"gte": lo, "lt": hi}, "limit": 100}
        ).auto_paging_iter()
    }
    assert ranged == {i for i, c in charges.items() if lo <= c["created"] < hi}
    refunds = final_rows(world_dir, "refund")
    refund = next(iter(refunds.values()))
    assert {r.id for r in client.v1.refunds.list({"charge": refund["charge"]}).data} == {
        i for i, r in refunds.items() if r["charge"] == refund["charge"]
    }
    payout_bts = client.v1.balance_transactions.list({"type": "payout", "limit": 100})
    assert payout_bts.data and all(bt.type == "payout" for bt in payout_bts.data)


def test_a_payouts_balance_transactions_add_up_to_it(client: stripe.StripeClient) -> None:
    payouts = client.v1.payouts.list({"limit": 20}).data
    assert payouts
    for payout in payouts:
        members = list(
            client.v1.balance_transactions.list(
                {"payout": payout.id, "limit": 100}
            ).auto_paging_iter()
        )
        own = [bt for bt in members if bt.type == "payout"]
        assert [bt.source for bt in own] == [payout.id]
        assert sum(bt.net for bt in members if bt.type != "payout") == payout.amount


def test_events_filters_and_30_day_retention(
    client: stripe.StripeClient, world_dir: Path, world_end: int
) -> None:
    window = [e for e in world_events(world_dir) if e["created"] >= world_end - 30 * DAY]
    served = [e.id for e in client.v1.events.list({"limit": 100}).auto_paging_iter()]
    assert served == [e["id"] for e in reversed(window)]
    invoices = [
        e.type
        for e in client.v1.events.list({"type": "invoice.*", "limit": 100}).auto_paging_iter()
    ]
    assert invoices and all(t.startswith("invoice.") for t in invoices)
    assert len(invoices) == sum(1 for e in window if e["type"].startswith("invoice."))
    both = client.v1.events.list({"types": ["charge.succeeded", "payout.paid"], "limit": 100})
    assert {e.type for e in both.auto_paging_iter()} <= {"charge.succeeded", "payout.paid"}
    old = next(e for e in world_events(world_dir) if e["created"] < world_end - 31 * DAY)
    with pytest.raises(stripe.InvalidRequestError) as gone:
        client.v1.events.retrieve(old["id"])
    assert gone.value.http_status == 404
    recent = window[-1]
    event = json.loads(recent["payload"])
    event["data"]["object"] = served_form(event["data"]["object"])
    assert client.v1.events.retrieve(recent["id"]).to_dict(for_json=True) == event


def test_expand_replaces_ids_with_objects_as_of_the_clock(
    client: stripe.StripeClient, world_dir: Path
) -> None:
    page = client.v1.charges.list(
        {"limit": 3, "expand": ["data.customer", "data.balance_transaction"]}
    )
    for charge in page.data:
        assert charge.customer.object == "customer"
        assert (
            charge.balance_transaction is None
            or charge.balance_transaction.object == "balance_transaction"
        )
        assert "refunds" not in charge.to_dict()
    refund = client.v1.refunds.list(
        {"limit": 1, "expand": ["data.charge.balance_transaction"]}
    ).data[0]
    assert refund.charge.balance_transaction.object == "balance_transaction"
    charge = client.v1.charges.retrieve(refund.charge.id, {"expand": ["refunds"]})
    assert refund.id in [r.id for r in charge.refunds.data]
    sub = client.v1.subscriptions.list(
        {"limit": 1, "expand": ["data.latest_invoice.customer"]}
    ).data[0]
    assert sub.latest_invoice.customer.id == sub.customer
    with pytest.raises(stripe.InvalidRequestError, match="cannot be expanded"):
        client.v1.charges.list({"expand": ["data.currency"]})
    with pytest.raises(stripe.InvalidRequestError, match="more than 4 levels"):
        client.v1.refunds.list({"expand": ["data.charge.customer.foo.bar"]})


def test_paging_parameters_are_validated_like_stripe(client: stripe.StripeClient) -> None:
    for limit in (0, 101):
        with pytest.raises(stripe.InvalidRequestError) as bad:
            client.v1.customers.list({"limit": limit})
        assert bad.value.param == "limit" and bad.value.http_status == 400
    first = client.v1.customers.list({"limit": 2}).data
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.customers.list({"starting_after": first[0].id, "ending_before": first[1].id})
    assert both.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.list({"starting_after": "cus_nope"})
    assert unknown.value.http_status == 400 and unknown.value.param == "starting_after"
    forward = client.v1.customers.list({"limit": 5}).data
    backward = client.v1.customers.list({"limit": 4, "ending_before": forward[4].id})
    assert [c.id for c in backward.data] == [c.id for c in forward[:4]]
    assert backward.has_more is False
    with pytest.raises(stripe.InvalidRequestError) as unknown_param:
        client.v1.customers.list({"colour": "blue"})
    assert unknown_param.value.code == "parameter_unknown" and unknown_param.value.param == "colour"


def test_invoice_lines_are_listed(client: stripe.StripeClient, world_dir: Path) -> None:
    invoice = next(iter(final_rows(world_dir, "invoice").values()))
    lines = list(client.v1.invoices.line_items.list(invoice["id"]).auto_paging_iter())
    assert [line.to_dict(for_json=True) for line in lines] == invoice["lines"]["data"]


def test_api_keys_are_required_and_checked(client: stripe.StripeClient) -> None:
    url = client._requestor.base_addresses["api"]
    for key in ("not_a_key", "pk_test_publishable"):
        bad = stripe.StripeClient(key, base_addresses={"api": url}, max_network_retries=0)
        with pytest.raises(stripe.AuthenticationError) as refused:
            bad.v1.customers.list()
        assert refused.value.http_status == 401
    restricted = stripe.StripeClient("rk_test_abc", base_addresses={"api": url})
    assert restricted.v1.customers.list({"limit": 1}).data
    listing = client.v1.customers.list({"limit": 1})
    assert listing.last_response is not None
    assert listing.last_response.request_id.startswith("req_")
    assert listing.last_response.headers["Stripe-Version"] == stripe.api_version


def served_form(obj: dict[str, Any]) -> dict[str, Any]:
    """A final-table payload as Stripe serves it: charges carry no ``refunds`` unless expanded."""
    if obj.get("object") == "charge" and obj.get("refunds") is None:
        obj = {k: v for k, v in obj.items() if k != "refunds"}
    return obj
