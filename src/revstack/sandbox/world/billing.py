"""The life of one customer in Stripe, simulated event by event.

A customer signs up (often with a trial), pays by card each period, changes plan and seats,
sometimes fails to pay, cancels, comes back, asks for refunds and disputes charges. Every
change updates the simulation's own records (`stripe_model`), is emitted as the Stripe events
real Stripe would send, and feeds the ground truth: MRR change points, workspace plan spans and
the revenue ledger. Nothing here reads back what was emitted.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.behaviour import DISPUTE_FEES, Behaviour, processing_fee
from revstack.sandbox.world.catalog import (
    TIER_RANK,
    TIERS,
    coupons_for,
    price_for,
)
from revstack.sandbox.world.clock import DAY, HOUR, add_months, day_start, to_datetime
from revstack.sandbox.world.ids import hubspot_id, sf_record_id, stripe_id, workspace_id
from revstack.sandbox.world.mrr import discount_amount, subscription_mrr
from revstack.sandbox.world.names import company_for, person_at
from revstack.sandbox.world.revenue import RevenueLedger
from revstack.sandbox.world.rng import chance, geometric, stream, weighted
from revstack.sandbox.world.story import (
    OWNER_COUNT,
    CustomerStory,
    FieldChange,
    PlanSpan,
    TierChange,
    Window,
    WorkspaceStory,
)
from revstack.sandbox.world.stripe_catalog import StripeCatalog
from revstack.sandbox.world.stripe_model import (
    BalanceTransaction,
    Card,
    Charge,
    Customer,
    Discount,
    Dispute,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    PaymentIntent,
    PriceObj,
    Refund,
    Subscription,
)
from revstack.sandbox.world.stripe_record import StripeRecorder
from revstack.sandbox.world.tables import Sink

_DECLINES = (
    ("insufficient_funds", "Your card has insufficient funds."),
    ("generic_decline", "Your card was declined."),
    ("expired_card", "Your card has expired."),
    ("do_not_honor", "Your card was declined."),
)
_CANCEL_FEEDBACK = ("too_expensive", "missing_features", "switched_service", "unused", "other")
_REFUND_REASONS = ("requested_by_customer", "requested_by_customer", "duplicate", None)
_DISPUTE_REASONS = (
    ("fraudulent", "10.4"),
    ("product_not_received", "13.1"),
    ("subscription_canceled", "13.2"),
    ("duplicate", "12.6.1"),
    ("general", "13.7"),
)
_CARD_BRANDS = ("visa", "visa", "mastercard", "amex", "jcb")


@dataclass
class Line:
    """One workspace's subscription history: at most one live subscription at a time."""

    workspace: WorkspaceStory
    sub: Subscription | None = None
    mrr: int = 0
    had_mrr: bool = False
    once_discount_used: bool = False
    span_key: tuple[Any, ...] | None = None
    span_start: int = 0
    snapshot: tuple[str, int, int] = ("free", 0, 0)
    """(tier, seats, mrr) at the last commercial change, for TierChange records."""


@dataclass
class BillingOutcome:
    story: CustomerStory
    ledger: RevenueLedger
    available: dict[tuple[str, int], int]
    """Net balance becoming available per (currency, day start)."""
    coupon_redemptions: Counter[str]


@dataclass(order=True)
class _Action:
    ts: int
    seq: int
    fn: Callable[..., None] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)


class CustomerSimulation:
    """Simulates customer `index` of the world from sign-up to the world's end."""

    def __init__(
        self,
        index: int,
        window: Window,
        seed: int,
        catalog: StripeCatalog,
        sink: Sink,
        behaviour: Behaviour,
    ) -> None:
        self.index = index
        self.window = window
        self.catalog = catalog
        self.b = behaviour
        self.rng = stream(seed, "billing", index)
        self.rec = StripeRecorder(sink, stream(seed, "stripe-ids", index), (index + 1) << 24)
        self.ledger = RevenueLedger()
        self.available: dict[tuple[str, int], int] = defaultdict(int)
        self.redemptions: Counter[str] = Counter()
        self._agenda: list[_Action] = []
        self._seq = 0
        self.lines: list[Line] = []
        # Objects, kept for the final-state tables.
        self.subscriptions: list[Subscription] = []
        self.discounts: list[Discount] = []
        self.invoices: list[Invoice] = []
        self.charges: list[Charge] = []
        self.refunds: list[Refund] = []
        self.disputes: list[Dispute] = []
        self.balance_transactions: list[BalanceTransaction] = []
        self.customer, self.story = self._draw_customer()
        self.risky_payer = chance(self.rng, behaviour.risky_payer_share)
        self.second_workspace_considered = False

    # ----------------------------------------------------------------- set-up
    def _draw_customer(self) -> tuple[Customer, CustomerStory]:
        rng, b, w = self.rng, self.b, self.window
        # Sign-ups grow exponentially: density proportional to exp(g x) on [0, 1).
        g = math.log(b.signup_growth)
        x = math.log1p(rng.random() * math.expm1(g)) / g
        created = w.start + 3 * HOUR + int(x * (w.end - w.start - DAY))
        currency = weighted(rng, b.currency_mix)
        channel = "sales_led" if chance(rng, b.sales_led_share) else "self_serve"
        company = company_for(self.index, rng, currency)
        contact = person_at(rng, company)
        if chance(rng, b.free_mail_share):
            billing_email = person_at(rng, company, free_mail=True).email
        elif chance(rng, b.billing_alias_share):
            billing_email = f"billing@{company.domain}"
        else:
            billing_email = contact.email
        lead_days = rng.randint(20, 90) if channel == "sales_led" else rng.randint(0, 14)
        intent = max(w.start, created - lead_days * DAY - rng.randrange(DAY))
        metadata: dict[str, str] = {}
        if chance(rng, b.hubspot_id_in_metadata):
            metadata["hubspot_company_id"] = hubspot_id("companies", self.index)
        if channel == "sales_led" and chance(rng, b.salesforce_id_in_metadata):
            metadata["salesforce_account_id"] = sf_record_id("Account", self.index)
        name = company.name if channel == "sales_led" or chance(rng, 0.5) else contact.full_name
        card = Card(
            payment_method=stripe_id(self.rec.rng, "pm", 24),
            brand=rng.choice(_CARD_BRANDS),
            last4=f"{rng.randrange(10_000):04d}",
            exp_month=rng.randint(1, 12),
            exp_year=to_datetime(created).year + rng.randint(1, 5),
            country=company.country,
            fingerprint="".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop", k=16)),
            funding=rng.choice(("credit", "credit", "debit")),
        )
        customer = Customer(
            id=stripe_id(self.rec.rng, "cus", 14),
            created=created,
            email=billing_email,
            name=name,
            phone=contact.phone,
            country=company.country,
            invoice_prefix="".join(rng.choices("0123456789ABCDEF", k=8)),
            card=card,
            metadata=metadata,
        )
        story = CustomerStory(
            entity_index=self.index,
            customer_id=customer.id,
            created=created,
            currency=currency,
            channel=channel,
            company=company,
            billing_contact=contact,
            billing_email=billing_email,
            owner_index=rng.randrange(OWNER_COUNT),
            signup_intent_at=intent,
            stripe_metadata=dict(metadata),
        )
        return customer, story

    # ---------------------------------------------------------------- running
    def run(self) -> BillingOutcome:
        self._at(self.customer.created, self._sign_up)
        while self._agenda:
            action = heapq.heappop(self._agenda)
            if action.ts >= self.window.end:
                break
            action.fn(action.ts, *action.args)
        self._finish()
        return BillingOutcome(self.story, self.ledger, dict(self.available), self.redemptions)

    def _at(self, ts: int, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._agenda, _Action(ts, self._seq, fn, args))

    # ------------------------------------------------------------- lifecycle
    def _sign_up(self, ts: int) -> None:
        rng, b = self.rng, self.b
        self.rec.emit(
            "customer.created",
            render.customer(self.customer),
            ts,
            self.customer.id,
            request=self.rec.api_request(),
        )
        line = self._open_line(ts)
        sales = self.story.channel == "sales_led"
        trial = chance(rng, b.trial_share_sales_led if sales else b.trial_share_self_serve)
        self._at(ts + rng.randint(20, 600), self._start_subscription, line, trial, True)
        if chance(rng, b.contact_change_share):
            for _ in range(rng.randint(1, 2)):
                self._at(ts + rng.randint(5, 400) * DAY, self._change_contact_details)

    def _open_line(self, ts: int) -> Line:
        ordinal = len(self.lines)
        workspace = WorkspaceStory(
            workspace_id=workspace_id(self.index, ordinal),
            customer_id=self.customer.id,
            entity_index=self.index,
            created=ts,
        )
        line = Line(workspace=workspace, span_start=ts)
        line.span_key = ("free", None, None, "none", 0, 0)
        self.lines.append(line)
        self.story.workspaces.append(workspace)
        return line

    def _draw_plan(self, first: bool) -> tuple[str, str, int, int]:
        """(tier, interval, interval_count, seats) for a new subscription."""
        rng, b = self.rng, self.b
        sales = self.story.channel == "sales_led"
        tier = weighted(rng, b.tier_mix_sales_led if sales else b.tier_mix_self_serve)
        interval, count = "month", 1
        if chance(rng, b.yearly_share_sales_led if sales else b.yearly_share_self_serve):
            interval = "year"
        elif (
            tier == "enterprise"
            and self.story.currency == "usd"
            and chance(rng, b.quarterly_share_enterprise_usd)
        ):
            count = 3
        mean = b.seats_mean_sales_led if sales else b.seats_mean_self_serve
        seats = 1 + geometric(rng, mean if first else mean / 2)
        if tier == "enterprise":
            seats = max(seats, 10)
        return tier, interval, count, seats

    def _month_of(self, ts: int) -> int:
        start = to_datetime(self.window.start)
        moment = to_datetime(ts)
        return (moment.year - start.year) * 12 + moment.month - start.month

    def _start_subscription(self, ts: int, line: Line, trial: bool, first: bool) -> None:
        rng, b = self.rng, self.b
        tier, interval, count, seats = self._draw_plan(first)
        price = self.catalog.price(
            price_for(tier, self.story.currency, interval, count, self._month_of(ts))
        )
        if self.customer.currency is None:
            self.customer.currency = self.story.currency
            self.rec.emit("customer.updated", render.customer(self.customer), ts, self.customer.id)
        sub_id = stripe_id(self.rec.rng, "sub", 24)
        status = "trialing" if trial else "incomplete"
        period_end = ts + b.trial_days * DAY if trial else self._period_end(ts, price, 1)
        sub = Subscription(
            id=sub_id,
            customer=self.customer.id,
            created=ts,
            item_id=stripe_id(self.rec.rng, "si", 14),
            item_created=ts,
            price=price,
            quantity=seats,
            status=status,
            current_period_start=ts,
            current_period_end=period_end,
            billing_cycle_anchor=period_end if trial else ts,
            workspace_id=line.workspace.workspace_id,
            trial_start=ts if trial else None,
            trial_end=period_end if trial else None,
        )
        line.sub = sub
        line.once_discount_used = False
        self.subscriptions.append(sub)
        request = self.rec.api_request()
        if first and chance(rng, b.coupon_share):
            spec = rng.choice(coupons_for(self.story.currency))
            discount = Discount(
                id=stripe_id(self.rec.rng, "di", 24),
                coupon=self.catalog.coupons[spec.id],
                customer=self.customer.id,
                subscription=sub_id,
                start=ts,
                end=add_months(ts, spec.duration_in_months)
                if spec.duration == "repeating" and spec.duration_in_months
                else None,
            )
            sub.discount = discount
            self.discounts.append(discount)
            self.redemptions[spec.id] += 1
            if discount.end is not None:
                self._at(discount.end, self._end_discount, line, discount)
        # The first invoice is created in the same request, so the subscription's first event
        # already names it as `latest_invoice`.
        first_line = (
            self._line(
                0,
                f"Trial period for {price.product.name}",
                ts,
                period_end,
                seats,
                price,
                sub,
                False,
            )
            if trial
            else self._period_line(sub, ts, period_end)
        )
        inv = self._draft_invoice(ts, line, "subscription_create", [first_line], ts, ts)
        self.rec.emit(
            "customer.subscription.created",
            render.subscription(sub, ts),
            ts,
            self.customer.id,
            request=request,
        )
        if sub.discount is not None:
            self.rec.emit(
                "customer.discount.created", render.discount(sub.discount), ts, self.customer.id
            )
        self.rec.emit("invoice.created", render.invoice(inv), ts, self.customer.id)
        self._sync(line, ts)
        self._finalize(ts, inv)
        if trial:
            self._at(period_end - 3 * DAY, self._trial_will_end, line, sub)
            self._at(period_end, self._trial_end, line, sub)
        else:
            self._collect(ts, line, inv)
            if sub.status == "incomplete":
                if chance(rng, b.incomplete_recovery):
                    self._at(
                        ts + rng.randint(1 * HOUR, 20 * HOUR),
                        self._retry_incomplete,
                        line,
                        sub,
                        inv,
                    )
                else:
                    self._at(ts + 23 * HOUR, self._expire_incomplete, line, sub, inv)
            self._at(period_end, self._renew, line, sub)
        self._at(ts + rng.randint(20, 40) * DAY, self._tick, line, sub)

    def _period_end(self, anchor: int, price: PriceObj, periods: int) -> int:
        spec = price.spec
        if spec.interval == "year":
            return add_months(anchor, 12 * spec.interval_count * periods)
        if spec.interval == "month":
            return add_months(anchor, spec.interval_count * periods)
        step = DAY if spec.interval == "day" else 7 * DAY
        return anchor + step * spec.interval_count * periods

    def _next_period_end(self, sub: Subscription) -> int:
        """End of the period starting at `sub.current_period_end`, counted from the anchor."""
        periods = 1
        while True:
            candidate = self._period_end(sub.billing_cycle_anchor, sub.price, periods)
            if candidate > sub.current_period_end:
                return candidate
            periods += 1

    def _trial_will_end(self, ts: int, line: Line, sub: Subscription) -> None:
        if sub.status == "trialing":
            self.rec.emit(
                "customer.subscription.trial_will_end",
                render.subscription(sub, ts),
                ts,
                self.customer.id,
            )

    def _trial_end(self, ts: int, line: Line, sub: Subscription) -> None:
        if sub.status != "trialing":
            return
        sales = self.story.channel == "sales_led"
        converts = chance(
            self.rng,
            self.b.trial_conversion_sales_led if sales else self.b.trial_conversion_self_serve,
        )
        if not converts:
            self._end_subscription(ts, line, sub, "cancellation_requested")
            return
        sub.status = "active"
        sub.current_period_start = ts
        sub.current_period_end = self._period_end(ts, sub.price, 1)
        inv = self._new_invoice(
            ts,
            line,
            "subscription_cycle",
            [self._period_line(sub, ts, sub.current_period_end)],
            ts,
            ts,
        )
        self.rec.emit(
            "customer.subscription.updated", render.subscription(sub, ts), ts, self.customer.id
        )
        self._sync(line, ts)
        self._at(ts + HOUR, self._finalize_and_charge, line, inv)
        self._at(sub.current_period_end, self._renew, line, sub)

    def _renew(self, ts: int, line: Line, sub: Subscription) -> None:
        if sub.status in ("canceled", "incomplete_expired") or line.sub is not sub:
            return
        if sub.cancel_at_period_end or sub.status == "unpaid":
            reason = "payment_failed" if sub.status == "unpaid" else "cancellation_requested"
            self._end_subscription(ts, line, sub, reason)
            return
        previous_end = sub.current_period_end
        sub.current_period_start = previous_end
        sub.current_period_end = self._next_period_end(sub)
        inv = self._new_invoice(
            ts,
            line,
            "subscription_cycle",
            [self._period_line(sub, sub.current_period_start, sub.current_period_end)],
            sub.current_period_start,
            sub.current_period_start,
        )
        self.rec.emit(
            "customer.subscription.updated", render.subscription(sub, ts), ts, self.customer.id
        )
        self._at(ts + HOUR, self._finalize_and_charge, line, inv)
        self._at(sub.current_period_end, self._renew, line, sub)
        if sub.price.spec.interval == "year":
            self._at(sub.current_period_end - 45 * DAY, self._yearly_renewal_decision, line, sub)

    def _yearly_renewal_decision(self, ts: int, line: Line, sub: Subscription) -> None:
        if (
            sub.status == "active"
            and not sub.cancel_at_period_end
            and chance(self.rng, self.b.yearly_non_renewal)
        ):
            self._cancel(ts, line, sub, at_period_end=True)

    def _tick(self, ts: int, line: Line, sub: Subscription) -> None:
        """Monthly draw of what this subscription's customer does in the next ~30 days."""
        if line.sub is not sub or sub.status in ("canceled", "incomplete_expired"):
            return
        rng, b = self.rng, self.b
        self._at(ts + 30 * DAY, self._tick, line, sub)
        if sub.status != "active" or sub.cancel_at_period_end:
            return
        tier = sub.price.spec.tier
        yearly = sub.price.spec.interval == "year"
        churn = b.churn_hazard_yearly_plan if yearly else b.churn_hazard_monthly[tier]
        when = ts + rng.randint(HOUR, 30 * DAY)
        draw = rng.random()
        for kind, hazard in (
            ("cancel", churn),
            ("upgrade", b.upgrade_hazard if tier != "enterprise" else 0.0),
            ("downgrade", b.downgrade_hazard if tier != "starter" else 0.0),
            ("seats_up", b.seats_up_hazard),
            ("seats_down", b.seats_down_hazard if sub.quantity > 1 else 0.0),
        ):
            if draw < hazard:
                self._at(when, self._change, line, sub, kind)
                return
            draw -= hazard

    def _change(self, ts: int, line: Line, sub: Subscription, kind: str) -> None:
        if line.sub is not sub or sub.status != "active" or sub.cancel_at_period_end:
            return
        if kind == "cancel":
            at_period_end = chance(self.rng, self.b.cancel_at_period_end_share)
            self._cancel(ts, line, sub, at_period_end)
            return
        spec = sub.price.spec
        new_tier, new_seats = spec.tier, sub.quantity
        if kind == "upgrade":
            new_tier = TIERS[TIER_RANK[spec.tier]]
        elif kind == "downgrade":
            new_tier = TIERS[TIER_RANK[spec.tier] - 2]
        elif kind == "seats_up":
            new_seats = sub.quantity + max(1, int(sub.quantity * self.rng.uniform(0.1, 0.5)))
        else:
            new_seats = max(
                1, sub.quantity - max(1, int(sub.quantity * self.rng.uniform(0.1, 0.3)))
            )
        if new_tier == "enterprise":
            new_seats = max(new_seats, 10)
        count = spec.interval_count
        if new_tier != "enterprise" and count == 3:
            return  # quarterly billing exists for Enterprise only: no such downgrade
        new_price = (
            self.catalog.price(
                price_for(new_tier, spec.currency, spec.interval, count, self._month_of(ts))
            )
            if new_tier != spec.tier
            else sub.price
        )
        increase = new_price.spec.unit_amount * new_seats > spec.unit_amount * sub.quantity
        if increase and sub.current_period_end - ts < 10 * DAY:
            return  # upgrades close to renewal wait for the renewal
        old_price, old_seats = sub.price, sub.quantity
        sub.price, sub.quantity = new_price, new_seats
        if not increase:
            # proration_behavior=none: the lower price applies from the next invoice.
            self.rec.emit(
                "customer.subscription.updated",
                render.subscription(sub, ts),
                ts,
                self.customer.id,
                request=self.rec.api_request(),
            )
            self._sync(line, ts)
        else:
            # proration_behavior=always_invoice: credit unused time, charge the rest now.
            remaining = sub.current_period_end - ts
            total = sub.current_period_end - sub.current_period_start
            credit = -round_half_up_ratio(old_price.spec.unit_amount * old_seats, remaining, total)
            debit = round_half_up_ratio(new_price.spec.unit_amount * new_seats, remaining, total)
            day = to_datetime(ts).strftime("%d %b %Y")
            lines = [
                self._line(
                    credit,
                    f"Unused time on {old_seats} \u00d7 {old_price.product.name} after {day}",
                    ts,
                    sub.current_period_end,
                    old_seats,
                    old_price,
                    sub,
                    True,
                ),
                self._line(
                    debit,
                    f"Remaining time on {new_seats} \u00d7 {new_price.product.name} after {day}",
                    ts,
                    sub.current_period_end,
                    new_seats,
                    new_price,
                    sub,
                    True,
                ),
            ]
            inv = self._draft_invoice(ts, line, "subscription_update", lines, ts, ts)
            self.rec.emit(
                "customer.subscription.updated",
                render.subscription(sub, ts),
                ts,
                self.customer.id,
                request=self.rec.api_request(),
            )
            self.rec.emit("invoice.created", render.invoice(inv), ts, self.customer.id)
            self._sync(line, ts)
            self._finalize(ts, inv)
            self._collect(ts, line, inv)

    def _cancel(self, ts: int, line: Line, sub: Subscription, at_period_end: bool) -> None:
        sub.cancellation_feedback = self.rng.choice(_CANCEL_FEEDBACK)
        if at_period_end:
            sub.cancel_at_period_end = True
            sub.cancel_at = sub.current_period_end
            sub.canceled_at = ts
            sub.cancellation_reason = "cancellation_requested"
            self.rec.emit(
                "customer.subscription.updated",
                render.subscription(sub, ts),
                ts,
                self.customer.id,
                request=self.rec.api_request(),
            )
            if chance(self.rng, self.b.undo_cancel_share):
                self._at(
                    self.rng.randint(ts + 1, sub.current_period_end - 1),
                    self._undo_cancel,
                    line,
                    sub,
                )
        else:
            self._end_subscription(ts, line, sub, "cancellation_requested")

    def _undo_cancel(self, ts: int, line: Line, sub: Subscription) -> None:
        if line.sub is not sub or not sub.cancel_at_period_end or sub.status != "active":
            return
        sub.cancel_at_period_end = False
        sub.cancel_at = None
        sub.canceled_at = None
        sub.cancellation_reason = None
        sub.cancellation_feedback = None
        self.rec.emit(
            "customer.subscription.updated",
            render.subscription(sub, ts),
            ts,
            self.customer.id,
            request=self.rec.api_request(),
        )

    def _end_subscription(self, ts: int, line: Line, sub: Subscription, reason: str) -> None:
        sub.status = "canceled"
        sub.ended_at = ts
        if sub.canceled_at is None or not sub.cancel_at_period_end:
            sub.canceled_at = ts
        sub.cancellation_reason = reason
        self.rec.emit(
            "customer.subscription.deleted", render.subscription(sub, ts), ts, self.customer.id
        )
        was_paying = line.mrr > 0 or line.had_mrr
        self._sync(line, ts)
        line.sub = None
        if was_paying and chance(self.rng, self.b.come_back_share):
            self._at(ts + self.rng.randint(30, 240) * DAY, self._come_back, line)

    def _come_back(self, ts: int, line: Line) -> None:
        if line.sub is None:
            self._start_subscription(ts, line, False, False)

    def _end_discount(self, ts: int, line: Line, discount: Discount) -> None:
        sub = line.sub
        if sub is None or sub.discount is not discount:
            return
        sub.discount = None
        self.rec.emit("customer.discount.deleted", render.discount(discount), ts, self.customer.id)
        self.rec.emit(
            "customer.subscription.updated", render.subscription(sub, ts), ts, self.customer.id
        )
        self._sync(line, ts)

    def _change_contact_details(self, ts: int) -> None:
        rng = self.rng
        field_name = rng.choice(("email", "phone", "name"))
        old = getattr(self.customer, field_name)
        if field_name == "email":
            local = rng.choice(
                ("finance", "accounts", "ap", self.story.billing_contact.first_name.lower())
            )
            new = f"{local}@{self.story.company.domain}"
        elif field_name == "phone":
            new = person_at(rng, self.story.company).phone
        else:
            new = (
                self.story.company.name
                if old != self.story.company.name
                else (self.story.billing_contact.full_name)
            )
        if new == old:
            return
        setattr(self.customer, field_name, new)
        self.story.stripe_changes.append(FieldChange(ts, field_name, old, new))
        self.rec.emit(
            "customer.updated",
            render.customer(self.customer),
            ts,
            self.customer.id,
            request=self.rec.api_request(),
        )

    def _maybe_second_workspace(self, ts: int) -> None:
        if chance(self.rng, self.b.second_workspace_share):
            when = ts + self.rng.randint(30, 300) * DAY
            self._at(when, self._open_second_line)

    def _open_second_line(self, ts: int) -> None:
        line = self._open_line(ts)
        self._at(ts + self.rng.randint(60, 3 * HOUR), self._start_subscription, line, False, False)

    # ------------------------------------------------------------- invoicing
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
        self.rec.emit("invoice.payment_failed", render.invoice(inv), ts, cid)
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

    # --------------------------------------------------- refunds and disputes
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

    def _balance_transaction(
        self,
        ts: int,
        amount: int,
        fee: int,
        currency: str,
        bt_type: str,
        category: str,
        source: str,
        available_on: int,
        description: str | None,
    ) -> BalanceTransaction:
        bt = BalanceTransaction(
            id=stripe_id(self.rec.rng, "txn", 24),
            created=ts,
            amount=amount,
            fee=fee,
            currency=currency,
            type=bt_type,
            reporting_category=category,
            source=source,
            available_on=available_on,
            description=description,
        )
        self.balance_transactions.append(bt)
        self.available[(currency, day_start(available_on))] += bt.net
        return bt

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

    # ---------------------------------------------------------------- truth
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
            kind = _classify(
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
            line.workspace.spans.append(_span(line.span_key, line.span_start, ts))
        line.span_key = key
        line.span_start = ts

    def _finish(self) -> None:
        end = self.window.end
        for line in self.lines:
            if line.span_key is not None and end > line.span_start:
                line.workspace.spans.append(_span(line.span_key, line.span_start, end))
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


def _span(key: tuple[Any, ...], start: int, end: int) -> PlanSpan:
    tier, product_id, price_id, status, seats, mrr = key
    return PlanSpan(start, end, tier, product_id, price_id, status, seats, mrr)


def _classify(
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


def round_half_up_ratio(amount: int, numerator: int, denominator: int) -> int:
    """`amount * numerator / denominator`, rounded half up (amount >= 0)."""
    return (2 * amount * numerator + denominator) // (2 * denominator)


def _format_amount(amount: int, currency: str) -> str:
    if currency == "jpy":
        return f"¥{amount:,}"
    symbol = {"usd": "$", "eur": "€"}[currency]
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"
