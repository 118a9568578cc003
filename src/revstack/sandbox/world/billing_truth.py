"""Ground truth kept as the simulation changes its records: MRR, plan spans, movements."""

from __future__ import annotations

from typing import Any

from revstack.sandbox.world.billing_state import BillingState, Line
from revstack.sandbox.world.catalog import (
    TIER_RANK,
)
from revstack.sandbox.world.mrr import subscription_mrr
from revstack.sandbox.world.story import (
    PlanSpan,
    TierChange,
)


class TruthKeeping(BillingState):
    """Ground truth kept as the simulation changes its records: MRR, plan spans, movements."""

    def _sync(self, line: Line, ts: int) -> None:
        """Recompute the line's MRR and record spans, commercial changes and customer MRR."""
        sub = line.sub
        if sub is None:
            return
        spec = sub.price.spec
        discount = sub.discount.terms if sub.discount is not None else None
        line.mrr = subscription_mrr(
            sub.status,
            spec.unit_amount,
            sub.quantity,
            spec.interval,
            spec.interval_count,
            discount,
            ts,
        )
        ended = sub.status in ("canceled", "incomplete_expired")
        tier = "free" if ended else spec.tier
        key = (
            tier,
            None if ended else sub.price.product.id,
            None if ended else sub.price.id,
            sub.status,
            0 if ended else sub.quantity,
            line.mrr,
        )
        self._record_span(line, ts, key)
        tier_before, seats_before, mrr_before = line.snapshot
        seats_after = 0 if line.mrr == 0 else sub.quantity
        tier_after = tier if line.mrr > 0 else "free"
        if (tier_before, seats_before, mrr_before) != (tier_after, seats_after, line.mrr):
            kind = classify_change(
                line, tier_before, tier_after, seats_before, seats_after, mrr_before, line.mrr
            )
            if kind is not None:
                self.story.tier_changes.append(
                    TierChange(
                        ts,
                        line.workspace.workspace_id,
                        kind,
                        tier_before,
                        tier_after,
                        seats_before,
                        seats_after,
                        mrr_before,
                        line.mrr,
                    )
                )
            line.snapshot = (tier_after, seats_after, line.mrr)
        if line.mrr > 0:
            line.had_mrr = True
        total = sum(other.mrr for other in self.lines)
        changes = self.story.mrr_changes
        if changes and changes[-1][0] == ts:
            changes[-1] = (ts, total)
            if len(changes) > 1 and changes[-2][1] == total:
                changes.pop()
        elif (changes[-1][1] if changes else 0) != total:
            changes.append((ts, total))

    def _record_span(self, line: Line, ts: int, key: tuple[Any, ...]) -> None:
        if key == line.span_key:
            return
        if line.span_key is not None and ts > line.span_start:
            line.workspace.spans.append(plan_span(line.span_key, line.span_start, ts))
        line.span_key = key
        line.span_start = ts


def plan_span(key: tuple[Any, ...], start: int, end: int) -> PlanSpan:
    tier, product_id, price_id, status, seats, mrr = key
    return PlanSpan(start, end, tier, product_id, price_id, status, seats, mrr)


def classify_change(
    line: Line,
    tier_before: str,
    tier_after: str,
    seats_before: int,
    seats_after: int,
    mrr_before: int,
    mrr_after: int,
) -> str | None:
    if mrr_before == 0 and mrr_after > 0:
        return "reactivation" if line.had_mrr else "new"
    if mrr_before > 0 and mrr_after == 0:
        return "churn"
    if TIER_RANK[tier_after] > TIER_RANK[tier_before]:
        return "upgrade"
    if TIER_RANK[tier_after] < TIER_RANK[tier_before]:
        return "downgrade"
    if seats_after > seats_before:
        return "seats_up"
    if seats_after < seats_before:
        return "seats_down"
    return None
