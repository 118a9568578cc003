"""The billing simulation's own state: one mutable record per Stripe object.

These records are the truth the simulation reasons about; Stripe-shaped JSON is rendered from
them (`stripe_render`) whenever an event is emitted or the world's final state is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from revstack.sandbox.world.catalog import CouponSpec, PriceSpec
from revstack.sandbox.world.mrr import DiscountTerms


@dataclass
class Card:
    payment_method: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    country: str
    fingerprint: str
    funding: str


@dataclass
class ProductObj:
    id: str
    key: str
    name: str
    description: str
    created: int
    default_price: str | None = None


@dataclass
class PriceObj:
    id: str
    spec: PriceSpec
    product: ProductObj
    created: int
    retired_at: int | None = None
    """When the price was archived (existing subscriptions keep it)."""


@dataclass
class CouponObj:
    spec: CouponSpec
    created: int
    times_redeemed: int = 0


@dataclass
class Customer:
    id: str
    created: int
    email: str
    name: str
    phone: str
    country: str
    invoice_prefix: str
    card: Card
    currency: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    delinquent: bool = False
    next_invoice_sequence: int = 1


@dataclass
class Discount:
    id: str
    coupon: CouponObj
    customer: str
    subscription: str
    start: int
    end: int | None

    @property
    def terms(self) -> DiscountTerms:
        spec = self.coupon.spec
        return DiscountTerms(
            duration=spec.duration,
            percent_off=spec.percent_off,
            amount_off=spec.amount_off,
            end=self.end,
        )


@dataclass
class Subscription:
    id: str
    customer: str
    created: int
    item_id: str
    item_created: int
    price: PriceObj
    quantity: int
    status: str
    current_period_start: int
    current_period_end: int
    billing_cycle_anchor: int
    workspace_id: str
    trial_start: int | None = None
    trial_end: int | None = None
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    cancellation_reason: str | None = None
    cancellation_feedback: str | None = None
    discount: Discount | None = None
    latest_invoice: str | None = None


@dataclass
class InvoiceLine:
    id: str
    amount: int
    description: str
    period_start: int
    period_end: int
    quantity: int
    price: PriceObj
    subscription_item: str
    proration: bool
    discount_amount: int = 0


@dataclass
class Invoice:
    id: str
    number: str
    customer: Customer
    subscription: str
    created: int
    billing_reason: str
    currency: str
    lines: list[InvoiceLine]
    period_start: int
    period_end: int
    discount: Discount | None = None
    status: str = "draft"
    attempt_count: int = 0
    next_payment_attempt: int | None = None
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None
    marked_uncollectible_at: int | None = None
    payment_intent: PaymentIntent | None = None
    invoice_payment: InvoicePayment | None = None
    customer_email: str = ""
    customer_name: str = ""
    customer_phone: str = ""

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(line.discount_amount for line in self.lines)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount_total

    @property
    def amount_paid(self) -> int:
        return self.total if self.status == "paid" else 0


@dataclass
class PaymentIntent:
    id: str
    created: int
    amount: int
    currency: str
    customer: str
    description: str
    payment_method: str
    status: str = "requires_payment_method"
    latest_charge: str | None = None
    last_error_code: str | None = None
    last_error_message: str | None = None

    @property
    def amount_received(self) -> int:
        return self.amount if self.status == "succeeded" else 0


@dataclass
class InvoicePayment:
    id: str
    invoice: str
    created: int
    amount_requested: int
    currency: str
    payment_intent: str
    status: str = "open"
    paid_at: int | None = None


@dataclass
class BalanceTransaction:
    id: str
    created: int
    amount: int
    fee: int
    currency: str
    type: str
    reporting_category: str
    source: str
    available_on: int
    description: str | None

    @property
    def net(self) -> int:
        return self.amount - self.fee


@dataclass
class Charge:
    id: str
    created: int
    amount: int
    currency: str
    customer: Customer
    payment_intent: str
    description: str
    card: Card
    status: str
    billing_email: str
    billing_name: str
    failure_code: str | None = None
    failure_message: str | None = None
    balance_transaction: BalanceTransaction | None = None
    amount_refunded: int = 0
    disputed: bool = False

    @property
    def paid(self) -> bool:
        return self.status == "succeeded"


@dataclass
class Refund:
    id: str
    created: int
    amount: int
    charge: Charge
    reason: str | None
    status: str
    balance_transaction: BalanceTransaction
    failure_balance_transaction: BalanceTransaction | None = None
    failure_reason: str | None = None


@dataclass
class Dispute:
    id: str
    created: int
    amount: int
    charge: Charge
    reason: str
    inquiry: bool
    status: str
    due_by: int
    network_reason_code: str
    balance_transactions: list[BalanceTransaction] = field(default_factory=list)
    has_evidence: bool = False
    past_due: bool = False
    submission_count: int = 0


@dataclass
class Payout:
    id: str
    created: int
    amount: int
    currency: str
    arrival_date: int
    balance_transaction: BalanceTransaction
    destination: str
