"""A workspace's plan spans: their validation and the usage parameters of each span.

Each span gets a level of everyday use (seats, billing status, engagement), a number of
active users, and the plan the client shows; spans after the last paid plan fade out over a
cancellation tail and may linger with a little free use.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from revstack.errors import WorldError
from revstack.sandbox.world.catalog import TIER_RANK
from revstack.sandbox.world.clock import DAY, MINUTE
from revstack.sandbox.world.product_random import exponential, standard_normal, uniform
from revstack.sandbox.world.product_tables import F64, I64, Bool
from revstack.sandbox.world.story import PlanSpan, WorkspaceStory

#: Multiplier of seats x events_per_seat_day by status, for spans with a paid plan's features.
STATUS_FACTOR = {
    "trialing": 1.0,
    "active": 1.0,
    "past_due": 0.7,
    "unpaid": 0.4,
    "incomplete": 0.5,
}
#: Statuses of a subscription that is over: usage fades out after the last paid plan.
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
#: Events per active user per day, relative to events_per_seat_day, without a subscription.
FREE_FACTOR = 0.25
#: Usage right after cancellation relative to the last paid level; it decays over the tail.
TAIL_START_FACTOR = 0.8
TAIL_DAYS = (3, 35)
#: Share of churned workspaces that keep a little free usage after the tail.
LINGER_SHARE = 0.3
ENGAGEMENT_SIGMA = 0.4
#: How long a client keeps showing the previous plan after a change (mean, seconds).
PLAN_CACHE_LAG_MEAN = 30 * MINUTE
#: Share of a paid span's seats with an active user; most active users of a free span.
SEAT_FILL = (0.75, 1.0)
FREE_MAX_USERS = 3


def check_spans(workspace: WorkspaceStory) -> list[PlanSpan]:
    """The workspace's spans, after checking they tile its life from `created` on."""
    spans = workspace.spans
    where = f"workspace {workspace.workspace_id}"
    if spans and spans[0].start != workspace.created:
        raise WorldError(f"{where}: first plan span starts at {spans[0].start}, not at creation")
    for before, after in itertools.pairwise(spans):
        if before.end != after.start:
            raise WorldError(f"{where}: plan spans leave a gap or overlap at {before.end}")
    for span in spans:
        if span.end < span.start:
            raise WorldError(f"{where}: plan span ends before it starts ({span.start})")
        if span.tier not in TIER_RANK:
            raise WorldError(f"{where}: unknown tier {span.tier!r}")
    return spans


def is_paid_access(span: PlanSpan) -> bool:
    """Whether the workspace has a paid plan's features during the span."""
    return span.tier != "free" and span.status in STATUS_FACTOR


@dataclass(frozen=True)
class SpanParams:
    """Per-span arrays describing how a workspace is used (one entry per plan span)."""

    start: I64
    end: I64
    rate: F64
    """Expected events per day (before weekday and tail shaping)."""
    ended: Bool
    """The subscription is over after paid access: usage fades over a tail, then lingers."""
    tail_origin: I64
    tail_end: I64
    tail_tau: F64
    linger_rate: F64
    """Expected events per day after the tail."""
    access_tier: I64
    """Tier the client shows during the span (after any tail)."""
    tail_tier: I64
    """Tier the client still shows during the tail of an ended span."""
    lag_end: I64
    """Until then the client still shows `prev_tier` (plan cache)."""
    prev_tier: I64
    users: I64
    """Active users (a prefix of the workspace's user slots)."""


@dataclass(frozen=True)
class _Tail:
    tier: int
    users: int
    rate: float
    origin: int
    end: int
    linger_rate: float


def span_params(
    spans: list[PlanSpan], rng: np.random.Generator, events_per_seat_day: float
) -> SpanParams:
    """Usage level, active users and the plan the client shows, per span."""
    n = len(spans)
    fill = float(uniform(rng, *SEAT_FILL, 1)[0])
    log_engagement = ENGAGEMENT_SIGMA * standard_normal(rng, 1)[0] - ENGAGEMENT_SIGMA**2 / 2
    engagement = float(np.exp(log_engagement))
    tail_days = uniform(rng, *TAIL_DAYS, n)
    lingers = rng.random(n) < LINGER_SHARE
    lags = exponential(rng, PLAN_CACHE_LAG_MEAN, n).astype(np.int64)
    per_seat = events_per_seat_day * engagement
    start = np.array([s.start for s in spans], dtype=np.int64)
    rate = np.zeros(n)
    linger_rate = np.zeros(n)
    ended = np.zeros(n, dtype=np.bool_)
    access = np.zeros(n, dtype=np.int64)
    tail_tier = np.zeros(n, dtype=np.int64)
    tail_origin = start.copy()
    tail_end = start.copy()
    tail_tau = np.full(n, float(DAY))
    users = np.ones(n, dtype=np.int64)
    prev_tier = np.zeros(n, dtype=np.int64)
    lag_end = start.copy()
    last_paid: tuple[int, int, float] | None = None  # tier, users, events per day
    tail: _Tail | None = None
    shown_at_end = 0
    for i, span in enumerate(spans):
        if is_paid_access(span):
            tail = None
            access[i] = TIER_RANK[span.tier]
            users[i] = max(1, round(span.seats * fill))
            rate[i] = max(span.seats, 1) * per_seat * STATUS_FACTOR[span.status]
            last_paid = (int(access[i]), int(users[i]), max(span.seats, 1) * per_seat)
        elif last_paid is not None and (span.status in ENDED_STATUSES or span.tier == "free"):
            if tail is None:
                tier, tail_users, paid_rate = last_paid
                tail = _Tail(
                    tier=tier,
                    users=tail_users,
                    rate=paid_rate * TAIL_START_FACTOR,
                    origin=span.start,
                    end=span.start + int(tail_days[i] * DAY),
                    linger_rate=tail_users * per_seat * FREE_FACTOR if lingers[i] else 0.0,
                )
            ended[i] = True
            tail_tier[i], users[i], rate[i] = tail.tier, tail.users, tail.rate
            tail_origin[i], tail_end[i] = tail.origin, tail.end
            tail_tau[i] = max(tail.end - tail.origin, DAY) / 2
            linger_rate[i] = tail.linger_rate
        else:
            users[i] = max(1, min(span.seats, FREE_MAX_USERS))
            rate[i] = users[i] * per_seat * FREE_FACTOR
        if i > 0:
            prev_tier[i] = shown_at_end
            lag_end[i] = span.start + int(lags[i])
        in_tail_at_end = ended[i] and tail_end[i] >= span.end
        shown_at_end = int(tail_tier[i] if in_tail_at_end else access[i])
    return SpanParams(
        start=start,
        end=np.array([s.end for s in spans], dtype=np.int64),
        rate=rate,
        ended=ended,
        tail_origin=tail_origin,
        tail_end=tail_end,
        tail_tau=tail_tau,
        linger_rate=linger_rate,
        access_tier=access,
        tail_tier=tail_tier,
        lag_end=lag_end,
        prev_tier=prev_tier,
        users=users,
    )
