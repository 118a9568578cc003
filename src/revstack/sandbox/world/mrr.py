"""Monthly recurring revenue, exactly, in integer minor units.

The rules (see docs/sandbox.md and the metric definitions):

- A subscription's period amount is unit amount x quantity, minus a discount in force:
  percent discounts round half up to the minor unit; amount discounts never exceed the
  amount. ``once`` coupons never reduce MRR; ``repeating`` ones only until their end.
- The period amount is normalised to a month: day x365/12, week x52/12, month x1,
  year /12, each divided by the interval count, rounded half up to the minor unit.
- Only ``active`` and ``past_due`` subscriptions count; every other status is 0.
- A customer's MRR is the sum of their subscriptions' MRR; a day's MRR is the MRR in force at
  the end of that day; a month's MRR is its last day's.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

COUNTING_STATUSES = frozenset({"active", "past_due"})

# Months per interval unit, as a fraction: the factor that turns one interval into a month.
_MONTHS_FACTOR = {
    "day": Fraction(365, 12),
    "week": Fraction(52, 12),
    "month": Fraction(1),
    "year": Fraction(1, 12),
}

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation", "none")


def round_half_up(value: Fraction) -> int:
    """Nearest integer, halves away from zero (so -2.5 -> -3 and 2.5 -> 3)."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    return sign * int(
        (magnitude.numerator * 2 + magnitude.denominator) // (2 * magnitude.denominator)
    )


@dataclass(frozen=True)
class DiscountTerms:
    """What a coupon takes off each period while it is in force."""

    duration: str
    percent_off: int | None = None
    amount_off: int | None = None
    end: int | None = None
    """Unix seconds when a ``repeating`` discount stops applying (None: no end)."""

    def reduces_mrr_at(self, ts: int) -> bool:
        if self.duration == "once":
            return False
        return self.end is None or ts < self.end


def discount_amount(subtotal: int, terms: DiscountTerms) -> int:
    """Amount a discount takes off a (non-negative) subtotal, in minor units."""
    if terms.percent_off is not None:
        return round_half_up(Fraction(subtotal * terms.percent_off, 100))
    if terms.amount_off is not None:
        return min(terms.amount_off, max(subtotal, 0))
    return 0


def monthly_amount(period_amount: int, interval: str, interval_count: int) -> int:
    """A recurring amount per billing period, normalised to one month."""
    factor = _MONTHS_FACTOR[interval] / interval_count
    return round_half_up(period_amount * factor)


def subscription_mrr(
    status: str,
    unit_amount: int,
    quantity: int,
    interval: str,
    interval_count: int,
    discount: DiscountTerms | None,
    at: int,
) -> int:
    """MRR of a single-price subscription in force at `at` (Unix seconds)."""
    if status not in COUNTING_STATUSES:
        return 0
    amount = unit_amount * quantity
    if discount is not None and discount.reduces_mrr_at(at):
        amount -= discount_amount(amount, discount)
    return monthly_amount(amount, interval, interval_count)


def classify_movement(previous: int, current: int, had_mrr_before: bool) -> str:
    """Movement of a customer between two month ends.

    `had_mrr_before` tells whether the customer had MRR > 0 at any earlier month end than the
    previous one (it distinguishes a reactivation from a new customer).
    """
    if previous == 0 and current > 0:
        return "reactivation" if had_mrr_before else "new"
    if previous > 0 and current == 0:
        return "churn"
    if previous > 0 and current > previous:
        return "expansion"
    if previous > 0 and current < previous:
        return "contraction"
    return "none"
