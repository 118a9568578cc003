"""How the simulated company's customers behave: every rate the billing simulation draws from.

Rates are per customer, per subscription month or per charge as named. They are tuned to give
a plausible early-stage B2B SaaS business, not to match any real company.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _mix(**weights: float) -> dict[str, float]:
    return weights


@dataclass(frozen=True)
class Behaviour:
    signup_growth: float = 3.0
    """Sign-ups in the last month relative to the first (exponential growth)."""
    currency_mix: dict[str, float] = field(default_factory=lambda: _mix(usd=0.7, eur=0.2, jpy=0.1))
    sales_led_share: float = 0.4
    tier_mix_self_serve: dict[str, float] = field(
        default_factory=lambda: _mix(starter=0.6, pro=0.35, enterprise=0.05)
    )
    tier_mix_sales_led: dict[str, float] = field(
        default_factory=lambda: _mix(starter=0.1, pro=0.5, enterprise=0.4)
    )
    yearly_share_self_serve: float = 0.2
    yearly_share_sales_led: float = 0.55
    quarterly_share_enterprise_usd: float = 0.2
    seats_mean_self_serve: float = 3.0
    seats_mean_sales_led: float = 18.0
    trial_share_self_serve: float = 0.7
    trial_share_sales_led: float = 0.1
    trial_days: int = 14
    trial_conversion_self_serve: float = 0.62
    trial_conversion_sales_led: float = 0.9
    coupon_share: float = 0.25
    risky_payer_share: float = 0.1
    first_attempt_success: float = 0.97
    risky_first_attempt_success: float = 0.75
    retry_success: float = 0.4
    retry_gaps_days: tuple[int, ...] = (3, 2, 2)
    """Days between a failed attempt and the next retry (Smart Retries-like schedule)."""
    incomplete_recovery: float = 0.5
    """Share of failed first payments (subscription ``incomplete``) paid within 23 hours."""
    unpaid_recovery: float = 0.35
    """Share of ``unpaid`` subscriptions whose customer pays before the company cancels."""
    churn_hazard_monthly: dict[str, float] = field(
        default_factory=lambda: _mix(starter=0.045, pro=0.028, enterprise=0.012)
    )
    churn_hazard_yearly_plan: float = 0.004
    yearly_non_renewal: float = 0.15
    cancel_at_period_end_share: float = 0.8
    undo_cancel_share: float = 0.15
    upgrade_hazard: float = 0.02
    downgrade_hazard: float = 0.008
    seats_up_hazard: float = 0.05
    seats_down_hazard: float = 0.02
    refund_rate: float = 0.03
    partial_refund_share: float = 0.4
    second_refund_share: float = 0.15
    pending_refund_share: float = 0.12
    refund_failure_share: float = 0.1
    dispute_rate: float = 0.006
    inquiry_share: float = 0.15
    evidence_share: float = 0.8
    win_rate_with_evidence: float = 0.55
    come_back_share: float = 0.12
    second_workspace_share: float = 0.08
    contact_change_share: float = 0.08
    free_mail_share: float = 0.1
    billing_alias_share: float = 0.1
    hubspot_id_in_metadata: float = 0.5
    salesforce_id_in_metadata: float = 0.6


#: Stripe processing fee per currency: (basis points, fixed minor units).
PROCESSING_FEES = {"usd": (290, 30), "eur": (150, 25), "jpy": (360, 0)}
#: Stripe's dispute fee per currency, minor units (not returned when the dispute is won).
DISPUTE_FEES = {"usd": 1500, "eur": 2000, "jpy": 2000}


def processing_fee(amount: int, currency: str) -> int:
    """Stripe's fee on a successful card charge, rounded half up to the minor unit."""
    bps, fixed = PROCESSING_FEES[currency]
    return (amount * bps + 5_000) // 10_000 + fixed
