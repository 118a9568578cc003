"""Invariants of the simulated Stripe account, checked on what the simulation emits."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import orjson
import pytest

from revstack.sandbox.world import stripe_render
from revstack.sandbox.world.behaviour import Behaviour
from revstack.sandbox.world.billing import CustomerSimulation
from revstack.sandbox.world.billing_state import BillingOutcome
from revstack.sandbox.world.clock import add_months, to_date, to_ts
from revstack.sandbox.world.mrr import subscription_mrr
from revstack.sandbox.world.revenue import RevenueLedger, net
from revstack.sandbox.world.story import Window
from revstack.sandbox.world.stripe_catalog import StripeCatalog
from revstack.sandbox.world.stripe_record import EVENTS, OBJECT_TABLES, SILENT_VERSIONS
from revstack.sandbox.world.tables import Sink

Json = dict[str, Any]
WINDOW = Window(to_ts(dt.date(2025, 5, 1)), add_months(to_ts(dt.date(2025, 5, 1)), 18))
CUSTOMERS = 800


class Simulated:
    def __init__(self, seed: int, customers: int) -> None:
        self.catalog = StripeCatalog(seed, WINDOW)
        sink = Sink()
        self.outcomes: list[BillingOutcome] = [
            CustomerSimulation(i, WINDOW, seed, self.catalog, sink, Behaviour()).run()
            for i in range(customers)
        ]
        self.events = sink.drain(EVENTS).to_pylist()
        self.silent = sink.drain(SILENT_VERSIONS).to_pylist()
        self.objects: dict[str, list[Json]] = {
            kind: [orjson.loads(r["payload"]) for r in sink.drain(table).to_pylist()]
            for kind, table in OBJECT_TABLES.items()
        }
        self.ledger = RevenueLedger()
        for outcome in self.outcomes:
            self.ledger.merge(outcome.ledger)


@pytest.fixture(scope="module")
def sim() -> Simulated:
    return Simulated(seed=11, customers=CUSTOMERS)


def test_same_seed_same_output_different_seed_differs() -> None:
    first, again, other = Simulated(5, 30), Simulated(5, 30), Simulated(6, 30)
    assert first.events == again.events
    assert first.objects == again.objects
    assert first.events != other.events


def test_every_kind_of_change_happens(sim: Simulated) -> None:
    types = {e["type"] for e in sim.events}
    expected = {
        "customer.created",
        "customer.updated",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.trial_will_end",
        "customer.discount.created",
        "customer.discount.deleted",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.updated",
        "invoice.marked_uncollectible",
        "charge.succeeded",
        "charge.failed",
        "charge.refunded",
        "refund.created",
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "invoice_payment.paid",
    }
    assert expected <= types
    statuses = {s["status"] for s in sim.objects["subscription"]}
    assert {"active", "canceled", "trialing"} <= statuses
    reasons = {i["billing_reason"] for i in sim.objects["invoice"]}
    assert reasons == {"subscription_create", "subscription_cycle", "subscription_update"}
    currencies = {c["currency"] for c in sim.objects["charge"]}
    assert currencies == {"usd", "eur", "jpy"}


def test_ids_are_unique(sim: Simulated) -> None:
    event_ids = [e["id"] for e in sim.events]
    assert len(event_ids) == len(set(event_ids))
    for kind, objects in sim.objects.items():
        ids = [o["id"] for o in objects]
        assert len(ids) == len(set(ids)), kind


def test_objects_use_stripe_field_names(sim: Simulated) -> None:
    fixtures = stripe_render.fixtures()
    for kind, objects in sim.objects.items():
        if not objects:
            continue
        allowed = set(fixtures[kind]) | stripe_render.CONDITIONAL_FIELDS.get(kind, frozenset())
        for obj in objects[:50]:
            assert set(obj) <= allowed, kind
            assert obj["object"] == kind
    event_keys = set(fixtures["event"])
    assert all(set(orjson.loads(e["payload"])) == event_keys for e in sim.events[:200])


def test_invoice_totals_equal_their_lines(sim: Simulated) -> None:
    for inv in sim.objects["invoice"]:
        lines = inv["lines"]["data"]
        assert inv["subtotal"] == sum(line["amount"] for line in lines)
        line_discounts = sum(d["amount"] for line in lines for d in line["discount_amounts"])
        invoice_discounts = sum(d["amount"] for d in inv["total_discount_amounts"])
        assert line_discounts == invoice_discounts
        assert inv["total"] == inv["subtotal"] - invoice_discounts
        assert inv["amount_due"] == inv["total"]
        if inv["status"] == "paid":
            assert inv["amount_paid"] == inv["total"] and inv["amount_remaining"] == 0
        for line in lines:
            assert line["period"]["start"] <= line["period"]["end"]


def test_refunds_add_up_to_amount_refunded(sim: Simulated) -> None:
    refunded: dict[str, int] = defaultdict(int)
    for refund in sim.objects["refund"]:
        if refund["status"] not in ("failed", "canceled"):
            refunded[refund["charge"]] += refund["amount"]
    assert refunded, "the sample should hold refunds"
    for charge in sim.objects["charge"]:
        assert charge["amount_refunded"] == refunded.get(charge["id"], 0)
        assert charge["refunded"] == (charge["amount_refunded"] == charge["amount"] > 0)
        assert 0 <= charge["amount_refunded"] <= charge["amount"]


def test_balance_transactions_net_out(sim: Simulated) -> None:
    bts = {bt["id"]: bt for bt in sim.objects["balance_transaction"]}
    for bt in bts.values():
        assert bt["net"] == bt["amount"] - bt["fee"]
        assert bt["fee"] == sum(f["amount"] for f in bt["fee_details"])
    for charge in sim.objects["charge"]:
        if charge["status"] == "succeeded":
            bt = bts[charge["balance_transaction"]]
            assert (bt["amount"], bt["source"], bt["reporting_category"]) == (
                charge["amount"],
                charge["id"],
                "charge",
            )
        else:
            assert charge["balance_transaction"] is None
    for refund in sim.objects["refund"]:
        assert bts[refund["balance_transaction"]]["amount"] == -refund["amount"]
    for dispute in sim.objects["dispute"]:
        amounts = [bt["amount"] for bt in dispute["balance_transactions"]]
        inquiry = dispute["payment_method_details"]["card"]["case_type"] == "inquiry"
        expected = [] if inquiry else [-dispute["amount"]]
        if dispute["status"] == "won":
            expected.append(dispute["amount"])
        assert amounts == expected


def test_revenue_truth_equals_balance_transactions_per_day(sim: Simulated) -> None:
    """The booked view, computed from the simulation's state, must equal what Stripe's
    balance transactions say for each day (payouts excluded)."""
    from_bts: dict[tuple[dt.date, str], int] = defaultdict(int)
    for bt in sim.objects["balance_transaction"]:
        if bt["type"] != "payout":
            from_bts[(to_date(bt["created"]), bt["currency"])] += bt["net"]
    from_truth = {
        (day, currency): net(measures)
        for (day, currency, view), measures in sim.ledger.totals.items()
        if view == "booked" and net(measures) != 0
    }
    assert {k: v for k, v in from_bts.items() if v} == from_truth


def test_restated_and_booked_views_agree_over_the_whole_period(sim: Simulated) -> None:
    sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_day, currency, view), measures in sim.ledger.totals.items():
        for measure, amount in measures.items():
            sums[(currency, view)][measure] += amount
    for currency in ("usd", "eur", "jpy"):
        assert sums[(currency, "booked")] == sums[(currency, "restated")]
    late = [
        key
        for key, m in sim.ledger.totals.items()
        if key[2] == "restated"
        and m["refunds"]
        != sim.ledger.totals.get((key[0], key[1], "booked"), {"refunds": 0})["refunds"]
    ]
    assert late, "late refunds must move amounts between the two views"


def test_events_carry_object_versions_ending_in_the_final_state(sim: Simulated) -> None:
    last: dict[str, Json] = {}
    for row in sorted(sim.events + sim.silent, key=lambda r: (r["created"], r["ordinal"])):
        payload = orjson.loads(row["payload"])
        obj = payload["data"]["object"] if "data" in payload else payload
        last[obj["id"]] = obj
    kinds = (
        "customer",
        "subscription",
        "invoice",
        "charge",
        "refund",
        "payment_intent",
        "invoice_payment",
        "dispute",
        "discount",
    )
    for kind in kinds:
        for obj in sim.objects[kind]:
            seen = last[obj["id"]]
            if kind == "customer":
                # Stripe bumps the invoice counter without announcing it.
                seen = {**seen, "next_invoice_sequence": obj["next_invoice_sequence"]}
            if kind == "subscription":
                # An archived price shows as inactive without an event on the subscription.
                for version in (seen, obj):
                    for item in version["items"]["data"]:
                        item["price"]["active"] = None
            if kind == "dispute":
                # Embedded balance transactions become available with time, silently.
                for version in (seen, obj):
                    for bt in version["balance_transactions"]:
                        bt["status"] = None
            assert seen == obj, f"{kind} {obj['id']}"


def test_updated_events_carry_previous_attributes(sim: Simulated) -> None:
    updates = [orjson.loads(e["payload"]) for e in sim.events if e["type"].endswith(".updated")]
    assert updates
    with_previous = [u for u in updates if u["data"].get("previous_attributes")]
    assert len(with_previous) >= 0.95 * len(updates)


def test_truth_mrr_matches_subscription_versions(sim: Simulated) -> None:
    """Recompute each customer's month-end MRR from the emitted subscription versions and
    discounts, independently of the simulation's own bookkeeping."""
    discounts = {d["id"]: d for d in sim.objects["discount"]}
    coupons = {c.spec.id: c.spec for c in sim.catalog.coupons.values()}
    versions: dict[str, list[tuple[int, int, Json]]] = defaultdict(list)
    for row in sim.events:
        if row["object_type"] == "subscription":
            versions[row["object_id"]].append(
                (row["created"], row["ordinal"], orjson.loads(row["payload"])["data"]["object"])
            )
    from revstack.sandbox.world.mrr import DiscountTerms

    def mrr_of(sub: Json, at: int) -> int:
        item = sub["items"]["data"][0]
        price = item["price"]
        terms = None
        if sub["discounts"]:
            d = discounts[sub["discounts"][0]]
            spec = coupons[d["source"]["coupon"]]
            terms = DiscountTerms(spec.duration, spec.percent_off, spec.amount_off, d["end"])
        return subscription_mrr(
            sub["status"],
            price["unit_amount"],
            item["quantity"],
            price["recurring"]["interval"],
            price["recurring"]["interval_count"],
            terms,
            at,
        )

    by_customer: dict[str, list[str]] = defaultdict(list)
    for sub_id, rows in versions.items():
        by_customer[rows[0][2]["customer"]].append(sub_id)
    month = dt.date(2025, 5, 1)
    checked = 0
    while month < dt.date(2026, 11, 1):
        nxt = to_date(add_months(to_ts(month), 1))
        cutoff = to_ts(nxt)
        for outcome in sim.outcomes:
            story = outcome.story
            truth = 0
            for ts, value in story.mrr_changes:
                if ts < cutoff:
                    truth = value
            recomputed = 0
            for sub_id in by_customer.get(story.customer_id, []):
                seen = [v for v in versions[sub_id] if v[0] < cutoff]
                if seen:
                    recomputed += mrr_of(max(seen, key=lambda v: (v[0], v[1]))[2], cutoff - 1)
            assert recomputed == truth, (story.customer_id, month)
            checked += truth > 0
        month = nxt
    assert checked > CUSTOMERS  # plenty of paying customer-months were compared
