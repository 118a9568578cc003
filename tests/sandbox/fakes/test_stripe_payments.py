"""Purchases through the fake Stripe API with the official SDK: payment intents (confirmed,
declined, updated, canceled), legacy charges, invoices from draft to paid, void or
uncollectible, and disputes (evidence, verdicts, closing), with their events and webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import FaultController
from revstack.sandbox.fakes.server import world_period
from revstack.sandbox.fakes.stripe.app import create_app
from revstack.sandbox.fakes.threaded import ServedApp
from revstack.sandbox.world.behaviour import DISPUTE_FEES, processing_fee

KEY = "sk_test_revstack"
DAY = 86_400
#: Confirm server-side without a return_url (Stripe requires one when redirects are allowed).
NO_REDIRECTS = {"enabled": True, "allow_redirects": "never"}


@dataclass
class Receiver:
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.deliveries.append(json.loads(await request.body()))
            return Response("ok")

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


class Fake:
    def __init__(self, url: str, receiver: Receiver) -> None:
        self.url = url
        self.receiver = receiver
        self.client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=0)

    def events_of(self, request_id: str) -> list[Any]:
        """Events caused by one request, oldest first."""
        page = self.client.v1.events.list({"limit": 100})
        return [e for e in reversed(page.data) if e.request and e.request.id == request_id]

    def delivered_for(self, request_id: str) -> list[str]:
        deadline = time.monotonic() + 10
        while httpx.get(f"{self.url}/_sandbox/stripe/webhooks").json()["pending"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        return [d["type"] for d in self.receiver.deliveries if d["request"]["id"] == request_id]

    def now(self) -> int:
        return int(httpx.get(f"{self.url}/_sandbox/clock").json()["now"])

    def customer(self, email: str) -> Any:
        return self.client.v1.customers.create({"email": email, "name": email.split("@")[0]})


def request_id(obj: Any) -> str:
    assert obj.last_response is not None
    return str(obj.last_response.request_id)


@pytest.fixture(scope="module")
def fake(world_dir: Path) -> Iterator[Fake]:
    _, end = world_period(world_dir)
    app = create_app(world_dir, SandboxClock(end - 10 * DAY, end=end), FaultController())
    receiver = Receiver()
    with ServedApp(receiver.app()) as hook_url, ServedApp(app) as url:
        fake = Fake(url, receiver)
        fake.client.v1.webhook_endpoints.create(
            {"url": f"{hook_url}/hook", "enabled_events": ["*"]}
        )
        yield fake


def test_a_purchase_charges_once_with_stripes_events_and_webhooks(fake: Fake) -> None:
    client = fake.client
    customer = fake.customer("buyer@example.com")
    params: Any = {
        "amount": 4900,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": "pm_card_visa",
        "confirm": True,
        "automatic_payment_methods": NO_REDIRECTS,
        "metadata": {"order": "A-1"},
    }
    intent = client.v1.payment_intents.create(params, {"idempotency_key": "buy-1"})
    assert intent.status == "succeeded" and intent.amount_received == 4900
    assert intent.payment_method.startswith("pm_") and intent.payment_method != "pm_card_visa"
    charge = client.v1.charges.retrieve(intent.latest_charge, {"expand": ["balance_transaction"]})
    assert charge.status == "succeeded" and charge.paid and charge.captured
    assert charge.payment_intent == intent.id and charge.customer == customer.id
    assert charge.amount == 4900 and charge.metadata.order == "A-1"
    assert charge.payment_method_details.card.last4 == "4242"
    bt = charge.balance_transaction
    assert bt.source == charge.id and bt.type == "charge" and bt.amount == 4900
    assert bt.fee == processing_fee(4900, "usd") and bt.net == 4900 - bt.fee
    expected = ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
    events = fake.events_of(request_id(intent))
    assert [e.type for e in events] == expected
    assert {e.request.idempotency_key for e in events} == {"buy-1"}
    assert fake.delivered_for(request_id(intent)) == expected
    replay = client.v1.payment_intents.create(params, {"idempotency_key": "buy-1"})
    assert replay.id == intent.id and replay.last_response is not None
    assert replay.last_response.headers["Idempotent-Replayed"] == "true"
    assert [c.id for c in client.v1.charges.list({"customer": customer.id}).data] == [charge.id]
    assert [p.id for p in client.v1.payment_intents.list({"customer": customer.id}).data] == [
        intent.id
    ]
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create({**params, "amount": 5000}, {"idempotency_key": "buy-1"})
    with pytest.raises(stripe.InvalidRequestError) as reused:  # not attached to the customer
        client.v1.payment_intents.create({**params, "payment_method": intent.payment_method})
    assert reused.value.param == "payment_method"


def test_a_declined_card_fails_the_payment_and_answers_402(fake: Fake) -> None:
    client = fake.client
    customer = fake.customer("broke@example.com")
    params: Any = {
        "amount": 1200,
        "currency": "eur",
        "customer": customer.id,
        "payment_method": "pm_card_chargeDeclinedInsufficientFunds",
        "confirm": True,
        "payment_method_types": ["card"],
    }
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(params, {"idempotency_key": "broke-1"})
    error = declined.value
    assert error.http_status == 402 and error.code == "card_declined"
    assert error.error is not None and error.error.decline_code == "insufficient_funds"
    intent = error.error.payment_intent
    assert intent is not None and intent.status == "requires_payment_method"
    assert intent.payment_method is None
    assert intent.last_payment_error.decline_code == "insufficient_funds"
    failed = client.v1.charges.retrieve(intent.latest_charge)
    assert failed.status == "failed" and not failed.paid and failed.balance_transaction is None
    assert failed.failure_code == "card_declined" and failed.outcome.reason == "insufficient_funds"
    expected = ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"]
    assert [e.type for e in fake.events_of(str(error.request_id))] == expected
    assert fake.delivered_for(str(error.request_id)) == expected
    with pytest.raises(stripe.CardError) as replayed:  # the decline is kept under the key
        client.v1.payment_intents.create(params, {"idempotency_key": "broke-1"})
    assert replayed.value.headers is not None
    assert replayed.value.headers["Idempotent-Replayed"] == "true"
    retried = client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})
    assert retried.status == "succeeded" and retried.last_payment_error is None
    statuses = [c.status for c in client.v1.charges.list({"payment_intent": intent.id}).data]
    assert statuses == ["succeeded", "failed"]


def test_intents_confirm_later_update_and_cancel(fake: Fake) -> None:
    client = fake.client
    customer = fake.customer("later@example.com")
    intent = client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "customer": customer.id, "description": "cart"}
    )
    assert intent.status == "requires_payment_method"
    assert intent.automatic_payment_methods.enabled is True  # on by default
    assert [e.type for e in fake.events_of(request_id(intent))] == ["payment_intent.created"]
    with pytest.raises(stripe.InvalidRequestError) as no_method:
        client.v1.payment_intents.confirm(intent.id)
    assert no_method.value.code == "payment_intent_unexpected_state"
    grown = client.v1.payment_intents.update(intent.id, {"amount": 1500})
    assert grown.amount == 1500 and fake.events_of(request_id(grown)) == []
    with pytest.raises(stripe.InvalidRequestError) as redirects:
        client.v1.payment_intents.confirm(intent.id, {"payment_method": "pm_card_mastercard"})
    assert redirects.value.param == "return_url"
    paid = client.v1.payment_intents.confirm(
        intent.id, {"payment_method": "pm_card_mastercard", "return_url": "https://x.test/r"}
    )
    assert paid.status == "succeeded" and paid.amount_received == 1500
    assert client.v1.charges.retrieve(paid.latest_charge).amount == 1500
    with pytest.raises(stripe.InvalidRequestError) as frozen:
        client.v1.payment_intents.update(intent.id, {"amount": 10})
    assert frozen.value.code == "payment_intent_unexpected_state"
    noted = client.v1.payment_intents.update(intent.id, {"metadata": {"k": "v"}})
    assert noted.metadata.k == "v"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.cancel(intent.id)
    other = client.v1.payment_intents.create(
        {"amount": 700, "currency": "usd", "payment_method": "pm_card_visa"}
    )
    assert other.status == "requires_confirmation"
    canceled = client.v1.payment_intents.cancel(other.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    assert [e.type for e in fake.events_of(request_id(canceled))] == ["payment_intent.canceled"]
    with pytest.raises(stripe.InvalidRequestError) as too_small:
        client.v1.payment_intents.create({"amount": 10, "currency": "usd"})
    assert too_small.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_intents.create(
            {"amount": 900, "currency": "usd", "payment_method": "pm_nope"}
        )
    assert unknown.value.code == "resource_missing" and unknown.value.param == "payment_method"


def test_legacy_charges(fake: Fake, world_dir: Path) -> None:
    client = fake.client
    charge = client.v1.charges.create(
        {"amount": 2500, "currency": "usd", "source": "tok_visa", "metadata": {"legacy": "1"}}
    )
    assert charge.status == "succeeded" and charge.payment_intent is None
    assert charge.payment_method.startswith("card_") and charge.metadata.legacy == "1"
    bt = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert bt.amount == 2500 and bt.fee == processing_fee(2500, "usd")
    assert [e.type for e in fake.events_of(request_id(charge))] == ["charge.succeeded"]
    with pytest.raises(stripe.CardError) as declined:
        client.v1.charges.create(
            {"amount": 2500, "currency": "usd", "source": "tok_chargeDeclined"}
        )
    assert declined.value.error is not None
    assert declined.value.error.decline_code == "generic_decline"
    assert client.v1.charges.retrieve(declined.value.error.charge).status == "failed"
    customer = fake.customer("nocard@example.com")
    with pytest.raises(stripe.CardError) as no_card:
        client.v1.charges.create({"amount": 2500, "currency": "usd", "customer": customer.id})
    assert no_card.value.code == "missing"
    with pytest.raises(stripe.InvalidRequestError) as foreign:
        client.v1.charges.create(
            {"amount": 2500, "currency": "usd", "customer": customer.id, "source": "tok_visa"}
        )
    assert foreign.value.code == "resource_missing" and foreign.value.param == "source"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.charges.create(
            {"amount": 2500, "currency": "usd", "payment_method": "pm_card_visa"}  # type: ignore[typeddict-unknown-key]
        )
    assert unknown.value.code == "parameter_unknown"
    world_charges = client.v1.charges.list({"limit": 100, "created": {"lt": fake.now()}})
    world_charge = next(c for c in world_charges.data if c.customer and c.paid)
    again = client.v1.charges.create(
        {
            "amount": 1000,
            "currency": world_charge.currency,
            "customer": world_charge.customer,
            "source": world_charge.payment_method,
        }
    )
    assert again.status == "succeeded"
    assert again.payment_method_details.card.last4 == world_charge.payment_method_details.card.last4


def one_time_price(client: stripe.StripeClient, amount: int) -> Any:
    return client.v1.prices.create(
        {"product_data": {"name": "Onboarding"}, "currency": "usd", "unit_amount": amount}
    )


def test_invoice_from_draft_to_paid_keeps_its_totals(fake: Fake) -> None:
    client = fake.client
    customer = fake.customer("billed@example.com")
    price = one_time_price(client, 700)
    pending = client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 300, "currency": "usd", "description": "setup"}
    )
    assert pending.invoice is None
    draft = client.v1.invoices.create(
        {"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert draft.status == "draft" and draft.number is None
    assert [line.parent.invoice_item_details.invoice_item for line in draft.lines.data] == [
        pending.id
    ]
    item = client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 1500, "currency": "usd", "invoice": draft.id}
    )
    priced = client.v1.invoice_items.create(
        {
            "customer": customer.id,
            "pricing": {"price": price.id},
            "quantity": 2,
            "invoice": draft.id,
        }
    )
    assert priced.amount == 1400 and priced.description == "Onboarding"
    assert [e.type for e in fake.events_of(request_id(item))] == [
        "invoiceitem.created",
        "invoice.updated",
    ]
    listed = client.v1.invoice_items.list({"invoice": draft.id}).data
    assert {i.id for i in listed} == {pending.id, item.id, priced.id}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.create(
            {"customer": customer.id, "amount": 1, "currency": "eur", "invoice": draft.id}
        )
    draft = client.v1.invoices.retrieve(draft.id)
    lines = draft.lines.data
    assert draft.subtotal == sum(line.amount for line in lines) == 300 + 1500 + 1400
    assert draft.total == draft.amount_due == draft.amount_remaining == draft.subtotal
    assert draft.amount_paid == 0
    opened = client.v1.invoices.finalize_invoice(draft.id)
    assert opened.status == "open" and opened.number and opened.amount_due == 3200
    assert [e.type for e in fake.events_of(request_id(opened))] == [
        "invoice.finalized",
        "payment_intent.created",
    ]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_items.create(
            {"customer": customer.id, "amount": 1, "currency": "usd", "invoice": draft.id}
        )
    paid = client.v1.invoices.pay(opened.id)
    assert paid.status == "paid" and paid.amount_paid == 3200 and paid.amount_remaining == 0
    assert paid.status_transitions.paid_at is not None and paid.attempt_count == 1
    expected = [
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
    ]
    assert [e.type for e in fake.events_of(request_id(paid))] == expected
    assert fake.delivered_for(request_id(paid)) == expected
    [payment] = client.v1.invoice_payments.list({"invoice": paid.id}).data
    assert payment.status == "paid" and payment.amount_paid == 3200
    [charge] = client.v1.charges.list({"customer": customer.id}).data
    assert charge.amount == 3200 and charge.payment_intent == payment.payment.payment_intent
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(paid.id)
    assert client.v1.customers.retrieve(customer.id).next_invoice_sequence == 2


def test_void_uncollectible_and_declined_invoices(fake: Fake, world_dir: Path) -> None:
    client = fake.client
    customer = fake.customer("late@example.com")

    def open_invoice(amount: int) -> Any:
        draft = client.v1.invoices.create({"customer": customer.id})
        client.v1.invoice_items.create(
            {"customer": customer.id, "amount": amount, "currency": "usd", "invoice": draft.id}
        )
        return client.v1.invoices.finalize_invoice(draft.id)

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(client.v1.invoices.create({"customer": customer.id}).id)
    doubtful = open_invoice(800)
    written_off = client.v1.invoices.mark_uncollectible(doubtful.id)
    assert written_off.status == "uncollectible" and written_off.amount_remaining == 800
    assert written_off.status_transitions.marked_uncollectible_at is not None
    assert [e.type for e in fake.events_of(request_id(written_off))] == [
        "invoice.marked_uncollectible"
    ]
    voided = client.v1.invoices.void_invoice(doubtful.id)
    assert voided.status == "void" and voided.amount_remaining == 0 and voided.amount_paid == 0
    assert [e.type for e in fake.events_of(request_id(voided))] == [
        "invoice.voided",
        "payment_intent.canceled",
    ]
    [payment] = client.v1.invoice_payments.list({"invoice": voided.id}).data
    intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert payment.status == "canceled" and intent.cancellation_reason == "void_invoice"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(voided.id)
    refused = open_invoice(900)
    with pytest.raises(stripe.CardError) as declined:
        client.v1.invoices.pay(refused.id, {"payment_method": "pm_card_chargeDeclined"})
    assert [e.type for e in fake.events_of(str(declined.value.request_id))] == [
        "charge.failed",
        "payment_intent.payment_failed",
        "invoice.updated",
        "invoice.payment_failed",
    ]
    still = client.v1.invoices.retrieve(refused.id)
    assert still.status == "open" and still.attempt_count == 1 and still.amount_remaining == 900
    settled = client.v1.invoices.pay(refused.id, {"paid_out_of_band": True})
    assert settled.status == "paid" and settled.amount_remaining == 0
    assert [e.type for e in fake.events_of(request_id(settled))] == [
        "payment_intent.canceled",
        "invoice.paid",
    ]
    world = client.v1.invoices.list({"status": "uncollectible"}).data[0]
    collected = client.v1.invoices.pay(world.id)
    assert collected.status == "paid" and collected.amount_paid == world.amount_due
    assert collected.attempt_count == world.attempt_count + 1


def test_dispute_evidence_verdicts_and_closing(fake: Fake) -> None:
    client = fake.client

    def disputed(amount: int, card: str = "pm_card_createDispute") -> Any:
        intent = client.v1.payment_intents.create(
            {
                "amount": amount,
                "currency": "usd",
                "payment_method": card,
                "confirm": True,
                "payment_method_types": ["card"],
            }
        )
        [dispute] = client.v1.disputes.list({"payment_intent": intent.id}).data
        return dispute

    dispute = disputed(6000)
    assert dispute.status == "needs_response" and dispute.amount == 6000
    [withdrawal] = dispute.balance_transactions
    assert withdrawal.amount == -6000 and withdrawal.fee == DISPUTE_FEES["usd"]
    assert client.v1.charges.retrieve(dispute.charge).disputed is True
    evidence = {"customer_name": "Ada", "product_description": "SaaS"}
    staged = client.v1.disputes.update(dispute.id, {"evidence": evidence, "submit": False})
    assert staged.status == "needs_response" and staged.evidence.customer_name == "Ada"
    assert staged.evidence_details.has_evidence and staged.evidence_details.submission_count == 0
    [update] = fake.events_of(request_id(staged))
    assert update.type == "charge.dispute.updated"
    assert update.data.previous_attributes.evidence_details.has_evidence is False
    tagged = client.v1.disputes.update(dispute.id, {"metadata": {"case": "7"}})
    assert tagged.metadata.case == "7" and tagged.status == "needs_response"
    submitted = client.v1.disputes.update(dispute.id, {"submit": True})
    assert submitted.status == "under_review"
    assert submitted.evidence_details.submission_count == 1
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.update(dispute.id, {"evidence": {"customer_name": "Bob"}})
    closed = client.v1.disputes.close(dispute.id)
    assert closed.status == "lost"
    assert [e.type for e in fake.events_of(request_id(closed))] == ["charge.dispute.closed"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.disputes.close(dispute.id)
    winner = disputed(3000)
    won = client.v1.disputes.update(
        winner.id, {"evidence": {"uncategorized_text": "winning_evidence"}}
    )
    assert won.status == "won"
    assert [bt.amount for bt in won.balance_transactions] == [-3000, 3000]
    assert [e.type for e in fake.events_of(request_id(won))] == [
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    inquiry = disputed(2000, "pm_card_createDisputeInquiry")
    assert inquiry.status == "warning_needs_response" and inquiry.balance_transactions == []
    assert client.v1.disputes.close(inquiry.id).status == "warning_closed"
    world = next(
        d
        for d in client.v1.disputes.list({"limit": 100, "created": {"lt": fake.now()}}).data
        if d.status in ("needs_response", "under_review")
    )
    assert client.v1.disputes.close(world.id).status == "lost"
