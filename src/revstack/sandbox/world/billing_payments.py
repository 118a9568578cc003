"""Invoices and card payments: finalising, charging, retrying and dunning."""

from __future__ import annotations

from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.behaviour import processing_fee
from revstack.sandbox.world.billing_state import BillingState, Line
from revstack.sandbox.world.clock import DAY, HOUR, day_start
from revstack.sandbox.world.ids import stripe_id
from revstack.sandbox.world.mrr import discount_amount
from revstack.sandbox.world.rng import chance
from revstack.sandbox.world.stripe_model import (
    Charge,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    PaymentIntent,
    PriceObj,
    Subscription,
)

_DECLINES = (
    ("insufficient_funds", "Your card has insufficient funds."),
    ("generic_decline", "Your card was declined."),
    ("expired_card", "Your card has expired."),
    ("do_not_honor", "Your card was declined."),
)


class Payments(BillingState):
    """Invoices and card payments: finalising, charging, retrying and dunning."""

    def _line(
        self,
        amount: int,
        description: str,
        start: int,
        end: int,
        quantity: int,
        price: PriceObj,
        sub: Subscription,
        proration: bool,
    ) -> InvoiceLine:
        return InvoiceLine(
            id=stripe_id(self.rec.rng, "il", 24),
            amount=amount,
            description=description,
            period_start=start,
            period_end=end,
            quantity=quantity,
            price=price,
            subscription_item=sub.item_id,
            proration=proration,
        )

    def _period_line(self, sub: Subscription, start: int, end: int) -> InvoiceLine:
        price = sub.price
        unit = price.spec.unit_amount
        amount_text = _format_amount(unit, price.spec.currency)
        interval = (
            price.spec.interval
            if price.spec.interval_count == 1
            else (f"{price.spec.interval_count} {price.spec.interval}s")
        )
        return self._line(
            unit * sub.quantity,
            f"{sub.quantity} seat \u00d7 {price.product.name} (at {amount_text} / {interval})",
            start,
            end,
            sub.quantity,
            price,
            sub,
            False,
        )

    def _new_invoice(
        self,
        ts: int,
        line: Line,
        reason: str,
        lines: list[InvoiceLine],
        period_start: int,
        period_end: int,
    ) -> Invoice:
        inv = self._draft_invoice(ts, line, reason, lines, period_start, period_end)
        self.rec.emit("invoice.created", render.invoice(inv), ts, self.customer.id)
        return inv

    def _draft_invoice(
        self,
        ts: int,
        line: Line,
        reason: str,
        lines: list[InvoiceLine],
        period_start: int,
        period_end: int,
    ) -> Invoice:
        sub = line.sub
        assert sub is not None
        inv = Invoice(
            id=stripe_id(self.rec.rng, "in", 24),
            number="",
            customer=self.customer,
            subscription=sub.id,
            created=ts,
            billing_reason=reason,
            currency=sub.price.spec.currency,
            lines=lines,
            period_start=period_start,
            period_end=period_end,
            customer_email=self.customer.email,
            customer_name=self.customer.name,
            customer_phone=self.customer.phone,
        )
        self._apply_discount(ts, line, inv)
        sub.latest_invoice = inv.id
        self.invoices.append(inv)
        return inv

    def _apply_discount(self, ts: int, line: Line, inv: Invoice) -> None:
        sub = line.sub
        assert sub is not None
        discount = sub.discount
        if discount is None or inv.subtotal <= 0:
            return
        spec = discount.coupon.spec
        if spec.duration == "once" and line.once_discount_used:
            return
        if discount.end is not None and ts >= discount.end:
            return
        if spec.percent_off is not None:
            # Percent discounts apply line by line, credits (negative lines) included.
            for item in inv.lines:
                sign = -1 if item.amount < 0 else 1
                item.discount_amount = sign * discount_amount(abs(item.amount), discount.terms)
        elif inv.billing_reason != "subscription_update":
            # Amount-off coupons take their amount off whole-period invoices only.
            remaining = discount_amount(inv.subtotal, discount.terms)
            for item in inv.lines:
                take = min(remaining, max(item.amount, 0))
                item.discount_amount = take
                remaining -= take
        else:
            return
        inv.discount = discount
        if spec.duration == "once":
            line.once_discount_used = True
            self._at(ts, self._end_discount, line, discount)

    def _finalize(self, ts: int, inv: Invoice) -> None:
        inv.status = "open"
        inv.finalized_at = ts
        inv.number = f"{self.customer.invoice_prefix}-{self.customer.next_invoice_sequence:04d}"
        self.customer.next_invoice_sequence += 1
        if inv.total <= 0:
            inv.status = "paid"
            inv.paid_at = ts
            self.rec.emit("invoice.finalized", render.invoice(inv), ts, self.customer.id)
            self.rec.emit("invoice.paid", render.invoice(inv), ts, self.customer.id)
            self.rec.emit("invoice.payment_succeeded", render.invoice(inv), ts, self.customer.id)
            return
        pi = PaymentIntent(
            id=stripe_id(self.rec.rng, "pi", 24),
            created=ts,
            amount=inv.total,
            currency=inv.currency,
            customer=self.customer.id,
            description="Subscription creation"
            if inv.billing_reason == "subscription_create"
            else "Subscription update",
            payment_method=self.customer.card.payment_method,
        )
        inv.payment_intent = pi
        inv.invoice_payment = InvoicePayment(
            id="inpay_" + stripe_id(self.rec.rng, "x", 24)[2:],
            invoice=inv.id,
            created=ts,
            amount_requested=inv.total,
            currency=inv.currency,
            payment_intent=pi.id,
        )
        # Stripe creates the open invoice payment without an event of its own.
        self.rec.silent(render.invoice_payment(inv.invoice_payment), ts, self.customer.id)
        self.rec.emit("invoice.finalized", render.invoice(inv), ts, self.customer.id)
        self.rec.emit("payment_intent.created", render.payment_intent(pi), ts, self.customer.id)

    def _finalize_and_charge(self, ts: int, line: Line, inv: Invoice) -> None:
        if inv.status != "draft":
            return
        self._finalize(ts, inv)
        self._collect(ts, line, inv)

    def _collect(self, ts: int, line: Line, inv: Invoice) -> None:
        """Charge a finalized invoice; one that needed no payment activates its subscription."""
        if inv.status == "open":
            self._attempt(ts, line, inv)
            return
        sub = line.sub
        if sub is not None and sub.latest_invoice == inv.id and sub.status == "incomplete":
            sub.status = "active"
            self.rec.emit(
                "customer.subscription.updated", render.subscription(sub, ts), ts, self.customer.id
            )
            self._sync(line, ts)

    def _attempt(self, ts: int, line: Line, inv: Invoice, card_fixed: bool = False) -> None:
        """One card payment attempt for an open invoice (`card_fixed`: it goes through)."""
        rng, b = self.rng, self.b
        pi = inv.payment_intent
        assert pi is not None and inv.invoice_payment is not None
        if card_fixed:
            ok = True
        elif inv.attempt_count == 0:
            ok = chance(
                rng, b.risky_first_attempt_success if self.risky_payer else b.first_attempt_success
            )
        else:
            ok = chance(rng, b.retry_success)
        inv.attempt_count += 1
        charge = Charge(
            id=stripe_id(self.rec.rng, "ch", 24),
            created=ts,
            amount=inv.total,
            currency=inv.currency,
            customer=self.customer,
            payment_intent=pi.id,
            description=pi.description,
            card=self.customer.card,
            status="succeeded" if ok else "failed",
            billing_email=self.customer.email,
            billing_name=self.customer.name,
        )
        self.charges.append(charge)
        pi.latest_charge = charge.id
        cid = self.customer.id
        sub = line.sub
        if ok:
            fee = processing_fee(charge.amount, charge.currency)
            charge.balance_transaction = self._balance_transaction(
                ts,
                charge.amount,
                fee,
                charge.currency,
                "charge",
                "charge",
                charge.id,
                day_start(ts) + 2 * DAY,
                pi.description,
            )
            self.ledger.record("gross", charge.amount, charge.currency, ts, ts)
            self.ledger.record("fees", fee, charge.currency, ts, ts)
            pi.status = "succeeded"
            inv.status = "paid"
            inv.paid_at = ts
            inv.next_payment_attempt = None
            inv.invoice_payment.status = "paid"
            inv.invoice_payment.paid_at = ts
            self.rec.emit("charge.succeeded", render.charge(charge), ts, cid)
            self.rec.emit("payment_intent.succeeded", render.payment_intent(pi), ts, cid)
            self.rec.emit(
                "invoice_payment.paid", render.invoice_payment(inv.invoice_payment), ts, cid
            )
            self.rec.emit("invoice.paid", render.invoice(inv), ts, cid)
            self.rec.emit("invoice.payment_succeeded", render.invoice(inv), ts, cid)
            if self.customer.delinquent:
                self.customer.delinquent = False
                self.rec.emit("customer.updated", render.customer(self.customer), ts, cid)
            if (
                sub is not None
                and sub.latest_invoice == inv.id
                and sub.status in ("past_due", "unpaid", "incomplete")
            ):
                sub.status = "active"
                self.rec.emit(
                    "customer.subscription.updated", render.subscription(sub, ts), ts, cid
                )
                self._sync(line, ts)
            self._after_successful_charge(ts, charge)
            if line.had_mrr and not self.second_workspace_considered:
                self.second_workspace_considered = True
                self._maybe_second_workspace(ts)
            return
        code, message = rng.choice(_DECLINES)
        charge.failure_code, charge.failure_message = code, message
        pi.status = "requires_payment_method"
        pi.last_error_code, pi.last_error_message = code, message
        retry_index = inv.attempt_count - 1
        in_dunning = sub is not None and sub.status not in ("incomplete",)
        if in_dunning and retry_index < len(b.retry_gaps_days):
            inv.next_payment_attempt = ts + b.retry_gaps_days[retry_index] * DAY
        else:
            inv.next_payment_attempt = None
        self.rec.emit("charge.failed", render.charge(charge), ts, cid)
        self.rec.emit("payment_intent.payment_failed", render.payment_intent(pi), ts, cid)
        failed = render.invoice(inv)
        # The attempt count and next retry changed: Stripe announces the update as well.
        self.rec.emit("invoice.updated", failed, ts, cid)
        self.rec.emit("invoice.payment_failed", failed, ts, cid)
        if not self.customer.delinquent:
            self.customer.delinquent = True
            self.rec.emit("customer.updated", render.customer(self.customer), ts, cid)
        if sub is None or not in_dunning:
            return
        if sub.status == "active":
            sub.status = "past_due"
            self.rec.emit("customer.subscription.updated", render.subscription(sub, ts), ts, cid)
            self._sync(line, ts)
        if inv.next_payment_attempt is not None:
            self._at(inv.next_payment_attempt, self._retry, line, inv)
        elif sub.status == "past_due":
            sub.status = "unpaid"
            self.rec.emit("customer.subscription.updated", render.subscription(sub, ts), ts, cid)
            self._sync(line, ts)
            last = sub.current_period_end - HOUR
            when = min(ts + self.rng.randint(3, 25) * DAY, last)
            self._at(max(when, ts + HOUR), self._resolve_unpaid, line, sub, inv)

    def _retry(self, ts: int, line: Line, inv: Invoice) -> None:
        if inv.status == "open" and line.sub is not None:
            self._attempt(ts, line, inv)

    def _retry_incomplete(self, ts: int, line: Line, sub: Subscription, inv: Invoice) -> None:
        if sub.status != "incomplete" or inv.status != "open":
            return
        self._attempt(ts, line, inv, card_fixed=True)

    def _expire_incomplete(self, ts: int, line: Line, sub: Subscription, inv: Invoice) -> None:
        if sub.status != "incomplete":
            return
        inv.status = "void"
        inv.voided_at = ts
        inv.next_payment_attempt = None
        self.rec.emit("invoice.voided", render.invoice(inv), ts, self.customer.id)
        sub.status = "incomplete_expired"
        sub.ended_at = ts
        self.rec.emit(
            "customer.subscription.deleted", render.subscription(sub, ts), ts, self.customer.id
        )
        self._sync(line, ts)
        line.sub = None
        if self.customer.delinquent:
            self.customer.delinquent = False
            self.rec.emit("customer.updated", render.customer(self.customer), ts, self.customer.id)

    def _resolve_unpaid(self, ts: int, line: Line, sub: Subscription, inv: Invoice) -> None:
        if line.sub is not sub or sub.status != "unpaid" or inv.status != "open":
            return
        if chance(self.rng, self.b.unpaid_recovery):
            self._attempt(ts, line, inv, card_fixed=True)
            return
        inv.status = "uncollectible"
        inv.marked_uncollectible_at = ts
        self.rec.emit("invoice.marked_uncollectible", render.invoice(inv), ts, self.customer.id)
        self._end_subscription(ts, line, sub, "payment_failed")
        if self.customer.delinquent:
            self.customer.delinquent = False
            self.rec.emit("customer.updated", render.customer(self.customer), ts, self.customer.id)


def _format_amount(amount: int, currency: str) -> str:
    if currency == "jpy":
        return f"¥{amount:,}"
    symbol = {"usd": "$", "eur": "€"}[currency]
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"
