"""Simulating one chunk of entities: the unit of work the generator hands to its workers.

A chunk's result holds everything the chunk produced (its tables, by path, and the account-wide
sums it contributes to), so chunks can run in any process and be written in order.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache

import pyarrow as pa

from revstack.sandbox.world import crm, product, stripe_record, truth
from revstack.sandbox.world.behaviour import Behaviour
from revstack.sandbox.world.billing import CustomerSimulation
from revstack.sandbox.world.clock import add_months, to_ts
from revstack.sandbox.world.config import WorldConfig
from revstack.sandbox.world.revenue import RevenueLedger
from revstack.sandbox.world.story import Window
from revstack.sandbox.world.stripe_catalog import StripeCatalog
from revstack.sandbox.world.tables import Sink, Table, drain_all


def world_window(config: WorldConfig) -> Window:
    start = to_ts(config.start)
    return Window(start, add_months(start, config.months))


def all_tables() -> list[Table]:
    return [*stripe_record.TABLES, *crm.TABLES, *product.TABLES, *truth.TABLES]


@cache
def catalog_for(seed: int, window: Window) -> StripeCatalog:
    """The Stripe price book of a world (the same objects for every chunk of a process)."""
    return StripeCatalog(seed, window)


@dataclass
class ChunkResult:
    tables: dict[str, pa.Table]
    revenue: dict[tuple[dt.date, str, str], dict[str, int]] = field(default_factory=dict)
    available: dict[tuple[str, int], int] = field(default_factory=dict)
    redemptions: Counter[str] = field(default_factory=Counter)
    entities: int = 0


def simulate_customers(
    config: WorldConfig, behaviour: Behaviour, start: int, stop: int
) -> ChunkResult:
    """Customers `start` to `stop - 1`: billing, truth, CRM and product usage."""
    window = world_window(config)
    catalog = catalog_for(config.seed, window)
    sink = Sink()
    ledger = RevenueLedger()
    available: dict[tuple[str, int], int] = defaultdict(int)
    redemptions: Counter[str] = Counter()
    for index in range(start, stop):
        outcome = CustomerSimulation(index, window, config.seed, catalog, sink, behaviour).run()
        ledger.merge(outcome.ledger)
        for key, amount in outcome.available.items():
            available[key] += amount
        redemptions.update(outcome.coupon_redemptions)
        truth.add_customer_truth(outcome.story, window, sink)
        crm.simulate_customer_crm(outcome.story, window, config.seed, sink)
        product.simulate_customer_product(
            outcome.story, window, config.seed, config.product_events_per_seat_day, sink
        )
    return ChunkResult(
        tables=drain_all(sink, all_tables()),
        revenue=ledger.plain(),
        available=dict(available),
        redemptions=redemptions,
        entities=stop - start,
    )


def simulate_prospects(config: WorldConfig, start: int, stop: int) -> ChunkResult:
    """CRM-only companies `start` to `stop - 1`."""
    window = world_window(config)
    sink = Sink()
    for index in range(start, stop):
        crm.simulate_prospect_crm(index, window, config.seed, sink)
    return ChunkResult(tables=drain_all(sink, all_tables()), entities=stop - start)
