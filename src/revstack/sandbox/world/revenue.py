"""Cash revenue per day and currency, in the two views the finance team reads.

- **booked**: every amount on the UTC day it happened (refunds, dispute withdrawals and
  reinstatements, fees): past days never change.
- **restated**: refunds, disputes and their fees attributed to the original charge's day, so
  past days change when late refunds and disputes arrive.

``net = gross - refunds - dispute_losses + dispute_reversals - fees`` in both views.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from revstack.sandbox.world.clock import to_date

MEASURES = ("gross", "refunds", "dispute_losses", "dispute_reversals", "fees")
VIEWS = ("booked", "restated")


@dataclass
class RevenueLedger:
    """Sums of each measure per (date, currency, view)."""

    totals: dict[tuple[dt.date, str, str], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    )

    def record(self, measure: str, amount: int, currency: str, happened: int, charged: int) -> None:
        """Add `amount` of `measure` that happened at `happened` for a charge made at `charged`."""
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure}")
        self.totals[(to_date(happened), currency, "booked")][measure] += amount
        self.totals[(to_date(charged), currency, "restated")][measure] += amount

    def merge(self, other: RevenueLedger) -> None:
        self.merge_totals(other.totals)

    def merge_totals(self, totals: Mapping[tuple[dt.date, str, str], Mapping[str, int]]) -> None:
        for key, measures in totals.items():
            target = self.totals[key]
            for measure, amount in measures.items():
                target[measure] += amount

    def plain(self) -> dict[tuple[dt.date, str, str], dict[str, int]]:
        """The totals as plain dicts (picklable)."""
        return {key: dict(measures) for key, measures in self.totals.items()}


def net(measures: dict[str, int]) -> int:
    return (
        measures["gross"]
        - measures["refunds"]
        - measures["dispute_losses"]
        + measures["dispute_reversals"]
        - measures["fees"]
    )
