"""A subscription created through the API, billed the way the world bills its own: the
subscription and its first invoice, then (unless it is a trial) a payment intent, a card
charge that succeeds, its balance transaction, and the events, in the world's order."""

from __future__ import annotations

from dataclasses import dataclass

from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.models import (
    card_from,
    coupon_model,
    customer_model,
    price_model,
)
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.world_index import Record
from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.behaviour import PROCESSING_FEES, processing_fee
from revstack.sandbox.world.clock import DAY, add_months, day_start
from revstack.sandbox.world.mrr import discount_amount
from revstack.sandbox.world.stripe_model import (
    BalanceTransaction,
    Charge,
    Discount,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    PaymentIntent,
    Subscription,
)


@dataclass(frozen=True)
class NewSubscription:
    customer: Record
    customer_state: Json
    price: Json
    product: Json
    quantity: int
    trial_days: int | None
    metadata: dict[str, str]
    coupon: Json | None


def period_end(start: int, interval: str, count: int) -> int:
    if interval == "year":
        return add_months(start, 12 * count)
    if interval == "month":
        return add_months(start, count)
    return start + (DAY if interval == "day" else 7 * DAY) * count


def fee(amount: int, currency: str) -> int:
    if currency in PROCESSING_FEES:
        return processing_fee(amount, currency)
    return processing_fee(amount, "usd")


def _money(amount: int, currency: str) -> str:
    if currency == "jpy":
        return f"¥{amount:,}"
    symbol = {"usd": "$", "eur": "€"}.get(currency, currency.upper() + " ")
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"


def _last_charge(write: Write, customer_id: str) -> Json | None:
    index = write.store.index("charge")
    for position in range(len(index) - 1, -1, -1):
        record = write.store.records[index.ids[position]]
        if record.customer == customer_id and record.created <= write.at:
            return write.store.state(record, write.at)
    return None


class SubscriptionBilling:
    """Creates one subscription with its first invoice and payment, as part of `write`."""

    def __init__(self, write: Write) -> None:
        self.write = write
        self.store = write.store
        self.at = write.at

    def create(self, new: NewSubscription) -> Record:
        write, at, store = self.write, self.at, self.store
        customer = new.customer_state
        cid = customer["id"]
        card = card_from(customer, _last_charge(write, cid), store.new_id("pm"))
        model = customer_model(customer, card, store.time.next_invoice_sequence(cid, at))
        currency = new.price["currency"]
        if customer.get("currency") is None:
            before = dict(customer)
            customer["currency"] = model.currency = currency
            write.update(new.customer, customer, patch=({"currency": currency}, None))
            write.emit_update("customer.updated", before, customer)
        price = price_model(new.price, new.product)
        recurring = new.price["recurring"]
        trial = bool(new.trial_days)
        end = (
            at + (new.trial_days or 0) * DAY
            if trial
            else period_end(at, recurring["interval"], recurring["interval_count"])
        )
        sub = Subscription(
            id=store.new_id("sub"),
            customer=cid,
            created=at,
            item_id=store.new_id("si", 14),
            item_created=at,
            price=price,
            quantity=new.quantity,
            status="trialing" if trial else "incomplete",
            current_period_start=at,
            current_period_end=end,
            billing_cycle_anchor=end if trial else at,
            workspace_id="",
            trial_start=at if trial else None,
            trial_end=end if trial else None,
        )
        if new.coupon is not None:
            coupon = coupon_model(new.coupon)
            months = coupon.spec.duration_in_months
            sub.discount = Discount(
                id=store.new_id("di"),
                coupon=coupon,
                customer=cid,
                subscription=sub.id,
                start=at,
                end=add_months(at, months)
                if coupon.spec.duration == "repeating" and months
                else None,
            )
            write.redeemed(coupon.spec.id)
        unit = price.spec.unit_amount
        line = InvoiceLine(
            id=store.new_id("il"),
            amount=0 if trial else unit * new.quantity,
            description=f"Trial period for {price.product.name}"
            if trial
            else f"{new.quantity} \u00d7 {price.product.name} (at {_money(unit, currency)} / "
            f"{price.spec.interval})",
            period_start=at,
            period_end=end,
            quantity=new.quantity,
            price=price,
            subscription_item=sub.item_id,
            proration=False,
        )
        invoice = Invoice(
            id=store.new_id("in"),
            number="",
            customer=model,
            subscription=sub.id,
            created=at,
            billing_reason="subscription_create",
            currency=currency,
            lines=[line],
            period_start=at,
            period_end=at,
            customer_email=model.email,
            customer_name=model.name,
            customer_phone=model.phone,
        )
        self._discount(invoice, sub.discount)
        sub.latest_invoice = invoice.id
        sub_record = write.create(self._subscription(sub, new))
        write.emit("customer.subscription.created", self._subscription(sub, new))
        if sub.discount is not None:
            discount = render.discount(sub.discount)
            write.create(discount)
            write.emit("customer.discount.created", discount)
        invoice_record = write.create(render.invoice(invoice))
        write.emit("invoice.created", render.invoice(invoice))
        self._finalize_and_pay(invoice, invoice_record, model.card.payment_method)
        if not trial:
            before = self._subscription(sub, new)
            sub.status = "active"
            after = self._subscription(sub, new)
            write.update(sub_record, after)
            write.emit_update("customer.subscription.updated", before, after)
        return sub_record

    def _subscription(self, sub: Subscription, new: NewSubscription) -> Json:
        obj = render.subscription(sub, self.at)
        obj["metadata"] = dict(new.metadata)
        obj["items"]["data"][0]["price"] = dict(new.price)
        return obj

    @staticmethod
    def _discount(invoice: Invoice, discount: Discount | None) -> None:
        if discount is None or invoice.subtotal <= 0:
            return
        spec = discount.coupon.spec
        if spec.percent_off is not None:
            for item in invoice.lines:
                item.discount_amount = discount_amount(item.amount, discount.terms)
        else:
            remaining = discount_amount(invoice.subtotal, discount.terms)
            for item in invoice.lines:
                take = min(remaining, max(item.amount, 0))
                item.discount_amount = take
                remaining -= take
        invoice.discount = discount

    def _finalize_and_pay(self, invoice: Invoice, record: Record, payment_method: str) -> None:
        write, at, store = self.write, self.at, self.store
        customer = invoice.customer
        invoice.status = "open"
        invoice.finalized_at = at
        invoice.number = f"{customer.invoice_prefix}-{customer.next_invoice_sequence:04d}"
        write.finalized(customer.id)
        if invoice.total <= 0:
            invoice.status = "paid"
            invoice.paid_at = at
            for event_type in ("invoice.finalized", "invoice.paid", "invoice.payment_succeeded"):
                write.emit(event_type, render.invoice(invoice))
            write.update(record, render.invoice(invoice))
            return
        intent = PaymentIntent(
            id=store.new_id("pi"),
            created=at,
            amount=invoice.total,
            currency=invoice.currency,
            customer=customer.id,
            description="Subscription creation",
            payment_method=payment_method,
        )
        invoice.payment_intent = intent
        payment = InvoicePayment(
            id="inpay_" + store.new_id("x")[2:],
            invoice=invoice.id,
            created=at,
            amount_requested=invoice.total,
            currency=invoice.currency,
            payment_intent=intent.id,
        )
        invoice.invoice_payment = payment
        payment_record = write.create(render.invoice_payment(payment))
        write.update(record, render.invoice(invoice))
        write.emit("invoice.finalized", render.invoice(invoice))
        intent_record = write.create(render.payment_intent(intent))
        write.emit("payment_intent.created", render.payment_intent(intent))
        charge = Charge(
            id=store.new_id("ch"),
            created=at,
            amount=invoice.total,
            currency=invoice.currency,
            customer=customer,
            payment_intent=intent.id,
            description=intent.description,
            card=customer.card,
            status="succeeded",
            billing_email=customer.email,
            billing_name=customer.name,
        )
        charge.balance_transaction = BalanceTransaction(
            id=store.new_id("txn"),
            created=at,
            amount=charge.amount,
            fee=fee(charge.amount, charge.currency),
            currency=charge.currency,
            type="charge",
            reporting_category="charge",
            source=charge.id,
            available_on=day_start(at) + 2 * DAY,
            description=intent.description,
        )
        write.create(render.balance_transaction(charge.balance_transaction, at))
        intent.status = "succeeded"
        intent.latest_charge = charge.id
        invoice.status = "paid"
        invoice.paid_at = at
        invoice.attempt_count = 1
        payment.status = "paid"
        payment.paid_at = at
        write.create(render.charge(charge))
        write.emit("charge.succeeded", render.charge(charge))
        write.update(intent_record, render.payment_intent(intent))
        write.emit("payment_intent.succeeded", render.payment_intent(intent))
        write.update(payment_record, render.invoice_payment(payment))
        write.emit("invoice_payment.paid", render.invoice_payment(payment))
        write.update(record, render.invoice(invoice))
        write.emit("invoice.paid", render.invoice(invoice))
        write.emit("invoice.payment_succeeded", render.invoice(invoice))
