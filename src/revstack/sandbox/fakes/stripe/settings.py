"""The fake's tunable behaviour and its constants (object kinds, id prefixes, API paths)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from revstack.sandbox.world.stripe_render import API_VERSION

__all__ = ["API_VERSION", "RESOURCE_KINDS", "StripeFakeSettings"]


class StripeFakeSettings(BaseModel):
    """How the fake behaves where real Stripe's timing is not fixed. Change at run time with
    ``POST /_sandbox/stripe/config``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    search_lag_s: float = Field(60.0, ge=0)
    """Wall-clock seconds before an object written through the API becomes searchable."""
    webhook_retry_base_s: float = Field(2.0, gt=0)
    """Delay before the first retry of a failed webhook delivery; doubles with each attempt."""
    webhook_max_attempts: int = Field(6, ge=1)
    """Attempts per delivery before it counts as failed (real Stripe keeps trying 3 days)."""
    webhook_timeout_s: float = Field(10.0, gt=0)
    """How long a receiver may take to answer a delivery."""
    webhook_poll_s: float = Field(0.1, gt=0)
    """How often a running clock is checked for newly due world events."""
    idempotency_ttl_s: float = Field(24 * 3600.0, gt=0)
    """Wall-clock seconds an idempotent result is replayed."""
    event_retention_days: int = Field(30, ge=1)
    """How far back from the clock ``/v1/events`` reaches."""
    secret_roll_overlap_s: float = Field(24 * 3600.0, ge=0)
    """How long a rolled webhook secret keeps signing deliveries next to the new one."""


#: List/retrieve path segment -> object kind.
RESOURCE_KINDS: dict[str, str] = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "coupons": "coupon",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "invoiceitems": "invoiceitem",
    "invoice_payments": "invoice_payment",
    "payment_intents": "payment_intent",
    "charges": "charge",
    "refunds": "refund",
    "disputes": "dispute",
    "balance_transactions": "balance_transaction",
    "payouts": "payout",
}
