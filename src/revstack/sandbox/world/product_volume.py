"""One workspace's events as numbers: when they occur, why, which plan shows, who acts.

Everyday events are a Poisson number per UTC day piece of each span, shaped by weekday and the
cancellation tail; each upgrade is preceded by a week of prompts and next-tier feature use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from revstack.sandbox.world.catalog import TIER_RANK
from revstack.sandbox.world.clock import DAY
from revstack.sandbox.world.product_random import standard_normal
from revstack.sandbox.world.product_spans import SpanParams
from revstack.sandbox.world.product_tables import I64
from revstack.sandbox.world.product_users import USER_ACTIVITY_SIGMA, pick_users
from revstack.sandbox.world.story import TierChange

#: Monday..Sunday volume multipliers (mean 1).
WEEKDAY_FACTOR = np.array([1.22, 1.22, 1.22, 1.22, 1.22, 0.45, 0.45])

#: The upgrade funnel: in the week before an upgrade, 1 + Poisson(mean) upgrade prompts and
#: 1 + Poisson(mean) uses of next-tier features.
FUNNEL_SECONDS = 7 * DAY
FUNNEL_PROMPTS_MEAN = 2.0
FUNNEL_FEATURES_MEAN = 3.0
#: Why an event happens: everyday use, the upgrade funnel, or the tail after cancellation.
BACKGROUND, FUNNEL_PROMPT, FUNNEL_FEATURE, TAIL = 0, 1, 2, 3


def day_pieces(lo: I64, hi: I64) -> tuple[I64, I64, I64]:
    """Split half-open second intervals ``[lo[i], hi[i])`` at UTC midnights.

    Returns, per piece, the index of its interval, its start and its end (seconds).
    Empty intervals give no piece.
    """
    first = lo // DAY
    last = (hi - 1) // DAY
    counts = np.where(hi > lo, last - first + 1, 0)
    owner = np.repeat(np.arange(lo.size, dtype=np.int64), counts)
    within = np.arange(owner.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    day = first[owner] + within
    return owner, np.maximum(day * DAY, lo[owner]), np.minimum((day + 1) * DAY, hi[owner])


def weekday(seconds: I64) -> I64:
    """Monday = 0 .. Sunday = 6 of UTC timestamps (1970-01-01 was a Thursday)."""
    result: I64 = (seconds // DAY + 3) % 7
    return result


@dataclass(frozen=True)
class EventFrame:
    """Numeric columns of events, one entry per unique event."""

    workspace: I64
    """Index of the workspace within the customer."""
    occurred_ms: I64
    kind: I64
    """BACKGROUND, FUNNEL_PROMPT, FUNNEL_FEATURE or TAIL."""
    shown_tier: I64
    """Tier the client believes the workspace is on."""
    target_tier: I64
    """Tier an upgrade-funnel event points to (-1 for other events)."""
    user: I64
    """Index into the customer's user slots."""

    @staticmethod
    def concat(frames: list[EventFrame]) -> EventFrame:
        names = [f.name for f in dataclasses.fields(EventFrame)]
        if not frames:
            return EventFrame(**{name: np.zeros(0, dtype=np.int64) for name in names})
        return EventFrame(
            **{name: np.concatenate([getattr(f, name) for f in frames]) for name in names}
        )


def background_times(
    params: SpanParams, lo: int, hi: int, rng: np.random.Generator
) -> tuple[I64, I64]:
    """Occurrence times (ms) and span index of a workspace's everyday events in [lo, hi)."""
    owner, piece_lo, piece_hi = day_pieces(
        np.clip(params.start, lo, hi), np.clip(params.end, lo, hi)
    )
    mid = (piece_lo + piece_hi) / 2
    tail_level = params.rate[owner] * np.exp(
        -(mid - params.tail_origin[owner]) / params.tail_tau[owner]
    )
    level = np.where(
        params.ended[owner],
        np.where(mid < params.tail_end[owner], tail_level, params.linger_rate[owner]),
        params.rate[owner],
    )
    expected = level * WEEKDAY_FACTOR[weekday(piece_lo)] * (piece_hi - piece_lo) / DAY
    piece = np.repeat(np.arange(expected.size), rng.poisson(expected))
    width_ms = (piece_hi - piece_lo)[piece] * 1000
    occurred = piece_lo[piece] * 1000 + (rng.random(piece.size) * width_ms).astype(np.int64)
    return occurred, owner[piece]


def funnel_times(
    upgrades: list[TierChange], lo: int, hi: int, rng: np.random.Generator
) -> tuple[I64, I64, I64]:
    """Upgrade-funnel events in the week before each upgrade: times (ms), kind, target tier."""
    times: list[I64] = []
    kinds: list[I64] = []
    targets: list[I64] = []
    for change in upgrades:
        start, end = max(change.ts - FUNNEL_SECONDS, lo), min(change.ts, hi)
        if end <= start:
            continue
        prompts = 1 + int(rng.poisson(FUNNEL_PROMPTS_MEAN))
        features = 1 + int(rng.poisson(FUNNEL_FEATURES_MEAN))
        count = prompts + features
        times.append(start * 1000 + (rng.random(count) * (end - start) * 1000).astype(np.int64))
        kinds.append(np.repeat(np.array([FUNNEL_PROMPT, FUNNEL_FEATURE]), [prompts, features]))
        targets.append(np.full(count, TIER_RANK[change.tier_after], dtype=np.int64))
    if not times:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return np.concatenate(times), np.concatenate(kinds), np.concatenate(targets)


def shown_tier(params: SpanParams, span: I64, occurred_ms: I64) -> I64:
    """The plan the client believes in at each event: the previous one for a short while
    after a change, and the last paid one during a cancellation tail."""
    seconds = occurred_ms // 1000
    now = np.where(
        params.ended[span] & (seconds < params.tail_end[span]),
        params.tail_tier[span],
        params.access_tier[span],
    )
    result: I64 = np.where(seconds < params.lag_end[span], params.prev_tier[span], now)
    return result


def workspace_events(
    workspace_index: int,
    params: SpanParams,
    upgrades: list[TierChange],
    lo: int,
    hi: int,
    slot_offset: int,
    rng: np.random.Generator,
) -> EventFrame:
    """Every unique event of one workspace in [lo, hi) seconds, as numbers."""
    occurred, span = background_times(params, lo, hi, rng)
    f_occurred, f_kind, f_target = funnel_times(upgrades, lo, hi, rng)
    f_span = np.searchsorted(params.start, f_occurred // 1000, side="right") - 1
    everyday = occurred.size
    occurred = np.concatenate([occurred, f_occurred])
    span = np.concatenate([span, f_span]).astype(np.int64)
    in_tail = params.ended[span] & (occurred // 1000 < params.tail_end[span])
    kind = np.concatenate([np.where(in_tail[:everyday], TAIL, BACKGROUND), f_kind])
    slots = int(params.users.max(initial=1))
    activity = np.exp(USER_ACTIVITY_SIGMA * standard_normal(rng, slots))
    return EventFrame(
        workspace=np.full(occurred.size, workspace_index, dtype=np.int64),
        occurred_ms=occurred,
        kind=kind.astype(np.int64),
        shown_tier=shown_tier(params, span, occurred),
        target_tier=np.concatenate([np.full(everyday, -1), f_target]).astype(np.int64),
        user=pick_users(params, span, activity, rng) + slot_offset,
    )
