"""The company's price book: products, prices and coupons, as plain data.

Plans are per seat. Prices exist in USD, EUR and JPY (a zero-decimal currency), monthly and
yearly; Enterprise also bills quarterly in USD. Pro's USD monthly price rises partway through
the period: existing subscriptions keep the old (archived) price.
"""

from __future__ import annotations

from dataclasses import dataclass

TIERS = ("starter", "pro", "enterprise")
TIER_RANK = {"free": 0, "starter": 1, "pro": 2, "enterprise": 3}
CURRENCIES = ("usd", "eur", "jpy")
ZERO_DECIMAL = frozenset({"jpy"})

#: Features each tier unlocks; product events use them and so do the delinquency models.
FEATURES_BY_TIER: dict[str, tuple[str, ...]] = {
    "free": ("editor", "comments"),
    "starter": ("editor", "comments", "templates", "export_pdf"),
    "pro": ("editor", "comments", "templates", "export_pdf", "automations", "api", "export_video"),
    "enterprise": (
        "editor",
        "comments",
        "templates",
        "export_pdf",
        "automations",
        "api",
        "export_video",
        "sso",
        "audit_log",
    ),
}
PAID_FEATURES = frozenset({"automations", "api", "export_video", "sso", "audit_log"})


@dataclass(frozen=True)
class ProductSpec:
    key: str
    name: str
    description: str


@dataclass(frozen=True)
class PriceSpec:
    key: str
    """Stable lookup key, e.g. ``pro_month_usd``."""
    tier: str
    currency: str
    interval: str
    interval_count: int
    unit_amount: int
    """Per seat per billing period, minor units."""
    available_from_month: int = 0
    """Month offset (from the world's start) from which new subscriptions use this price."""
    retired_from_month: int | None = None
    """Month offset from which the price is archived (existing subscriptions keep it)."""


@dataclass(frozen=True)
class CouponSpec:
    id: str
    name: str
    duration: str
    """``once``, ``repeating`` or ``forever``."""
    duration_in_months: int | None = None
    percent_off: int | None = None
    amount_off: int | None = None
    currency: str | None = None
    """Currency of `amount_off` (amount coupons only apply to that currency)."""


PRODUCTS = (
    ProductSpec("starter", "Starter", "For small teams getting started."),
    ProductSpec("pro", "Pro", "Automations, API access and video export."),
    ProductSpec("enterprise", "Enterprise", "SSO, audit log and priority support."),
)

# Monthly per-seat list prices; yearly prices are ten months' worth.
_MONTHLY = {
    "usd": {"starter": 1500, "pro": 4000, "enterprise": 9000},
    "eur": {"starter": 1400, "pro": 3700, "enterprise": 8400},
    "jpy": {"starter": 2000, "pro": 5500, "enterprise": 12000},
}
PRO_PRICE_RISE_MONTH = 9
PRO_USD_MONTHLY_AFTER_RISE = 4500


def _build_prices() -> tuple[PriceSpec, ...]:
    prices: list[PriceSpec] = []
    for currency, by_tier in _MONTHLY.items():
        for tier, monthly in by_tier.items():
            rises = currency == "usd" and tier == "pro"
            prices.append(
                PriceSpec(
                    f"{tier}_month_{currency}",
                    tier,
                    currency,
                    "month",
                    1,
                    monthly,
                    retired_from_month=PRO_PRICE_RISE_MONTH if rises else None,
                )
            )
            prices.append(
                PriceSpec(f"{tier}_year_{currency}", tier, currency, "year", 1, monthly * 10)
            )
    prices.append(
        PriceSpec(
            "pro_month_usd_v2",
            "pro",
            "usd",
            "month",
            1,
            PRO_USD_MONTHLY_AFTER_RISE,
            available_from_month=PRO_PRICE_RISE_MONTH,
        )
    )
    prices.append(PriceSpec("enterprise_quarter_usd", "enterprise", "usd", "month", 3, 25_500))
    return tuple(prices)


PRICES = _build_prices()
PRICE_BY_KEY = {price.key: price for price in PRICES}

COUPONS = (
    CouponSpec("WELCOME20", "20% off the first invoice", "once", percent_off=20),
    CouponSpec(
        "LAUNCH25", "25% off for 3 months", "repeating", duration_in_months=3, percent_off=25
    ),
    CouponSpec("PARTNER10", "10% partner discount", "forever", percent_off=10),
    CouponSpec("USD50ONCE", "$50 off the first invoice", "once", amount_off=5000, currency="usd"),
    CouponSpec(
        "USD20X6",
        "$20 off for 6 months",
        "repeating",
        duration_in_months=6,
        amount_off=2000,
        currency="usd",
    ),
    CouponSpec("EUR15", "€15 off every invoice", "forever", amount_off=1500, currency="eur"),
    CouponSpec(
        "JPY1000",
        "¥1,000 off for 3 months",
        "repeating",
        duration_in_months=3,
        amount_off=1000,
        currency="jpy",
    ),
)
COUPON_BY_ID = {coupon.id: coupon for coupon in COUPONS}


def price_for(
    tier: str, currency: str, interval: str, interval_count: int, month: int
) -> PriceSpec:
    """The price a new subscription of this shape gets in month `month` of the world."""
    for price in PRICES:
        if (
            price.tier == tier
            and price.currency == currency
            and price.interval == interval
            and price.interval_count == interval_count
            and price.available_from_month <= month
            and (price.retired_from_month is None or month < price.retired_from_month)
        ):
            return price
    raise KeyError(f"no price for {tier}/{currency}/{interval}x{interval_count} in month {month}")


def coupons_for(currency: str) -> tuple[CouponSpec, ...]:
    return tuple(c for c in COUPONS if c.currency in (None, currency))
