"""The life of one customer in Stripe, simulated event by event.

A customer signs up (often with a trial), pays by card each period, changes plan and seats,
sometimes fails to pay, cancels, comes back, asks for refunds and disputes charges. Every
change updates the simulation's own records (`stripe_model`), is emitted as the Stripe events
real Stripe would send, and feeds the ground truth: MRR change points, workspace plan spans and
the revenue ledger. Nothing here reads back what was emitted.

The simulation is composed of parts with one job each: `billing_subscriptions` (the
subscription lifecycle), `billing_payments` (invoices and payments), `billing_disputes`
(refunds and disputes) and `billing_truth` (ground truth), over the shared `billing_state`.
"""

from __future__ import annotations

import heapq

from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.billing_disputes import RefundsAndDisputes
from revstack.sandbox.world.billing_payments import Payments
from revstack.sandbox.world.billing_state import BillingOutcome
from revstack.sandbox.world.billing_subscriptions import SubscriptionLifecycle
from revstack.sandbox.world.billing_truth import TruthKeeping, plan_span


class CustomerSimulation(SubscriptionLifecycle, Payments, RefundsAndDisputes, TruthKeeping):
    """Simulates customer `index` of the world from sign-up to the world's end."""

    def run(self) -> BillingOutcome:
        self._at(self.customer.created, self._sign_up)
        while self._agenda:
            action = heapq.heappop(self._agenda)
            if action.ts >= self.window.end:
                break
            action.fn(action.ts, *action.args)
        self._finish()
        return BillingOutcome(self.story, self.ledger, dict(self.available), self.redemptions)

    def _finish(self) -> None:
        end = self.window.end
        for line in self.lines:
            if line.span_key is not None and end > line.span_start:
                line.workspace.spans.append(plan_span(line.span_key, line.span_start, end))
        rec, cid = self.rec, self.customer.id
        rec.final("customer", render.customer(self.customer), cid)
        for sub in self.subscriptions:
            rec.final("subscription", render.subscription(sub, end), cid)
        for discount in self.discounts:
            rec.final("discount", render.discount(discount), cid)
        for inv in self.invoices:
            rec.final("invoice", render.invoice(inv), cid)
            if inv.payment_intent is not None:
                rec.final("payment_intent", render.payment_intent(inv.payment_intent), cid)
            if inv.invoice_payment is not None:
                rec.final("invoice_payment", render.invoice_payment(inv.invoice_payment), cid)
        for charge in self.charges:
            rec.final("charge", render.charge(charge), cid)
        for refund in self.refunds:
            rec.final("refund", render.refund(refund), cid)
        for dispute in self.disputes:
            rec.final("dispute", render.dispute(dispute, end), cid)
        for bt in self.balance_transactions:
            rec.final("balance_transaction", render.balance_transaction(bt, end), cid)
