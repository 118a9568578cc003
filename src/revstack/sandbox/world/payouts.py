"""Automatic daily payouts: each day the balance that became available is paid out."""

from __future__ import annotations

from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.clock import DAY, HOUR
from revstack.sandbox.world.ids import stripe_id
from revstack.sandbox.world.rng import stream
from revstack.sandbox.world.story import Window
from revstack.sandbox.world.stripe_model import BalanceTransaction, Payout
from revstack.sandbox.world.stripe_record import StripeRecorder
from revstack.sandbox.world.tables import Sink

#: Ordinals of account-level objects (payouts) come after every customer's.
_PAYOUT_ORDINAL_BASE = 1 << 62


def record_payouts(
    available: dict[tuple[str, int], int],
    currencies: tuple[str, ...],
    window: Window,
    seed: int,
    sink: Sink,
) -> None:
    """Pay out, per currency and day, the net balance that became available that day.

    A day whose available balance is negative (refunds and disputes exceeding charges) pays
    nothing and carries the deficit to the next day.
    """
    rng = stream(seed, "payouts")
    rec = StripeRecorder(sink, rng, _PAYOUT_ORDINAL_BASE)
    bank_account = stripe_id(rng, "ba", 24)
    for currency in currencies:
        balance = 0
        for day in range(window.start, window.end, DAY):
            balance += available.get((currency, day), 0)
            created = day + 6 * HOUR
            if balance <= 0 or created >= window.end:
                continue
            payout_id = stripe_id(rng, "po", 24)
            bt = BalanceTransaction(
                id=stripe_id(rng, "txn", 24),
                created=created,
                amount=-balance,
                fee=0,
                currency=currency,
                type="payout",
                reporting_category="payout",
                source=payout_id,
                available_on=created,
                description="STRIPE PAYOUT",
            )
            payout = Payout(
                id=payout_id,
                created=created,
                amount=balance,
                currency=currency,
                arrival_date=day + 2 * DAY,
                balance_transaction=bt,
                destination=bank_account,
            )
            balance = 0
            rec.emit("payout.created", render.payout(payout, created), created, None)
            if payout.arrival_date < window.end:
                rec.emit(
                    "payout.paid",
                    render.payout(payout, payout.arrival_date),
                    payout.arrival_date,
                    None,
                )
            rec.final("payout", render.payout(payout, window.end), None)
            rec.final("balance_transaction", render.balance_transaction(bt, window.end), None)
