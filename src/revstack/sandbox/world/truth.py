"""Ground-truth tables computed from the simulation's own state (never from emitted objects)."""

from __future__ import annotations

import bisect
import datetime as dt

import numpy as np
import pyarrow as pa

from revstack.sandbox.world.clock import DAY, month_end, next_month, to_date
from revstack.sandbox.world.mrr import classify_movement
from revstack.sandbox.world.revenue import MEASURES, VIEWS, RevenueLedger, net
from revstack.sandbox.world.story import CustomerStory, Window
from revstack.sandbox.world.tables import Sink, Table

_EPOCH = dt.date(1970, 1, 1)

MRR_DAILY = Table(
    "truth/mrr_daily",
    pa.schema(
        [
            ("customer_id", pa.string()),
            ("date", pa.date32()),
            ("currency", pa.string()),
            ("mrr", pa.int64()),
        ]
    ),
    ("customer_id", "date"),
    "MRR in force at the end of each day, per customer; days with zero MRR are omitted.",
)
MRR_MONTHLY = Table(
    "truth/mrr_monthly",
    pa.schema(
        [
            ("customer_id", pa.string()),
            ("month", pa.date32()),
            ("currency", pa.string()),
            ("mrr", pa.int64()),
            ("previous_mrr", pa.int64()),
            ("movement", pa.string()),
            ("movement_amount", pa.int64()),
        ]
    ),
    ("customer_id", "month"),
    "Month-end MRR and its movement, per customer, from the customer's first month on.",
)
REVENUE_DAILY = Table(
    "truth/revenue_daily",
    pa.schema(
        [
            ("date", pa.date32()),
            ("currency", pa.string()),
            ("view", pa.string()),
            *[(measure, pa.int64()) for measure in MEASURES],
            ("net", pa.int64()),
        ]
    ),
    ("date", "currency", "view"),
    "Cash revenue per day and currency, booked and restated views (every day, zeros included).",
)
CUSTOMERS = Table(
    "truth/customers",
    pa.schema(
        [
            ("customer_id", pa.string()),
            ("entity_index", pa.int32()),
            ("created", pa.timestamp("s", tz="UTC")),
            ("currency", pa.string()),
            ("channel", pa.string()),
            ("company_name", pa.string()),
            ("company_domain", pa.string()),
            ("workspaces", pa.int32()),
            ("first_paid_at", pa.timestamp("s", tz="UTC")),
            ("mrr_at_end", pa.int64()),
        ]
    ),
    ("customer_id",),
    "One row per simulated customer: who they are and how their story ended.",
)

TABLES = [MRR_DAILY, MRR_MONTHLY, REVENUE_DAILY, CUSTOMERS]


def _day_number(value: dt.date) -> int:
    return (value - _EPOCH).days


def mrr_at_day_end(changes: list[tuple[int, int]], day: dt.date) -> int:
    """MRR in force at the end of `day`, given (ts, MRR) change points in time order."""
    next_day_start = (_day_number(day) + 1) * DAY
    position = bisect.bisect_left(changes, (next_day_start, -1))
    return changes[position - 1][1] if position else 0


def add_customer_truth(story: CustomerStory, window: Window, sink: Sink) -> None:
    """Daily and monthly MRR rows and the customer row for one simulated customer."""
    changes = story.mrr_changes
    last_day = to_date(window.end - 1)
    _add_daily(story, changes, last_day, sink)
    month = to_date(story.created).replace(day=1)
    previous = 0
    had_mrr = False
    while month <= last_day:
        current = mrr_at_day_end(changes, min(month_end(month), last_day))
        movement = classify_movement(previous, current, had_mrr)
        sink.add(
            MRR_MONTHLY,
            {
                "customer_id": story.customer_id,
                "month": month,
                "currency": story.currency,
                "mrr": current,
                "previous_mrr": previous,
                "movement": movement,
                "movement_amount": current - previous,
            },
        )
        had_mrr = had_mrr or previous > 0
        previous = current
        month = next_month(month)
    first_paid = story.first_paid_at
    sink.add(
        CUSTOMERS,
        {
            "customer_id": story.customer_id,
            "entity_index": story.entity_index,
            "created": dt.datetime.fromtimestamp(story.created, dt.UTC),
            "currency": story.currency,
            "channel": story.channel,
            "company_name": story.company.name,
            "company_domain": story.company.domain,
            "workspaces": len(story.workspaces),
            "first_paid_at": None
            if first_paid is None
            else dt.datetime.fromtimestamp(first_paid, dt.UTC),
            "mrr_at_end": changes[-1][1] if changes else 0,
        },
    )


def _add_daily(
    story: CustomerStory, changes: list[tuple[int, int]], last_day: dt.date, sink: Sink
) -> None:
    starts: list[int] = []
    lengths: list[int] = []
    values: list[int] = []
    last = _day_number(last_day)
    for position, (ts, mrr) in enumerate(changes):
        first_day = ts // DAY
        until = changes[position + 1][0] // DAY - 1 if position + 1 < len(changes) else last
        if mrr > 0 and until >= first_day:
            starts.append(first_day)
            lengths.append(until - first_day + 1)
            values.append(mrr)
    if not starts:
        return
    lengths_arr = np.asarray(lengths, dtype=np.int64)
    total = int(lengths_arr.sum())
    offsets = np.arange(total, dtype=np.int64) - np.repeat(
        np.cumsum(lengths_arr) - lengths_arr, lengths_arr
    )
    days = np.repeat(np.asarray(starts, dtype=np.int64), lengths_arr) + offsets
    batch = pa.record_batch(
        [
            pa.array([story.customer_id] * total, pa.string()),
            pa.array(days.astype(np.int32), pa.date32()),
            pa.array([story.currency] * total, pa.string()),
            pa.array(np.repeat(np.asarray(values, dtype=np.int64), lengths_arr), pa.int64()),
        ],
        schema=MRR_DAILY.schema,
    )
    sink.add_batch(MRR_DAILY, batch)


def add_revenue_truth(
    ledger: RevenueLedger, window: Window, currencies: tuple[str, ...], sink: Sink
) -> None:
    """Every (day, currency, view) of the world, zeros included."""
    day = to_date(window.start)
    last_day = to_date(window.end - 1)
    zero = dict.fromkeys(MEASURES, 0)
    while day <= last_day:
        for currency in currencies:
            for view in VIEWS:
                measures = ledger.totals.get((day, currency, view), zero)
                sink.add(
                    REVENUE_DAILY,
                    {
                        "date": day,
                        "currency": currency,
                        "view": view,
                        **measures,
                        "net": net(measures),
                    },
                )
        day += dt.timedelta(days=1)
