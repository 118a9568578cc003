"""Invoices and invoice items written through the API: their shapes, their totals, and the
steps of an invoice's life (finalizing, paying, releasing its open payment), each emitting
the events the world's billing emits in the same order."""

from __future__ import annotations

from dataclasses import dataclass

from revstack.sandbox.fakes.stripe.cards import PaymentCard
from revstack.sandbox.fakes.stripe.charging import Attempt
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.intents import (
    IntentFields,
    attempt_payment,
    cancel_intent,
    new_intent,
)
from revstack.sandbox.fakes.stripe.models import customer_model, shaped, test_card
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.world_index import Record
from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.stripe_model import Invoice, InvoicePayment

OPEN_INTENT = ("requires_payment_method", "requires_confirmation", "requires_action")


@dataclass(frozen=True)
class NewInvoice:
    customer: Json
    currency: str
    collection_method: str
    auto_advance: bool
    description: str | None
    footer: str | None
    metadata: dict[str, str]
    due_date: int | None
    subscription: str | None


def new_invoice(write: Write, spec: NewInvoice) -> Json:
    """A draft with no lines."""
    customer = spec.customer
    model = Invoice(
        id=write.store.new_id("in"),
        number="",
        customer=customer_model(customer, test_card(""), 1),
        subscription=spec.subscription or "",
        created=write.at,
        billing_reason="manual",
        currency=spec.currency,
        lines=[],
        period_start=write.at,
        period_end=write.at,
    )
    obj = render.invoice(model)
    parent = None
    if spec.subscription:
        parent = obj["parent"]
    obj.update(
        parent=parent,
        collection_method=spec.collection_method,
        auto_advance=spec.auto_advance,
        description=spec.description,
        footer=spec.footer,
        metadata=dict(spec.metadata),
        due_date=spec.due_date,
        customer_email=customer.get("email"),
        customer_name=customer.get("name"),
        customer_phone=customer.get("phone"),
        customer_address=customer.get("address") or obj["customer_address"],
    )
    settle(obj)
    return obj


def pricing(price: Json | None) -> Json | None:
    if price is None:
        return None
    return {
        "price_details": {"price": price["id"], "product": price["product"]},
        "type": "price_details",
        "unit_amount_decimal": price.get("unit_amount_decimal") or str(price["unit_amount"]),
    }


def line_for(write: Write, item: Json) -> Json:
    """The invoice line an invoice item becomes."""
    subscription = (item.get("parent") or {}).get("subscription_details") or {}
    return shaped(
        "line_item",
        {
            "amount": item["amount"],
            "currency": item["currency"],
            "description": item["description"],
            "discount_amounts": [],
            "discountable": item["discountable"],
            "discounts": [],
            "id": write.store.new_id("il"),
            "invoice": item["invoice"],
            "livemode": False,
            "metadata": dict(item["metadata"]),
            "object": "line_item",
            "period": dict(item["period"]),
            "quantity": item["quantity"],
            "subscription": subscription.get("subscription"),
            "pretax_credit_amounts": [],
            "taxes": [],
            "parent": {
                "invoice_item_details": {
                    "invoice_item": item["id"],
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": subscription.get("subscription"),
                },
                "subscription_item_details": None,
                "type": "invoice_item_details",
            },
            "pricing": item["pricing"],
            "subtotal": item["amount"],
            "quantity_decimal": str(item["quantity"]),
        },
    )


def settle(invoice: Json) -> None:
    """Totals from the lines: subtotal is their sum; total takes off their discounts;
    amount due is the total (never below 0); remaining is due less paid (0 once paid or
    void)."""
    lines = invoice["lines"]["data"]
    subtotal = sum(line["amount"] for line in lines)
    discount = sum(d["amount"] for line in lines for d in line.get("discount_amounts") or ())
    total = subtotal - discount
    due = max(total, 0)
    invoice.update(
        subtotal=subtotal,
        subtotal_excluding_tax=subtotal,
        total=total,
        total_excluding_tax=total,
        amount_due=due,
    )
    done = invoice["status"] in ("paid", "void")
    invoice["amount_remaining"] = 0 if done else due - (invoice.get("amount_paid") or 0)


def _transitions(invoice: Json, **changes: int) -> Json:
    return {**(invoice.get("status_transitions") or {}), **changes}


class InvoiceFlow:
    """The steps of one invoice's life, as part of `write`."""

    def __init__(self, write: Write) -> None:
        self.write = write
        self.store = write.store
        self.at = write.at

    def finalize(self, record: Record, before: Json, auto_advance: bool | None = None) -> Json:
        """Number the draft and open it, with its payment intent; a draft with nothing due
        is paid at once."""
        write, at, store = self.write, self.at, self.store
        customer_id = before["customer"]
        customer = store.state(store.records[customer_id], at) or {}
        sequence = store.time.next_invoice_sequence(customer_id, at)
        after = {**before, "status": "open", "effective_at": at, "ending_balance": 0}
        after["number"] = f"{customer.get('invoice_prefix') or 'FAKE0000'}-{sequence:04d}"
        after["status_transitions"] = _transitions(before, finalized_at=at)
        if auto_advance is not None:
            after["auto_advance"] = auto_advance
        write.finalized(customer_id)
        settle(after)
        if after["amount_due"] <= 0:
            after["status"] = "paid"
            after["status_transitions"] = _transitions(after, paid_at=at)
            settle(after)
            write.update(record, after, end_script=True)
            for event_type in ("invoice.finalized", "invoice.paid", "invoice.payment_succeeded"):
                write.emit(event_type, after)
            return after
        write.update(record, after, end_script=True)
        write.emit("invoice.finalized", after)
        self._new_payment(after)
        return after

    def _new_payment(self, invoice: Json) -> tuple[Record, Json, Record, Json]:
        write, at, store = self.write, self.at, self.store
        fields = IntentFields(
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer=invoice["customer"],
            description="Payment for Invoice",
            metadata={},
        )
        intent = new_intent(store, at, fields)
        payment = InvoicePayment(
            id="inpay_" + store.new_id("x")[2:],
            invoice=invoice["id"],
            created=at,
            amount_requested=invoice["amount_due"],
            currency=invoice["currency"],
            payment_intent=intent["id"],
        )
        payment_json = render.invoice_payment(payment)
        payment_record = write.create(payment_json)
        intent_record = write.create(intent)
        write.emit("payment_intent.created", intent)
        return payment_record, payment_json, intent_record, intent

    def open_payment(self, invoice: Json) -> tuple[Record, Json, Record, Json] | None:
        """The invoice's payment still waiting for money, and its payment intent."""
        for payment_id in reversed(self.store.related("invoice_payment", "invoice", invoice["id"])):
            payment_record = self.store.records[payment_id]
            payment = self.store.state(payment_record, self.at)
            if payment is None or payment["status"] != "open":
                continue
            intent_id = (payment.get("payment") or {}).get("payment_intent")
            intent_record = self.store.get(intent_id or "", "payment_intent")
            intent = self.store.state(intent_record, self.at) if intent_record else None
            if intent_record is not None and intent is not None and intent["status"] in OPEN_INTENT:
                return payment_record, payment, intent_record, intent
        return None

    def pay(
        self, record: Record, before: Json, payment: PaymentCard, customer: Json
    ) -> tuple[Json, Attempt]:
        """One payment attempt on an open (or uncollectible) invoice."""
        write, at = self.write, self.at
        found = self.open_payment(before) or self._new_payment(before)
        payment_record, payment_json, intent_record, intent = found
        intent, attempt = attempt_payment(write, intent_record, intent, payment, customer)
        after = {**before, "attempt_count": (before.get("attempt_count") or 0) + 1}
        after.update(attempted=True, next_payment_attempt=None)
        if not attempt.succeeded:
            write.update(record, after, end_script=True)
            write.emit_update("invoice.updated", before, after)
            write.emit("invoice.payment_failed", after)
            return intent, attempt
        paid = {**payment_json, "status": "paid", "amount_paid": payment_json["amount_requested"]}
        paid["status_transitions"] = {**payment_json["status_transitions"], "paid_at": at}
        write.update(payment_record, paid, end_script=True)
        write.emit("invoice_payment.paid", paid)
        self._mark_paid(record, after)
        write.emit("invoice.payment_succeeded", after)
        return intent, attempt

    def _mark_paid(self, record: Record, after: Json) -> None:
        after.update(status="paid", amount_paid=after["amount_due"], auto_advance=False)
        after["status_transitions"] = _transitions(after, paid_at=self.at)
        settle(after)
        self.write.update(record, after, end_script=True)
        self.write.emit("invoice.paid", after)

    def paid_out_of_band(self, record: Record, before: Json) -> None:
        self.release(before, None)
        self._mark_paid(record, {**before, "next_payment_attempt": None})

    def release(self, invoice: Json, reason: str | None) -> None:
        """Cancel the invoice's open payment (it was voided or settled elsewhere)."""
        found = self.open_payment(invoice)
        if found is None:
            return
        payment_record, payment, intent_record, intent = found
        canceled = {**payment, "status": "canceled"}
        canceled["status_transitions"] = {**payment["status_transitions"], "canceled_at": self.at}
        self.write.update(payment_record, canceled, end_script=True)
        cancel_intent(self.write, intent_record, intent, reason)
