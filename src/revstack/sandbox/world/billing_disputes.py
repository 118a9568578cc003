"""Refunds and disputes of successful charges, with their balance transactions."""

from __future__ import annotations

from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.behaviour import DISPUTE_FEES
from revstack.sandbox.world.billing_state import BillingState
from revstack.sandbox.world.clock import DAY, HOUR, day_start
from revstack.sandbox.world.ids import stripe_id
from revstack.sandbox.world.rng import chance
from revstack.sandbox.world.stripe_model import (
    Charge,
    Dispute,
    Refund,
)

_REFUND_REASONS = ("requested_by_customer", "requested_by_customer", "duplicate", None)
_DISPUTE_REASONS = (
    ("fraudulent", "10.4"),
    ("product_not_received", "13.1"),
    ("subscription_canceled", "13.2"),
    ("duplicate", "12.6.1"),
    ("general", "13.7"),
)


class RefundsAndDisputes(BillingState):
    """Refunds and disputes of successful charges, with their balance transactions."""

    def _after_successful_charge(self, ts: int, charge: Charge) -> None:
        rng, b = self.rng, self.b
        draw = rng.random()
        if draw < b.refund_rate:
            bucket = rng.random()
            if bucket < 0.5:
                delay = rng.randint(HOUR, 7 * DAY)
            elif bucket < 0.85:
                delay = rng.randint(7 * DAY, 30 * DAY)
            else:
                delay = rng.randint(30 * DAY, 60 * DAY)
            self._at(ts + delay, self._refund, charge, chance(rng, b.partial_refund_share))
        elif draw < b.refund_rate + b.dispute_rate:
            delay = (
                rng.randint(3 * DAY, 120 * DAY)
                if chance(rng, 0.3)
                else rng.randint(10 * DAY, 60 * DAY)
            )
            self._at(ts + delay, self._open_dispute, charge)

    def _refund(self, ts: int, charge: Charge, partial: bool) -> None:
        rng, b = self.rng, self.b
        refundable = charge.amount - charge.amount_refunded
        if charge.disputed or refundable <= 0:
            return
        unit = 1 if charge.currency == "jpy" else 100
        amount = refundable
        if partial:
            amount = max(unit, (int(refundable * rng.uniform(0.1, 0.9)) // unit) * unit)
            amount = min(amount, refundable)
        pending = chance(rng, b.pending_refund_share)
        refund = Refund(
            id=stripe_id(self.rec.rng, "re", 24),
            created=ts,
            amount=amount,
            charge=charge,
            reason=rng.choice(_REFUND_REASONS),
            status="pending" if pending else "succeeded",
            balance_transaction=self._balance_transaction(
                ts, -amount, 0, charge.currency, "refund", "refund", "", ts, "REFUND FOR CHARGE"
            ),
        )
        refund.balance_transaction.source = refund.id
        self.refunds.append(refund)
        charge.amount_refunded += amount
        self.ledger.record("refunds", amount, charge.currency, ts, charge.created)
        cid = self.customer.id
        self.rec.emit("charge.refunded", render.charge(charge), ts, cid)
        self.rec.emit("refund.created", render.refund(refund), ts, cid)
        if pending:
            self._at(ts + rng.randint(DAY, 5 * DAY), self._settle_refund, refund)
        if (
            partial
            and charge.amount_refunded < charge.amount
            and chance(rng, b.second_refund_share)
        ):
            self._at(ts + rng.randint(DAY, 20 * DAY), self._refund, charge, False)

    def _settle_refund(self, ts: int, refund: Refund) -> None:
        charge, cid = refund.charge, self.customer.id
        if chance(self.rng, self.b.refund_failure_share):
            refund.status = "failed"
            refund.failure_reason = "expired_or_canceled_card"
            refund.failure_balance_transaction = self._balance_transaction(
                ts,
                refund.amount,
                0,
                charge.currency,
                "refund_failure",
                "refund_failure",
                refund.id,
                ts,
                "REFUND FAILURE",
            )
            charge.amount_refunded -= refund.amount
            self.ledger.record("refunds", -refund.amount, charge.currency, ts, charge.created)
            self.rec.emit("refund.failed", render.refund(refund), ts, cid)
            self.rec.emit("charge.refund.updated", render.refund(refund), ts, cid)
            self.rec.emit("charge.updated", render.charge(charge), ts, cid)
        else:
            refund.status = "succeeded"
            self.rec.emit("refund.updated", render.refund(refund), ts, cid)
            self.rec.emit("charge.refund.updated", render.refund(refund), ts, cid)

    def _open_dispute(self, ts: int, charge: Charge) -> None:
        rng, b = self.rng, self.b
        amount = charge.amount - charge.amount_refunded
        if charge.disputed or amount <= 0:
            return
        inquiry = chance(rng, b.inquiry_share)
        reason, code = rng.choice(_DISPUTE_REASONS)
        dispute = Dispute(
            id=stripe_id(self.rec.rng, "dp", 24),
            created=ts,
            amount=amount,
            charge=charge,
            reason=reason,
            inquiry=inquiry,
            status="warning_needs_response" if inquiry else "needs_response",
            due_by=day_start(ts) + rng.randint(7, 21) * DAY - 1,
            network_reason_code=code,
        )
        self.disputes.append(dispute)
        charge.disputed = True
        cid = self.customer.id
        self.rec.silent(render.charge(charge), ts, cid)
        self.rec.emit("charge.dispute.created", render.dispute(dispute, ts), ts, cid)
        if not inquiry:
            fee = DISPUTE_FEES[charge.currency]
            bt = self._balance_transaction(
                ts,
                -amount,
                fee,
                charge.currency,
                "adjustment",
                "dispute",
                dispute.id,
                ts,
                f"Chargeback withdrawal for {charge.id}",
            )
            dispute.balance_transactions.append(bt)
            self.ledger.record("dispute_losses", amount, charge.currency, ts, charge.created)
            self.ledger.record("fees", fee, charge.currency, ts, charge.created)
            self.rec.emit("charge.dispute.funds_withdrawn", render.dispute(dispute, ts), ts, cid)
        if chance(rng, b.evidence_share):
            when = ts + rng.randint(DAY, max(DAY + 1, dispute.due_by - ts - HOUR))
            self._at(when, self._submit_evidence, dispute)
            close = when + rng.randint(20 * DAY, 60 * DAY)
        else:
            self._at(dispute.due_by + 1, self._evidence_past_due, dispute)
            close = dispute.due_by + rng.randint(5 * DAY, 20 * DAY)
        self._at(close, self._close_dispute, dispute)

    def _submit_evidence(self, ts: int, dispute: Dispute) -> None:
        dispute.has_evidence = True
        dispute.submission_count = 1
        dispute.status = "warning_under_review" if dispute.inquiry else "under_review"
        self.rec.emit("charge.dispute.updated", render.dispute(dispute, ts), ts, self.customer.id)

    def _evidence_past_due(self, ts: int, dispute: Dispute) -> None:
        dispute.past_due = True
        self.rec.emit("charge.dispute.updated", render.dispute(dispute, ts), ts, self.customer.id)

    def _close_dispute(self, ts: int, dispute: Dispute) -> None:
        cid, charge = self.customer.id, dispute.charge
        if dispute.inquiry:
            dispute.status = "warning_closed"
            self.rec.emit("charge.dispute.closed", render.dispute(dispute, ts), ts, cid)
            return
        won = dispute.has_evidence and chance(self.rng, self.b.win_rate_with_evidence)
        if not won:
            dispute.status = "lost"
            self.rec.emit("charge.dispute.closed", render.dispute(dispute, ts), ts, cid)
            return
        dispute.status = "won"
        bt = self._balance_transaction(
            ts,
            dispute.amount,
            0,
            charge.currency,
            "adjustment",
            "dispute_reversal",
            dispute.id,
            day_start(ts) + 2 * DAY,
            f"Chargeback reversal for {charge.id}",
        )
        dispute.balance_transactions.append(bt)
        self.ledger.record("dispute_reversals", dispute.amount, charge.currency, ts, charge.created)
        self.rec.emit("charge.dispute.closed", render.dispute(dispute, ts), ts, cid)
        self.rec.emit("charge.dispute.funds_reinstated", render.dispute(dispute, ts), ts, cid)
