from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from revstack.sandbox.world.mrr import (
    DiscountTerms,
    classify_movement,
    discount_amount,
    monthly_amount,
    round_half_up,
    subscription_mrr,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(5, 2), 3),
        (Fraction(-5, 2), -3),
        (Fraction(7, 3), 2),
        (Fraction(8, 3), 3),
        (Fraction(0), 0),
        (Fraction(1, 2), 1),
    ],
    ids=["half-up", "negative-half-away", "down", "up", "zero", "one-half"],
)
def test_round_half_up(value: Fraction, expected: int) -> None:
    assert round_half_up(value) == expected


@pytest.mark.parametrize(
    ("amount", "interval", "count", "expected"),
    [
        (4000, "month", 1, 4000),
        (40000, "year", 1, 3333),  # 3333.33
        (100, "year", 1, 8),  # 8.33
        (6, "year", 1, 1),  # 0.5 rounds up
        (25500, "month", 3, 8500),
        (100, "day", 1, 3042),  # 3041.67
        (700, "week", 1, 3033),  # 3033.33
        (700, "week", 2, 1517),  # 1516.67
    ],
    ids=[
        "monthly",
        "yearly",
        "yearly-small",
        "yearly-half",
        "quarterly",
        "daily",
        "weekly",
        "fortnightly",
    ],
)
def test_monthly_amount(amount: int, interval: str, count: int, expected: int) -> None:
    assert monthly_amount(amount, interval, count) == expected


@given(st.integers(min_value=0, max_value=10**12))
def test_yearly_multiple_of_twelve_is_exact(monthly: int) -> None:
    assert monthly_amount(monthly * 12, "year", 1) == monthly


def test_discounts_follow_their_duration() -> None:
    once = DiscountTerms("once", percent_off=50)
    repeating = DiscountTerms("repeating", percent_off=25, end=1_000)
    forever = DiscountTerms("forever", amount_off=500)
    assert subscription_mrr("active", 1000, 2, "month", 1, once, 0) == 2000
    assert subscription_mrr("active", 1000, 2, "month", 1, repeating, 999) == 1500
    assert subscription_mrr("active", 1000, 2, "month", 1, repeating, 1_000) == 2000
    assert subscription_mrr("active", 1000, 2, "month", 1, forever, 10**9) == 1500


def test_amount_off_never_exceeds_the_amount() -> None:
    assert discount_amount(300, DiscountTerms("forever", amount_off=500)) == 300
    assert (
        subscription_mrr("active", 300, 1, "month", 1, DiscountTerms("forever", amount_off=500), 0)
        == 0
    )


def test_percent_discount_rounds_half_up() -> None:
    assert discount_amount(1250, DiscountTerms("forever", percent_off=10)) == 125
    assert discount_amount(1245, DiscountTerms("forever", percent_off=10)) == 125  # 124.5
    assert discount_amount(1244, DiscountTerms("forever", percent_off=10)) == 124


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        ("active", True),
        ("past_due", True),
        ("trialing", False),
        ("canceled", False),
        ("unpaid", False),
        ("incomplete", False),
        ("incomplete_expired", False),
        ("paused", False),
    ],
)
def test_only_active_and_past_due_count(status: str, counts: bool) -> None:
    assert (subscription_mrr(status, 1000, 1, "month", 1, None, 0) > 0) is counts


@pytest.mark.parametrize(
    ("previous", "current", "had_before", "expected"),
    [
        (0, 100, False, "new"),
        (0, 100, True, "reactivation"),
        (100, 0, True, "churn"),
        (100, 150, True, "expansion"),
        (150, 100, True, "contraction"),
        (100, 100, True, "none"),
        (0, 0, True, "none"),
    ],
)
def test_classify_movement(previous: int, current: int, had_before: bool, expected: str) -> None:
    assert classify_movement(previous, current, had_before) == expected
