"""Pieces both CRM simulations share: the entity plan, times as the CRM APIs print them,
quarter-end bursts, sales reps, money and the customer's commercial timeline."""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from dataclasses import dataclass, field

from revstack.sandbox.world.catalog import ZERO_DECIMAL, PriceSpec
from revstack.sandbox.world.clock import DAY, add_months, quarter_end, to_date, to_ts
from revstack.sandbox.world.ids import SF_PREFIX, salesforce_id
from revstack.sandbox.world.names import FIRST_NAMES, LAST_NAMES, Company, Person
from revstack.sandbox.world.rng import stream
from revstack.sandbox.world.story import OWNER_COUNT, CustomerStory, PlanSpan, Window
from revstack.sandbox.world.stripe_catalog import StripeCatalog

DAY_MS = DAY * 1000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

#: The simulated company's own email domain (its sales reps' addresses).
SELLER_DOMAIN = "inkwell-saas.example"
#: Weight of the last 7 days of a calendar quarter in the rate of open-deal updates.
QUARTER_END_FACTOR = 10.0
QUARTER_END_DAYS = 7
#: Fraction of the period after which Salesforce renames Account.Segment__c.
RENAME_AT_FRACTION = 0.55
#: Fraction of the period after which Opportunity.Forecast_Notes__c exists.
ADDITION_AT_FRACTION = 0.70

_HUBSPOT_OWNER_BASE = 61_850_101
_HUBSPOT_USER_BASE = 9_104_200
_SF_USER_BASE = 1
#: Index of the Salesforce integration user (the Stripe connector, imports).
INTEGRATION_USER = OWNER_COUNT


# --- times -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _day_iso(day_number: int) -> str:
    return (dt.date(1970, 1, 1) + dt.timedelta(days=day_number)).isoformat()


def hs_time(ms: int) -> str:
    """``2025-06-01T12:34:56.789Z``: how HubSpot prints datetime property values."""
    day, rem = divmod(ms, DAY_MS)
    seconds, millis = divmod(rem, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day_iso(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def sf_datetime(ms: int) -> str:
    """``2025-06-01T12:34:56.000+0000``: how the Salesforce REST API prints datetimes."""
    day, rem = divmod(ms, DAY_MS)
    seconds, millis = divmod(rem, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{_day_iso(day)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}+0000"


def sf_date(ms: int) -> str:
    """``2025-06-01``: a Salesforce date field (UTC calendar day of `ms`)."""
    return _day_iso(ms // DAY_MS)


def drift_times(window: Window) -> tuple[int, int]:
    """(rename, addition) moments of the Salesforce schema drift, Unix ms at day boundaries."""
    span = window.end - window.start
    rename = window.start + int(span * RENAME_AT_FRACTION)
    addition = window.start + int(span * ADDITION_AT_FRACTION)
    return (rename - rename % DAY) * 1000, (addition - addition % DAY) * 1000


# --- random draws ----------------------------------------------------------------------------


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method, split for large means so it stays exact and cheap)."""
    count = 0
    while mean > 30.0:
        count += poisson(rng, 30.0)
        mean -= 30.0
    limit = math.exp(-mean)
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def uniform_ms(rng: random.Random, low: int, high: int) -> int:
    """A time in [low, high) in ms (low when the interval is empty)."""
    if high <= low:
        return low
    return low + int(rng.random() * (high - low))


@functools.lru_cache(maxsize=1024)
def _burst_window(quarter: int) -> tuple[int, int]:
    """[start, end) in ms of the last `QUARTER_END_DAYS` days of quarter number `quarter`
    (``year * 4 + quarter_of_year``)."""
    year, q = divmod(quarter, 4)
    last_day = quarter_end(dt.date(year, q * 3 + 1, 1))
    end = to_ts(last_day) + DAY
    return (end - QUARTER_END_DAYS * DAY) * 1000, end * 1000


def burst_windows(start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """Quarter-end windows overlapping [start_ms, end_ms)."""
    if end_ms <= start_ms:
        return []
    first = to_date(start_ms // 1000)
    last = to_date((end_ms - 1) // 1000)
    windows = []
    for quarter in range(
        first.year * 4 + (first.month - 1) // 3, last.year * 4 + (last.month - 1) // 3 + 1
    ):
        low, high = _burst_window(quarter)
        if low < end_ms and high > start_ms:
            windows.append((max(low, start_ms), min(high, end_ms)))
    return windows


def in_burst(ms: int) -> bool:
    """Whether `ms` falls in the last days of its calendar quarter."""
    day = to_date(ms // 1000)
    low, high = _burst_window(day.year * 4 + (day.month - 1) // 3)
    return low <= ms < high


def open_deal_update_times(
    rng: random.Random, start_ms: int, end_ms: int, per_day: float
) -> list[int]:
    """Times of updates to a deal open over [start_ms, end_ms): a Poisson process whose rate is
    `per_day` outside quarter-end windows and `QUARTER_END_FACTOR` times that inside them."""
    if end_ms <= start_ms:
        return []
    bursts = burst_windows(start_ms, end_ms)
    quiet: list[tuple[int, int]] = []
    cursor = start_ms
    for low, high in bursts:
        if low > cursor:
            quiet.append((cursor, low))
        cursor = high
    if cursor < end_ms:
        quiet.append((cursor, end_ms))
    times = _scatter(rng, quiet, per_day)
    times += _scatter(rng, bursts, per_day * QUARTER_END_FACTOR)
    times.sort()
    return times


def _scatter(rng: random.Random, segments: list[tuple[int, int]], per_day: float) -> list[int]:
    total = sum(high - low for low, high in segments)
    if total <= 0:
        return []
    count = poisson(rng, per_day * total / DAY_MS)
    times = []
    for _ in range(count):
        offset = int(rng.random() * total)
        for low, high in segments:
            if offset < high - low:
                times.append(low + offset)
                break
            offset -= high - low
    return times


# --- sales reps ------------------------------------------------------------------------------


def hubspot_owner_id(owner_index: int) -> str:
    """HubSpot owner id of sales rep `owner_index` (0 <= index < OWNER_COUNT)."""
    return str(_HUBSPOT_OWNER_BASE + owner_index)


def hubspot_user_id(owner_index: int) -> int:
    return _HUBSPOT_USER_BASE + owner_index


def salesforce_user_id(user_index: int) -> str:
    """Salesforce User id of rep `user_index`; `INTEGRATION_USER` is the integration user."""
    return salesforce_id(SF_PREFIX["User"], _SF_USER_BASE + user_index)


@dataclass(frozen=True)
class Rep:
    index: int
    first_name: str
    last_name: str
    email: str
    team: str


def sales_reps(seed: int) -> list[Rep]:
    """The sales reps, the same people in HubSpot (owners) and Salesforce (users)."""
    rng = stream(seed, "crm-reps", 0)
    reps = []
    used: set[str] = set()
    for index in range(OWNER_COUNT):
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}@{SELLER_DOMAIN}".lower()
            if email not in used:
                used.add(email)
                break
        team = "Enterprise Sales" if index % 3 == 0 else "SMB Sales"
        reps.append(Rep(index, first, last, email, team))
    return reps


# --- money -----------------------------------------------------------------------------------


def major_units(minor: int, currency: str) -> float:
    """An amount in the currency's major unit (what both CRMs store)."""
    return float(minor) if currency in ZERO_DECIMAL else minor / 100


def hs_number(value: float) -> str:
    """A number property value as HubSpot prints it (``1500``, ``1234.5``)."""
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0")


def prospect_amount_minor(rng: random.Random, currency: str) -> int:
    """A prospect deal's size: lognormal around 13,000 (major units; yen scaled up)."""
    major = int(rng.lognormvariate(9.5, 0.9))
    return major * 150 if currency in ZERO_DECIMAL else major * 100


def round_money(value: float, currency: str) -> float:
    return float(round(value)) if currency in ZERO_DECIMAL else round(value, 2)


# --- the entity both CRMs describe -----------------------------------------------------------


@dataclass(frozen=True)
class PersonPlan:
    person: Person
    created_ms: int
    primary: bool


@dataclass(frozen=True)
class Upsell:
    """An expansion the sales team booked: closes won at `ts_ms`."""

    ts_ms: int
    tier: str
    seats: int
    amount_minor: int
    """Annual value of the expansion, minor units."""
    kind: str
    frequency: str
    """Billing frequency of the workspace's price after the change (`billing_frequency`)."""


@dataclass(frozen=True)
class Renewal:
    """A yearly plan's anniversary: won when the customer still pays right after it."""

    at_ms: int
    won: bool
    lost_at_ms: int
    """When the renewal was lost (churn, or the anniversary itself); meaningless if won."""
    amount_minor: int
    tier: str
    seats: int


@dataclass
class CustomerFacts:
    """What the CRMs know about a customer's commercial life, derived from its story."""

    created_ms: int
    sales_led: bool
    customer_at_ms: int | None
    """When the company becomes a customer in the CRM (won deal or first payment)."""
    churns: list[tuple[int, int | None]]
    """(churned at, reactivated at or None), Unix ms."""
    acv_minor: int
    tier: str
    seats: int
    frequency: str
    """Billing frequency of the first paid plan (`billing_frequency`)."""
    upsells: list[Upsell] = field(default_factory=list)
    renewals: list[Renewal] = field(default_factory=list)
    workspaces: list[tuple[str, int]] = field(default_factory=list)
    """(workspace id, created at ms)."""
    billing_changes: list[tuple[int, str, str]] = field(default_factory=list)
    """(ts ms, field, new value) of the Stripe customer's contact details."""


@dataclass
class EntityPlan:
    entity_index: int
    company: Company
    currency: str
    owner_index: int
    first_touch_ms: int
    people: list[PersonPlan]
    """The billing (primary) contact first."""
    customer_id: str | None = None
    facts: CustomerFacts | None = None


@functools.lru_cache(maxsize=8)
def _price_specs(seed: int, window: Window) -> dict[str, PriceSpec]:
    """Stripe price id -> catalog price of the world with this seed and window."""
    return {price.id: price.spec for price in StripeCatalog(seed, window).prices.values()}


def _is_yearly(span: PlanSpan, prices: dict[str, PriceSpec]) -> bool:
    spec = prices.get(span.price_id) if span.price_id else None
    return spec is not None and spec.interval == "year"


def billing_frequency(spec: PriceSpec | None) -> str:
    """``Annual``, ``Quarterly`` or ``Monthly``: how often a price bills (Monthly if unknown)."""
    if spec is None:
        return "Monthly"
    if spec.interval == "year":
        return "Annual"
    return "Quarterly" if spec.interval_count == 3 else "Monthly"


def _frequency_at(
    story: CustomerStory, workspace_id: str | None, ts: int, prices: dict[str, PriceSpec]
) -> str:
    """Billing frequency of the paid span in force at `ts` (of one workspace, or the first
    paid span of any workspace when `workspace_id` is None)."""
    spans = [
        span
        for ws in story.workspaces
        if workspace_id is None or ws.workspace_id == workspace_id
        for span in ws.spans
        if _paid(span) and span.price_id
    ]
    if workspace_id is None:
        spans.sort(key=lambda span: span.start)
        current = spans[0] if spans else None
    else:
        current = _span_at(spans, ts)
    return billing_frequency(prices.get(current.price_id or "") if current else None)


def _paid(span: PlanSpan) -> bool:
    return span.tier != "free" and span.status not in ("none", "canceled", "incomplete_expired")


def customer_facts(story: CustomerStory, window: Window, seed: int) -> CustomerFacts:
    """The commercial timeline of a customer as both CRMs need it."""
    end_ms = window.end * 1000
    prices = _price_specs(seed, window)
    created = story.created * 1000
    sales_led = story.channel == "sales_led"
    churns: list[tuple[int, int | None]] = []
    first_paid: int | None = None
    previous = 0
    for ts, mrr in story.mrr_changes:
        if mrr > 0 and first_paid is None:
            first_paid = ts * 1000
        if previous > 0 and mrr == 0:
            churns.append((ts * 1000, None))
        elif previous == 0 and mrr > 0 and churns and churns[-1][1] is None:
            churns[-1] = (churns[-1][0], ts * 1000)
        previous = mrr
    customer_at = created if sales_led else first_paid
    first_mrr = next((mrr for _, mrr in story.mrr_changes if mrr > 0), 0)
    new = next((c for c in story.tier_changes if c.kind == "new"), None)
    tier, seats = (new.tier_after, new.seats_after) if new else ("pro", 5)
    if first_mrr == 0 and new is not None:
        first_mrr = new.mrr_after
    if first_mrr == 0:
        first_mrr = 4000 * seats if story.currency != "jpy" else 5500 * seats
    facts = CustomerFacts(
        created_ms=created,
        sales_led=sales_led,
        customer_at_ms=customer_at,
        churns=churns,
        acv_minor=first_mrr * 12,
        tier=tier if tier != "free" else "pro",
        seats=max(1, seats),
        frequency=_frequency_at(story, None, created // 1000, prices),
        workspaces=[(ws.workspace_id, ws.created * 1000) for ws in story.workspaces],
        billing_changes=[(c.ts * 1000, c.field, c.new) for c in story.stripe_changes],
    )
    if sales_led:
        facts.upsells = [
            Upsell(
                c.ts * 1000,
                c.tier_after,
                c.seats_after if c.kind == "upgrade" else max(1, c.seats_after - c.seats_before),
                max(0, c.mrr_after - c.mrr_before) * 12,
                c.kind,
                _frequency_at(story, c.workspace_id, c.ts, prices),
            )
            for c in story.tier_changes
            if c.kind in ("upgrade", "seats_up") and c.ts * 1000 > created and c.ts * 1000 < end_ms
        ]
        facts.renewals = _renewals(story, end_ms, prices)
    return facts


def _renewals(story: CustomerStory, end_ms: int, prices: dict[str, PriceSpec]) -> list[Renewal]:
    """Anniversaries of yearly subscriptions that fall inside the world: won while the
    workspace is still on a paid yearly price right after it, lost otherwise."""

    def yearly_paid(span: PlanSpan | None) -> bool:
        return span is not None and _paid(span) and _is_yearly(span, prices)

    renewals = []
    for ws in story.workspaces:
        spans = ws.spans
        index = 0
        while index < len(spans):
            span = spans[index]
            if not yearly_paid(span):
                index += 1
                continue
            term_start = span.start
            years = 1
            while (anniversary := add_months(term_start, 12 * years)) * 1000 < end_ms:
                at = _span_at(spans, anniversary)
                if at is not None and yearly_paid(at):
                    renewals.append(
                        Renewal(anniversary * 1000, True, 0, at.mrr * 12, at.tier, at.seats)
                    )
                    years += 1
                    continue
                lapsed = next(
                    (
                        s.start
                        for s in spans
                        if term_start <= s.start < anniversary and not yearly_paid(s)
                    ),
                    anniversary,
                )
                renewals.append(
                    Renewal(
                        anniversary * 1000,
                        False,
                        lapsed * 1000,
                        span.mrr * 12,
                        span.tier,
                        span.seats,
                    )
                )
                break
            covered_until = add_months(term_start, 12 * years)
            while index < len(spans) and spans[index].start < covered_until:
                index += 1
    renewals.sort(key=lambda r: r.at_ms)
    return renewals


def _span_at(spans: list[PlanSpan], ts: int) -> PlanSpan | None:
    for span in spans:
        if span.start <= ts < span.end:
            return span
    return None
