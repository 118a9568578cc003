"""Sign-up, trials, renewals, plan and seat changes, cancellations and come-backs."""

from __future__ import annotations

from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.billing_state import BillingState, Line
from revstack.sandbox.world.catalog import (
    TIER_RANK,
    TIERS,
    coupons_for,
    price_for,
)
from revstack.sandbox.world.clock import DAY, HOUR, add_months, to_datetime
from revstack.sandbox.world.ids import stripe_id, workspace_id
from revstack.sandbox.world.names import person_at
from revstack.sandbox.world.rng import chance, geometric, weighted
from revstack.sandbox.world.story import (
    FieldChange,
    WorkspaceStory,
)
from revstack.sandbox.world.stripe_model import (
    Discount,
    PriceObj,
    Subscription,
)

_CANCEL_FEEDBACK = ("too_expensive", "missing_features", "switched_service", "unused", "other")


class SubscriptionLifecycle(BillingState):
    """Sign-up, trials, renewals, plan and seat changes, cancellations and come-backs."""

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


def round_half_up_ratio(amount: int, numerator: int, denominator: int) -> int:
    """`amount * numerator / denominator`, rounded half up (amount >= 0)."""
    return (2 * amount * numerator + denominator) // (2 * denominator)
