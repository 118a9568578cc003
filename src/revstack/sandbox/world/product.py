"""Product usage: the events each customer's workspaces send, and the truth behind them.

The billing simulation hands over a `CustomerStory`; this module tells the same life from the
product's point of view. Each workspace has users that roughly track its seats and sends a
Poisson number of events per UTC day, scaled by seats, billing status and weekday. Churned
workspaces keep using the features of their last paid plan for days to weeks (the client still
shows that plan), and each upgrade is preceded by a week of next-tier feature use and upgrade
prompts.

Delivery is imperfect on purpose: most events arrive within seconds, some minutes to hours late,
a few (mobile clients) up to 72 hours late, and about 1% arrive twice. A new top-level field,
``app_version``, appears partway through the period.

Everything is drawn with NumPy from the customer's own stream and assembled as Arrow arrays,
a few record batches per customer.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from revstack.errors import WorldError
from revstack.sandbox.world.catalog import FEATURES_BY_TIER, PAID_FEATURES, TIER_RANK
from revstack.sandbox.world.clock import DAY, HOUR, MINUTE
from revstack.sandbox.world.ids import user_id
from revstack.sandbox.world.rng import np_stream
from revstack.sandbox.world.story import CustomerStory, PlanSpan, TierChange, Window, WorkspaceStory
from revstack.sandbox.world.tables import Sink, Table

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
U8 = npt.NDArray[np.uint8]

UTC_MS = pa.timestamp("ms", tz="UTC")
UTC_S = pa.timestamp("s", tz="UTC")
DAY_MS = DAY * 1000

EVENTS = Table(
    "product/events",
    pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("event_name", pa.string(), nullable=False),
            pa.field("occurred_at", UTC_MS, nullable=False),
            pa.field("received_at", UTC_MS, nullable=False),
            pa.field("user_id", pa.string()),
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("anonymous_id", pa.string()),
            pa.field("properties", pa.string(), nullable=False),
            pa.field("app_version", pa.string()),
        ]
    ),
    ("received_at", "event_id"),
    "Product events as the collector receives them: late, sometimes twice (same event_id), "
    "properties as JSON text; app_version only from partway through the period.",
)
USAGE_DAILY = Table(
    "truth/product_usage_daily",
    pa.schema(
        [
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("date", pa.date32(), nullable=False),
            pa.field("event_name", pa.string(), nullable=False),
            pa.field("events", pa.int64(), nullable=False),
            pa.field("users", pa.int64(), nullable=False),
        ]
    ),
    ("workspace_id", "date", "event_name"),
    "Unique events (duplicates counted once) and distinct user ids per workspace, UTC date of "
    "occurred_at and event name.",
)
PLAN_INTERVALS = Table(
    "truth/workspace_plan_intervals",
    pa.schema(
        [
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("valid_from", UTC_S, nullable=False),
            pa.field("valid_to", UTC_S, nullable=False),
            pa.field("tier", pa.string(), nullable=False),
            pa.field("product_id", pa.string()),
            pa.field("price_id", pa.string()),
            pa.field("billing_status", pa.string(), nullable=False),
            pa.field("seats", pa.int64(), nullable=False),
        ]
    ),
    ("workspace_id", "valid_from"),
    "Plan, price and billing status of each workspace over half-open [valid_from, valid_to) "
    "intervals: what plan attribution of product events must reproduce.",
)
WORKSPACE_USERS = Table(
    "truth/workspace_users",
    pa.schema(
        [
            pa.field("workspace_id", pa.string(), nullable=False),
            pa.field("user_id", pa.string(), nullable=False),
            pa.field("joined_at", UTC_S, nullable=False),
        ]
    ),
    ("workspace_id", "user_id"),
    "Members of each workspace and when they joined; a user may belong to several workspaces, "
    "including another customer's (guests such as consultants).",
)
TABLES: list[Table] = [EVENTS, USAGE_DAILY, PLAN_INTERVALS, WORKSPACE_USERS]

#: Events occurring from this fraction of the window on carry the top-level ``app_version``.
APP_VERSION_FROM_FRACTION = 0.55

TIER_NAMES = tuple(sorted(TIER_RANK, key=TIER_RANK.__getitem__))
TOP_TIER = len(TIER_NAMES) - 1

EVENT_NAMES = (
    "page_view",
    "feature_used",
    "export_video",
    "invite_teammate",
    "login",
    "report_created",
    "upgrade_prompt_viewed",
)
PAGE_VIEW, FEATURE_USED, EXPORT_VIDEO, INVITE, LOGIN, REPORT, PROMPT = range(len(EVENT_NAMES))

# --- Volume -------------------------------------------------------------------------------------
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
#: Share of tail events that are paid-feature use (exporting work before access ends).
TAIL_PAID_SHARE = 0.3
#: Share of churned workspaces that keep a little free usage after the tail.
LINGER_SHARE = 0.3
#: Monday..Sunday volume multipliers (mean 1).
WEEKDAY_FACTOR = np.array([1.22, 1.22, 1.22, 1.22, 1.22, 0.45, 0.45])
ENGAGEMENT_SIGMA = 0.4
#: How long a client keeps showing the previous plan after a change (mean, seconds).
PLAN_CACHE_LAG_MEAN = 30 * MINUTE

# --- Users --------------------------------------------------------------------------------------
USER_ORDINALS = 4096
"""Ordinals per entity available to `ids.user_id`."""
SEAT_FILL = (0.75, 1.0)
FREE_MAX_USERS = 3
GUEST_SHARE = 0.05
#: Chance that the first slot of a customer's second (third, ...) workspace is an existing
#: user of the customer, and the same for its other slots.
SHARED_SHARE_FIRST = 0.7
SHARED_SHARE = 0.3
GUEST_ENTITY_SPREAD = 500
GUEST_ORDINALS = 8
USER_ACTIVITY_SIGMA = 0.8

# --- Upgrade funnel -----------------------------------------------------------------------------
FUNNEL_SECONDS = 7 * DAY
FUNNEL_PROMPTS_MEAN = 2.0
FUNNEL_FEATURES_MEAN = 3.0
#: Why an event happens: everyday use, the upgrade funnel, or the tail after cancellation.
BACKGROUND, FUNNEL_PROMPT, FUNNEL_FEATURE, TAIL = 0, 1, 2, 3

# --- Event contents -----------------------------------------------------------------------------
#: Relative weight of each event name (export_video needs Pro; prompts need a higher tier).
NAME_WEIGHTS = {
    PAGE_VIEW: 0.44,
    FEATURE_USED: 0.30,
    EXPORT_VIDEO: 0.04,
    INVITE: 0.015,
    LOGIN: 0.09,
    REPORT: 0.05,
    PROMPT: 0.012,
}
EXPORT_VIDEO_MIN_TIER = TIER_RANK["pro"]
ANONYMOUS_PAGE_VIEW_SHARE = 0.03
FEATURES: tuple[str, ...] = tuple(
    dict.fromkeys(f for tier in TIER_NAMES for f in FEATURES_BY_TIER[tier])
)
FEATURE_WEIGHT = {
    "editor": 0.35,
    "comments": 0.2,
    "templates": 0.12,
    "export_pdf": 0.08,
    "automations": 0.1,
    "api": 0.08,
    "export_video": 0.03,
    "sso": 0.02,
    "audit_log": 0.02,
}
PAGE_PATHS = (
    ("/dashboard", 0.3),
    ("/projects", 0.25),
    ("/editor", 0.2),
    ("/reports", 0.08),
    ("/templates", 0.07),
    ("/settings", 0.05),
    ("/settings/team", 0.03),
    ("/settings/billing", 0.02),
)
LOGIN_METHODS = (("password", 0.55), ("google", 0.35), ("magic_link", 0.1))
REPORT_TYPES = (("usage", 0.4), ("activity", 0.35), ("funnel", 0.15), ("custom", 0.1))
#: Median and log-sigma of duration_ms per event name; other names carry no duration.
DURATION_MS = {
    PAGE_VIEW: (20_000.0, 1.0),
    FEATURE_USED: (45_000.0, 1.1),
    EXPORT_VIDEO: (40_000.0, 0.8),
    REPORT: (1_500.0, 0.7),
}

# --- Delivery -----------------------------------------------------------------------------------
MAX_LATENESS_MS = 72 * HOUR * 1000
LATE_SHARE = 0.03
MOBILE_SHARE = 0.01
DUPLICATE_SHARE = 0.01
#: Log-uniform ranges (ms) of late delivery, mobile delivery and a duplicate's extra delay.
LATE_MS = (60_000, 6 * HOUR * 1000)
MOBILE_MS = (30 * MINUTE * 1000, 71 * HOUR * 1000)
REDELIVERY_MS = (1_000, 6 * HOUR * 1000)
FAST_MEDIAN_MS = 400.0
FAST_MAX_MS = 9_999

# --- App version --------------------------------------------------------------------------------
APP_MAJOR = 5
APP_RELEASE_DAYS = 14
APP_PATCHES = 3
#: Share of events from clients 0, 1 and 2 releases behind the latest.
APP_BEHIND = (0.7, 0.2, 0.1)


# ================================================================================================
# Static tables: categorical draws and JSON fragments, built once.
# ================================================================================================

LOOKUP_SIZE = 4096
"""Buckets of a lookup table: categories are drawn with their probability to 1/4096."""


def lookup_table(weights: F64) -> I64:
    """Category of each of `LOOKUP_SIZE` equally likely buckets, per row of weights.

    Indexing the table with a uniform bucket draws a category with probability proportional
    to its weight (rounded to 1/LOOKUP_SIZE); a category of weight 0 is never drawn.
    """
    totals = weights.sum(axis=-1, keepdims=True)
    cdf = np.cumsum(weights / np.where(totals > 0, totals, 1.0), axis=-1)
    u = (np.arange(LOOKUP_SIZE) + 0.5) / LOOKUP_SIZE
    table: I64 = (cdf[..., :-1, None] <= u).sum(axis=-2).astype(np.int64)
    return table


def _name_weights() -> F64:
    rows = np.zeros((len(TIER_NAMES), len(EVENT_NAMES)))
    for tier in range(len(TIER_NAMES)):
        for name, weight in NAME_WEIGHTS.items():
            if (name == EXPORT_VIDEO and tier < EXPORT_VIDEO_MIN_TIER) or (
                name == PROMPT and tier == TOP_TIER
            ):
                continue
            rows[tier, name] = weight
    return rows


def _feature_weights(paid_only: bool = False) -> F64:
    """Per tier, the weights of its features (only paid ones, if it has any, with `paid_only`)."""
    rows = np.zeros((len(TIER_NAMES), len(FEATURES)))
    for tier, tier_name in enumerate(TIER_NAMES):
        features = FEATURES_BY_TIER[tier_name]
        paid = [f for f in features if f in PAID_FEATURES]
        for feature in paid if paid_only and paid else features:
            rows[tier, FEATURES.index(feature)] = FEATURE_WEIGHT.get(feature, 0.05)
    return rows


def _new_feature_weights() -> F64:
    """Rows indexed by ``from_tier * tiers + to_tier``: the features `to` adds over `from`."""
    tiers = len(TIER_NAMES)
    rows = np.zeros((tiers * tiers, len(FEATURES)))
    for low, low_name in enumerate(TIER_NAMES):
        for high, high_name in enumerate(TIER_NAMES):
            added = set(FEATURES_BY_TIER[high_name]) - set(FEATURES_BY_TIER[low_name])
            for feature in added or FEATURES_BY_TIER[high_name]:
                rows[low * tiers + high, FEATURES.index(feature)] = 1.0
    return rows


def _variant_weights() -> F64:
    """Per event name, the weights of its page path, login method or report type."""
    variants = {PAGE_VIEW: PAGE_PATHS, LOGIN: LOGIN_METHODS, REPORT: REPORT_TYPES}
    width = max(len(options) for options in variants.values())
    rows = np.zeros((len(EVENT_NAMES), width))
    rows[:, 0] = 1.0
    for name, options in variants.items():
        rows[name] = 0.0
        rows[name, : len(options)] = [weight for _, weight in options]
    return rows


NAME_LOOKUP = lookup_table(_name_weights())
FEATURE_LOOKUP = lookup_table(_feature_weights())
PAID_FEATURE_LOOKUP = lookup_table(_feature_weights(paid_only=True))
NEW_FEATURE_LOOKUP = lookup_table(_new_feature_weights())
VARIANT_LOOKUP = lookup_table(_variant_weights())
APP_BEHIND_LOOKUP = lookup_table(np.array(APP_BEHIND))
HAS_DURATION = np.array([name in DURATION_MS for name in range(len(EVENT_NAMES))])
DURATION_MEDIAN = np.array([DURATION_MS.get(n, (1.0, 0.0))[0] for n in range(len(EVENT_NAMES))])
DURATION_SIGMA = np.array([DURATION_MS.get(n, (1.0, 0.0))[1] for n in range(len(EVENT_NAMES))])


def _head_vocabulary() -> tuple[list[str], list[int]]:
    """Opening JSON fragments per event name and variant, and where each name's variants start.

    A fragment opens the object and ends either with ``"duration_ms":`` (names with a
    duration, whose number follows) or with a comma. Variants are the page path, feature,
    login method or report type.
    """
    fields: dict[int, list[str]] = {
        PAGE_VIEW: [f'"path":"{path}"' for path, _ in PAGE_PATHS],
        FEATURE_USED: [f'"feature":"{f}","path":"/app/{f}"' for f in FEATURES],
        EXPORT_VIDEO: ['"feature":"export_video","format":"mp4","path":"/app/export"'],
        INVITE: ['"path":"/settings/team"'],
        LOGIN: [f'"method":"{m}","path":"/login"' for m, _ in LOGIN_METHODS],
        REPORT: [f'"path":"/reports","report_type":"{r}"' for r, _ in REPORT_TYPES],
        PROMPT: [f'"feature":"{f}","path":"/upgrade"' for f in FEATURES],
    }
    heads: list[str] = []
    base: list[int] = []
    for name in range(len(EVENT_NAMES)):
        base.append(len(heads))
        end = ',"duration_ms":' if HAS_DURATION[name] else ","
        heads.extend("{" + text + end for text in fields[name])
    return heads, base


def _tail_vocabulary() -> list[str]:
    """Closing fragments indexed by ``(has_duration * tiers + plan) * (tiers + 1) + target + 1``
    (target -1: no target plan)."""
    return [
        ("," if has_duration else "")
        + f'"plan":"{plan}"'
        + ("" if target is None else f',"target_plan":"{target}"')
        + "}"
        for has_duration in (False, True)
        for plan in TIER_NAMES
        for target in (None, *TIER_NAMES)
    ]


_HEADS, _HEAD_BASE = _head_vocabulary()
HEADS = pa.array(_HEADS, pa.string())
HEAD_BASE = np.array(_HEAD_BASE, dtype=np.int64)
TAILS = pa.array(_tail_vocabulary(), pa.string())
EVENT_NAME_ARRAY = pa.array(EVENT_NAMES, pa.string())
#: Two lower-case hex digits of each byte value, as they lie in memory.
HEX_PAIRS = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint16)
UUID_GROUPS = ((0, 8), (9, 13), (14, 18), (19, 23), (24, 36))


# ================================================================================================
# Vectorised helpers
# ================================================================================================


def draw(rng: np.random.Generator, table: I64, rows: I64 | None = None, size: int = 0) -> I64:
    """Draw categories from a `lookup_table`: one per entry of `rows` (a table per row), or
    `size` draws from a single-row table."""
    if rows is None:
        picks: I64 = table[rng.integers(0, LOOKUP_SIZE, size)]
    else:
        picks = table[rows, rng.integers(0, LOOKUP_SIZE, rows.size)]
    return picks


# Continuous draws are built from `Generator.random` alone, whose stream NumPy keeps stable.


def uniform(rng: np.random.Generator, low: float, high: float, size: int) -> F64:
    result: F64 = low + (high - low) * rng.random(size)
    return result


def log_uniform(rng: np.random.Generator, low: float, high: float, size: int) -> F64:
    result: F64 = np.exp(uniform(rng, np.log(low), np.log(high), size))
    return result


def standard_normal(rng: np.random.Generator, size: int) -> F64:
    """Standard normal draws (Box-Muller)."""
    u = rng.random((2, size))
    result: F64 = np.sqrt(-2.0 * np.log1p(-u[0])) * np.cos(2.0 * np.pi * u[1])
    return result


def exponential(rng: np.random.Generator, mean: float, size: int) -> F64:
    result: F64 = -mean * np.log1p(-rng.random(size))
    return result


def fixed_width_strings(chars: U8) -> pa.Array:
    """Arrow strings from a (rows, width) array of ASCII bytes, without a Python loop."""
    rows, width = chars.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    data = np.ascontiguousarray(chars)
    return pa.Array.from_buffers(
        pa.string(), rows, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def hex_chars(raw: U8) -> U8:
    """Lower-case hex digits of each row of bytes: (rows, n) -> (rows, 2n)."""
    pairs: U8 = HEX_PAIRS[raw].view(np.uint8)
    return pairs


def random_bytes(rng: np.random.Generator, rows: int, width: int) -> U8:
    raw: U8 = rng.integers(0, 256, (rows, width), dtype=np.uint8)
    return raw


def uuid4_strings(rng: np.random.Generator, count: int) -> pa.Array:
    """`count` random version-4 UUIDs as canonical text, drawn from `rng`."""
    raw = random_bytes(rng, count, 16)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    digits = hex_chars(raw)
    chars = np.full((count, 36), ord("-"), dtype=np.uint8)
    used = 0
    for start, end in UUID_GROUPS:
        chars[:, start:end] = digits[:, used : used + end - start]
        used += end - start
    return fixed_width_strings(chars)


def anonymous_ids(rng: np.random.Generator, count: int) -> pa.Array:
    """``anon_`` and 16 random hex digits."""
    chars = np.empty((count, 21), dtype=np.uint8)
    chars[:, :5] = np.frombuffer(b"anon_", dtype=np.uint8)
    chars[:, 5:] = hex_chars(random_bytes(rng, count, 8))
    return fixed_width_strings(chars)


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


@functools.lru_cache(maxsize=64)
def app_versions(releases: int) -> pa.Array:
    """Version strings indexed by ``release * APP_PATCHES + patch``."""
    return pa.array(
        [f"{APP_MAJOR}.{r}.{p}" for r in range(releases) for p in range(APP_PATCHES)], pa.string()
    )


def masked_take(values: pa.Array, index: I64, missing: Bool) -> pa.Array:
    """``values[index]``, null where `missing`."""
    return values.take(pa.array(index, pa.int64(), mask=missing))


def timestamps_ms(values: I64) -> pa.Array:
    return pa.array(values, UTC_MS)


# ================================================================================================
# Workspace plans: validation, per-span parameters, users
# ================================================================================================


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


@dataclass
class UserDirectory:
    """The customer's user slots across its workspaces, filled workspace by workspace."""

    entity_index: int
    next_ordinal: int = 0
    own: list[str] = field(default_factory=list)
    """The customer's own users (numbered within its entity), in order of creation."""
    slots: list[str] = field(default_factory=list)
    """User id of every slot of every workspace, workspace after workspace."""


def guest_id(rng: np.random.Generator, entity_index: int) -> str:
    """A user id from another entity's range (a consultant or agency user)."""
    offset = int(rng.integers(1, GUEST_ENTITY_SPREAD + 1))
    other = entity_index - offset if rng.random() < 0.5 else entity_index + offset
    if other < 0:
        other = entity_index + offset
    return user_id(other, int(rng.integers(0, GUEST_ORDINALS)))


def fill_slots(
    directory: UserDirectory, slots: int, first_workspace: bool, rng: np.random.Generator
) -> list[str]:
    """User ids of a workspace's `slots` user slots: new users, the customer's users from its
    other workspaces, and guests from other entities; distinct within the workspace."""
    chosen: list[str] = []
    taken: set[str] = set()
    draws = rng.random(slots)
    for slot in range(slots):
        share = SHARED_SHARE_FIRST if slot == 0 else SHARED_SHARE
        reuse = not first_workspace and draws[slot] < share
        candidates = [u for u in directory.own if u not in taken] if reuse else []
        if candidates:
            uid = candidates[int(rng.integers(0, len(candidates)))]
        elif (slot > 0 and draws[slot] > 1 - GUEST_SHARE) or (
            directory.next_ordinal >= USER_ORDINALS
        ):
            uid = guest_id(rng, directory.entity_index)
            while uid in taken:
                uid = guest_id(rng, directory.entity_index)
        else:
            uid = user_id(directory.entity_index, directory.next_ordinal)
            directory.next_ordinal += 1
            directory.own.append(uid)
        chosen.append(uid)
        taken.add(uid)
    directory.slots.extend(chosen)
    return chosen


def slot_joined_at(params: SpanParams) -> I64:
    """When each user slot first became active: the start of the first non-empty span with
    more active users than the slot's position (-1: never active)."""
    slots = int(params.users.max(initial=0))
    joined = np.full(slots, -1, dtype=np.int64)
    for start, end, users in zip(params.start, params.end, params.users, strict=True):
        if end > start:
            fresh = (np.arange(slots) < users) & (joined < 0)
            joined[fresh] = start
    return joined


# ================================================================================================
# One workspace's events, as numbers
# ================================================================================================


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


def pick_users(params: SpanParams, span: I64, activity: F64, rng: np.random.Generator) -> I64:
    """Slot of the acting user: one of the span's active users, busier users more often."""
    cumulative = np.cumsum(activity)
    limit = cumulative[params.users[span] - 1]
    slot = np.searchsorted(cumulative, rng.random(span.size) * limit, side="right")
    picked: I64 = np.minimum(slot, params.users[span] - 1).astype(np.int64)
    return picked


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


# ================================================================================================
# Event contents and delivery, for all of a customer's events at once
# ================================================================================================


@dataclass(frozen=True)
class EventContent:
    name: I64
    head: I64
    """Index into HEADS."""
    tail: I64
    """Index into TAILS."""
    duration_ms: I64
    anonymous: Bool


def event_content(frame: EventFrame, rng: np.random.Generator) -> EventContent:
    """Event names and properties of each event (as vocabulary indices)."""
    count = frame.occurred_ms.size
    tier = frame.shown_tier
    tiers = len(TIER_NAMES)
    name = draw(rng, NAME_LOOKUP, tier)
    exporting = (frame.kind == TAIL) & (rng.random(count) < TAIL_PAID_SHARE)
    name[exporting | (frame.kind == FUNNEL_FEATURE)] = FEATURE_USED
    name[frame.kind == FUNNEL_PROMPT] = PROMPT
    # Prompts and funnel previews show a feature of a higher tier.
    upselling = (name == PROMPT) | (frame.kind == FUNNEL_FEATURE)
    target = np.where(frame.target_tier >= 0, frame.target_tier, np.minimum(tier + 1, TOP_TIER))
    target = np.where(upselling, target, -1)
    feature = draw(rng, FEATURE_LOOKUP, tier)
    feature[exporting] = draw(rng, PAID_FEATURE_LOOKUP, tier[exporting])
    feature[upselling] = draw(rng, NEW_FEATURE_LOOKUP, (tier * tiers + target)[upselling])
    variant = draw(rng, VARIANT_LOOKUP, name)
    variant = np.where((name == FEATURE_USED) | (name == PROMPT), feature, variant)
    noise = np.exp(standard_normal(rng, count) * DURATION_SIGMA[name])
    prompt_target = np.where(name == PROMPT, target, -1)
    return EventContent(
        name=name,
        head=HEAD_BASE[name] + variant,
        tail=(HAS_DURATION[name] * tiers + tier) * (tiers + 1) + prompt_target + 1,
        duration_ms=np.maximum(1, (DURATION_MEDIAN[name] * noise).astype(np.int64)),
        anonymous=(name == PAGE_VIEW) & (rng.random(count) < ANONYMOUS_PAGE_VIEW_SHARE),
    )


def properties_json(content: EventContent) -> pa.Array:
    """The ``properties`` JSON text of each event: head fragment, duration, tail fragment."""
    duration = pa.array(content.duration_ms, pa.int64(), mask=~HAS_DURATION[content.name])
    return pc.binary_join_element_wise(
        HEADS.take(pa.array(content.head)),
        pc.cast(duration, pa.string()),
        TAILS.take(pa.array(content.tail)),
        "",
        null_handling="replace",
        null_replacement="",
    )


def lateness_ms(rng: np.random.Generator, count: int) -> I64:
    """received_at - occurred_at: at most seconds for most, minutes to hours for a few, and up
    to 72 h for mobile clients that were offline."""
    u = rng.random(count)
    late_ms = np.minimum(FAST_MEDIAN_MS * np.exp(standard_normal(rng, count)), FAST_MAX_MS)
    mobile = u < MOBILE_SHARE
    late = (u >= MOBILE_SHARE) & (u < MOBILE_SHARE + LATE_SHARE)
    late_ms[mobile] = log_uniform(rng, *MOBILE_MS, int(mobile.sum()))
    late_ms[late] = log_uniform(rng, *LATE_MS, int(late.sum()))
    result: I64 = np.maximum(late_ms, 1).astype(np.int64)
    return result


def redelivery_ms(rng: np.random.Generator, lateness: I64) -> I64:
    """Delay of a duplicate delivery after the first, keeping it within 72 h of occurrence."""
    delay = log_uniform(rng, *REDELIVERY_MS, lateness.size).astype(np.int64)
    result: I64 = np.maximum(np.minimum(delay, MAX_LATENESS_MS - lateness), 1)
    return result


def app_version_index(occurred_ms: I64, cutoff_ms: int, rng: np.random.Generator) -> I64:
    """Index into `app_versions` per event; -1 (no field) before the cutoff. A release ships
    every APP_RELEASE_DAYS from the cutoff on; some clients run one or two releases behind."""
    index = np.full(occurred_ms.size, -1, dtype=np.int64)
    after = np.flatnonzero(occurred_ms >= cutoff_ms)
    release = (occurred_ms[after] - cutoff_ms) // (APP_RELEASE_DAYS * DAY_MS)
    behind = draw(rng, APP_BEHIND_LOOKUP, size=after.size)
    patch = rng.integers(0, APP_PATCHES, after.size)
    index[after] = np.maximum(release - behind, 0) * APP_PATCHES + patch
    return index


# ================================================================================================
# The customer
# ================================================================================================


def simulate_customer_product(
    story: CustomerStory, window: Window, seed: int, events_per_seat_day: float, sink: Sink
) -> None:
    """Add the product events and product truth of one customer's workspaces to `sink`.

    Workspace plans come from their spans (which must tile each workspace's life); events are
    emitted for [max(created, window.start), window.end). The story's upgrade tier changes
    shape the week before each upgrade.
    """
    rng = np_stream(seed, "product", story.entity_index)
    directory = UserDirectory(story.entity_index)
    upgrades_by_ws: dict[str, list[TierChange]] = {}
    for change in story.tier_changes:
        if change.kind == "upgrade":
            upgrades_by_ws.setdefault(change.workspace_id, []).append(change)
    frames: list[EventFrame] = []
    anon_pool_sizes: list[int] = []
    intervals: list[tuple[WorkspaceStory, PlanSpan]] = []
    members: list[tuple[str, str, int]] = []
    for index, workspace in enumerate(story.workspaces):
        spans = check_spans(workspace)
        intervals.extend((workspace, span) for span in spans if span.end > span.start)
        anon_pool_sizes.append(1)
        if not spans:
            continue
        params = span_params(spans, rng, events_per_seat_day)
        joined = slot_joined_at(params)
        slot_offset = len(directory.slots)
        slots = fill_slots(directory, joined.size, index == 0, rng)
        members.extend(
            (workspace.workspace_id, uid, int(ts))
            for uid, ts in zip(slots, joined, strict=True)
            if ts >= 0
        )
        anon_pool_sizes[-1] += joined.size // 2
        if events_per_seat_day > 0:
            lo, hi = max(workspace.created, window.start), window.end
            upgrades = upgrades_by_ws.get(workspace.workspace_id, [])
            frames.append(workspace_events(index, params, upgrades, lo, hi, slot_offset, rng))
    if intervals:
        sink.add_batch(PLAN_INTERVALS, plan_intervals_batch(intervals))
    if members:
        sink.add_batch(WORKSPACE_USERS, workspace_users_batch(members))
    frame = EventFrame.concat(frames)
    if frame.occurred_ms.size:
        add_events(sink, story, frame, directory.slots, anon_pool_sizes, window, rng)


def plan_intervals_batch(intervals: list[tuple[WorkspaceStory, PlanSpan]]) -> pa.RecordBatch:
    columns = {
        "workspace_id": pa.array([w.workspace_id for w, _ in intervals], pa.string()),
        "customer_id": pa.array([w.customer_id for w, _ in intervals], pa.string()),
        "valid_from": pa.array([s.start for _, s in intervals], UTC_S),
        "valid_to": pa.array([s.end for _, s in intervals], UTC_S),
        "tier": pa.array([s.tier for _, s in intervals], pa.string()),
        "product_id": pa.array([s.product_id for _, s in intervals], pa.string()),
        "price_id": pa.array([s.price_id for _, s in intervals], pa.string()),
        "billing_status": pa.array([s.status for _, s in intervals], pa.string()),
        "seats": pa.array([s.seats for _, s in intervals], pa.int64()),
    }
    return record_batch(PLAN_INTERVALS, columns)


def workspace_users_batch(members: list[tuple[str, str, int]]) -> pa.RecordBatch:
    workspaces, users, joined = zip(*members, strict=True)
    columns = {
        "workspace_id": pa.array(workspaces, pa.string()),
        "user_id": pa.array(users, pa.string()),
        "joined_at": pa.array(joined, UTC_S),
    }
    return record_batch(WORKSPACE_USERS, columns)


def add_events(
    sink: Sink,
    story: CustomerStory,
    frame: EventFrame,
    slot_user_ids: list[str],
    anon_pool_sizes: list[int],
    window: Window,
    rng: np.random.Generator,
) -> None:
    """Turn a customer's unique events into delivered rows (with duplicates) and the daily
    usage truth."""
    count = frame.occurred_ms.size
    content = event_content(frame, rng)
    pool_size = np.array(anon_pool_sizes, dtype=np.int64)
    pool_start = np.cumsum(pool_size) - pool_size
    anon_slot = pool_start[frame.workspace] + rng.integers(0, pool_size[frame.workspace])
    anon_pool = anonymous_ids(rng, int(pool_size.sum()))
    cutoff_ms = (window.start + int(APP_VERSION_FROM_FRACTION * (window.end - window.start))) * 1000
    version = app_version_index(frame.occurred_ms, cutoff_ms, rng)
    lateness = lateness_ms(rng, count)
    event_ids = uuid4_strings(rng, count)
    duplicate = np.flatnonzero(rng.random(count) < DUPLICATE_SHARE)
    redelivered = frame.occurred_ms[duplicate] + lateness[duplicate]
    redelivered += redelivery_ms(rng, lateness[duplicate])

    workspace_ids = pa.array([w.workspace_id for w in story.workspaces], pa.string())
    columns = {
        "event_id": event_ids,
        "event_name": EVENT_NAME_ARRAY.take(pa.array(content.name)),
        "occurred_at": timestamps_ms(frame.occurred_ms),
        "received_at": timestamps_ms(frame.occurred_ms + lateness),
        "user_id": masked_take(pa.array(slot_user_ids, pa.string()), frame.user, content.anonymous),
        "workspace_id": workspace_ids.take(pa.array(frame.workspace)),
        "anonymous_id": masked_take(anon_pool, anon_slot, ~content.anonymous),
        "properties": properties_json(content),
        "app_version": masked_take(
            app_versions(int(version.max()) // APP_PATCHES + 1), version, version < 0
        ),
    }
    unique = record_batch(EVENTS, columns)
    sink.add_batch(EVENTS, unique)
    if duplicate.size:
        received = EVENTS.schema.get_field_index("received_at")
        copies = unique.take(pa.array(duplicate)).set_column(
            received, EVENTS.schema.field(received), timestamps_ms(redelivered)
        )
        sink.add_batch(EVENTS, copies)
    sink.add_batch(USAGE_DAILY, usage_daily_batch(story, frame, content, workspace_ids))


def usage_daily_batch(
    story: CustomerStory, frame: EventFrame, content: EventContent, workspace_ids: pa.Array
) -> pa.RecordBatch:
    """Unique events and distinct users per (workspace, UTC date, event name)."""
    day = frame.occurred_ms // DAY_MS
    day0 = int(day.min())
    days = int(day.max()) - day0 + 1
    names = len(EVENT_NAMES)
    key = (frame.workspace * days + (day - day0)) * names + content.name
    bins = len(story.workspaces) * days * names
    per_key = np.bincount(key, minlength=bins)
    keys = np.flatnonzero(per_key)
    known = ~content.anonymous
    slots = int(frame.user.max()) + 1
    pairs = np.unique(key[known] * slots + frame.user[known])
    users = np.bincount(pairs // slots, minlength=bins)[keys]
    workspace = pa.array(keys // (days * names))
    customer_ids = pa.array([w.customer_id for w in story.workspaces], pa.string())
    columns = {
        "workspace_id": workspace_ids.take(workspace),
        "customer_id": customer_ids.take(workspace),
        "date": pa.array(((keys // names) % days + day0).astype(np.int32), pa.date32()),
        "event_name": EVENT_NAME_ARRAY.take(pa.array(keys % names)),
        "events": pa.array(per_key[keys], pa.int64()),
        "users": pa.array(users, pa.int64()),
    }
    return record_batch(USAGE_DAILY, columns)


def record_batch(table: Table, columns: dict[str, pa.Array]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays(
        [columns[name] for name in table.schema.names], schema=table.schema
    )
