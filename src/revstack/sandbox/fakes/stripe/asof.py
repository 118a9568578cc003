"""Fields whose value depends on the moment they are read, not on the last version written.

Stripe changes these without an event, so the world records no version for the change; the
fake recomputes them for the clock's moment:

- customer ``next_invoice_sequence``: 1 + the customer's invoices finalized by then;
- coupon ``times_redeemed``: discounts created from the coupon by then;
- balance transaction ``status``: ``available`` once ``available_on`` has passed;
- payout ``status`` / ``reconciliation_status``: ``paid`` / ``completed`` once
  ``arrival_date`` has passed (``in_transit`` / ``not_applicable`` before);
- the balance transactions embedded in a dispute, like any balance transaction.
"""

from __future__ import annotations

import bisect
from typing import Any

ADJUSTED_KINDS = frozenset({"customer", "coupon", "balance_transaction", "payout", "dispute"})


class TimeDependentFields:
    def __init__(
        self, finalizations: dict[str, list[int]], redemptions: dict[str, list[int]]
    ) -> None:
        self._finalizations = finalizations
        self._redemptions = redemptions

    def add_finalization(self, customer: str, ts: int) -> None:
        bisect.insort(self._finalizations.setdefault(customer, []), ts)

    def add_redemption(self, coupon: str, ts: int) -> None:
        bisect.insort(self._redemptions.setdefault(coupon, []), ts)

    def remove_finalization(self, customer: str, ts: int) -> None:
        self._finalizations[customer].remove(ts)

    def remove_redemption(self, coupon: str, ts: int) -> None:
        self._redemptions[coupon].remove(ts)

    def next_invoice_sequence(self, customer: str, at: int) -> int:
        return 1 + bisect.bisect_right(self._finalizations.get(customer, []), at)

    def adjust(self, kind: str, obj: dict[str, Any], at: int) -> None:
        """Set `obj`'s time-dependent fields (in place) to their value at `at`."""
        if kind == "customer":
            if "next_invoice_sequence" in obj:
                obj["next_invoice_sequence"] = self.next_invoice_sequence(obj["id"], at)
        elif kind == "coupon":
            obj["times_redeemed"] = bisect.bisect_right(self._redemptions.get(obj["id"], []), at)
        elif kind == "balance_transaction":
            _balance_transaction(obj, at)
        elif kind == "payout":
            if obj.get("status") in ("paid", "in_transit") and obj.get("arrival_date"):
                arrived = obj["arrival_date"] <= at
                obj["status"] = "paid" if arrived else "in_transit"
                obj["reconciliation_status"] = "completed" if arrived else "not_applicable"
        elif kind == "dispute":
            for item in obj.get("balance_transactions") or ():
                if isinstance(item, dict):
                    _balance_transaction(item, at)


def _balance_transaction(obj: dict[str, Any], at: int) -> None:
    if obj.get("available_on") is not None:
        obj["status"] = "available" if obj["available_on"] <= at else "pending"
