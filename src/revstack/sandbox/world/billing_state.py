"""State shared by the parts of a customer's billing simulation, and its agenda of actions."""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from revstack.sandbox.world.behaviour import Behaviour
from revstack.sandbox.world.billing_customer import draw_customer
from revstack.sandbox.world.clock import day_start, to_datetime
from revstack.sandbox.world.ids import stripe_id
from revstack.sandbox.world.revenue import RevenueLedger
from revstack.sandbox.world.rng import chance, stream
from revstack.sandbox.world.story import (
    CustomerStory,
    Window,
    WorkspaceStory,
)
from revstack.sandbox.world.stripe_catalog import StripeCatalog
from revstack.sandbox.world.stripe_model import (
    BalanceTransaction,
    Charge,
    Discount,
    Dispute,
    Invoice,
    InvoiceLine,
    PriceObj,
    Refund,
    Subscription,
)
from revstack.sandbox.world.stripe_record import StripeRecorder
from revstack.sandbox.world.tables import Sink


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
class Action:
    ts: int
    seq: int
    fn: Callable[..., None] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)


class BillingState:
    """One customer's Stripe records, agenda and truth accumulators."""

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
        self._agenda: list[Action] = []
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
        self.customer, self.story = draw_customer(index, window, behaviour, self.rng, self.rec.rng)
        self.risky_payer = chance(self.rng, behaviour.risky_payer_share)
        self.second_workspace_considered = False

    def _at(self, ts: int, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._agenda, Action(ts, self._seq, fn, args))

    def _month_of(self, ts: int) -> int:
        start = to_datetime(self.window.start)
        moment = to_datetime(ts)
        return (moment.year - start.year) * 12 + moment.month - start.month

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

    # Steps the mixins composing `CustomerSimulation` implement; declared here so each mixin
    # can call the others.
    def _sync(self, line: Line, ts: int) -> None:
        raise NotImplementedError

    def _start_subscription(self, ts: int, line: Line, trial: bool, first: bool) -> None:
        raise NotImplementedError

    def _end_subscription(self, ts: int, line: Line, sub: Subscription, reason: str) -> None:
        raise NotImplementedError

    def _end_discount(self, ts: int, line: Line, discount: Discount) -> None:
        raise NotImplementedError

    def _maybe_second_workspace(self, ts: int) -> None:
        raise NotImplementedError

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
        raise NotImplementedError

    def _period_line(self, sub: Subscription, start: int, end: int) -> InvoiceLine:
        raise NotImplementedError

    def _new_invoice(
        self,
        ts: int,
        line: Line,
        reason: str,
        lines: list[InvoiceLine],
        period_start: int,
        period_end: int,
    ) -> Invoice:
        raise NotImplementedError

    def _draft_invoice(
        self,
        ts: int,
        line: Line,
        reason: str,
        lines: list[InvoiceLine],
        period_start: int,
        period_end: int,
    ) -> Invoice:
        raise NotImplementedError

    def _finalize(self, ts: int, inv: Invoice) -> None:
        raise NotImplementedError

    def _finalize_and_charge(self, ts: int, line: Line, inv: Invoice) -> None:
        raise NotImplementedError

    def _collect(self, ts: int, line: Line, inv: Invoice) -> None:
        raise NotImplementedError

    def _attempt(self, ts: int, line: Line, inv: Invoice, card_fixed: bool = False) -> None:
        raise NotImplementedError

    def _after_successful_charge(self, ts: int, charge: Charge) -> None:
        raise NotImplementedError

    def _retry_incomplete(self, ts: int, line: Line, sub: Subscription, inv: Invoice) -> None:
        raise NotImplementedError

    def _expire_incomplete(self, ts: int, line: Line, sub: Subscription, inv: Invoice) -> None:
        raise NotImplementedError
