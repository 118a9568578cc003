from __future__ import annotations

import datetime as dt
import itertools
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from revstack.errors import WorldError
from revstack.sandbox.world import product
from revstack.sandbox.world.catalog import FEATURES_BY_TIER, PAID_FEATURES, TIER_RANK
from revstack.sandbox.world.clock import DAY, HOUR, to_ts
from revstack.sandbox.world.ids import BASE62, workspace_id
from revstack.sandbox.world.names import Company, Person
from revstack.sandbox.world.story import (
    CustomerStory,
    PlanSpan,
    TierChange,
    Window,
    WorkspaceStory,
)
from revstack.sandbox.world.tables import Sink, Table

WINDOW = Window(to_ts(dt.date(2025, 5, 1)), to_ts(dt.date(2026, 11, 1)))
SEED = 42
EPS = 0.35
MAX_LATENESS_MS = 72 * HOUR * 1000
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PRICES = {"starter": 1500, "pro": 4000, "enterprise": 9000}


# ------------------------------------------------------------------------------------------------
# Story builders
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage:
    """One plan span of a hand-built workspace: from `day` (after creation) to the next stage."""

    day: float
    tier: str
    status: str
    seats: int


def spans_from(created: int, stages: list[Stage], end: int) -> list[PlanSpan]:
    stages = [stage for i, stage in enumerate(stages) if i == 0 or created + stage.day * DAY < end]
    starts = [created + int(stage.day * DAY) for stage in stages]
    spans = []
    for stage, start, stop in zip(stages, starts, [*starts[1:], end], strict=True):
        paid = stage.tier != "free"
        spans.append(
            PlanSpan(
                start=start,
                end=stop,
                tier=stage.tier,
                product_id=f"prod_{stage.tier}" if paid else None,
                price_id=f"price_{stage.tier}_month_usd" if paid else None,
                status=stage.status,
                seats=stage.seats,
                mrr=PRICES.get(stage.tier, 0) * stage.seats if stage.status == "active" else 0,
            )
        )
    return spans


def tier_changes_from(ws: WorkspaceStory) -> list[TierChange]:
    """Upgrades, downgrades, seat changes, churn and reactivation implied by the spans."""
    changes = []
    for before, after in itertools.pairwise(ws.spans):
        paid_before = before.tier != "free" and before.status not in ("canceled", "none")
        paid_after = after.tier != "free" and after.status not in ("canceled", "none")
        if paid_before and paid_after:
            rank_before, rank_after = TIER_RANK[before.tier], TIER_RANK[after.tier]
            if rank_after > rank_before:
                kind = "upgrade"
            elif rank_after < rank_before:
                kind = "downgrade"
            elif after.seats != before.seats:
                kind = "seats_up" if after.seats > before.seats else "seats_down"
            else:
                continue
        elif paid_after:
            had_paid = any(s.tier != "free" for s in ws.spans if s.start < after.start)
            kind = "reactivation" if had_paid and before.status == "canceled" else "new"
        elif paid_before:
            kind = "churn"
        else:
            continue
        changes.append(
            TierChange(
                ts=after.start,
                workspace_id=ws.workspace_id,
                kind=kind,
                tier_before=before.tier,
                tier_after=after.tier,
                seats_before=before.seats,
                seats_after=after.seats,
                mrr_before=before.mrr,
                mrr_after=after.mrr,
            )
        )
    return changes


def make_story(
    entity_index: int,
    workspaces: Sequence[tuple[float, list[Stage]]],
    window: Window = WINDOW,
    created_day: float = 10,
) -> CustomerStory:
    """A customer whose workspaces are created `day` days after `created_day` (days into the
    window) and go through the given stages."""
    customer_id = f"cus_{entity_index:06d}"
    created = window.start + int(created_day * DAY)
    story = CustomerStory(
        entity_index=entity_index,
        customer_id=customer_id,
        created=created,
        currency="usd",
        channel="self_serve",
        company=Company("Acme Inc", "acme.example", "SOFTWARE", "US", 20),
        billing_contact=Person("Ada", "Adams", "ada@acme.example", "+1 555", "CEO"),
        billing_email="ada@acme.example",
        owner_index=0,
        signup_intent_at=created,
    )
    for ordinal, (day, stages) in enumerate(workspaces):
        ws_created = created + int(day * DAY)
        ws = WorkspaceStory(
            workspace_id=workspace_id(entity_index, ordinal),
            customer_id=customer_id,
            entity_index=entity_index,
            created=ws_created,
            spans=spans_from(ws_created, stages, window.end),
        )
        story.workspaces.append(ws)
        story.tier_changes.extend(tier_changes_from(ws))
    story.tier_changes.sort(key=lambda change: change.ts)
    return story


def typical_stages(rng: random.Random, days_left: float) -> list[Stage]:
    """A plausible life: maybe a free start and a trial, then a paid plan that changes seats,
    upgrades, falls behind on payment, churns and sometimes comes back."""
    stages: list[Stage] = []
    day = 0.0
    if rng.random() < 0.5:
        stages.append(Stage(day, "free", "none", 1))
        day += rng.uniform(1, 20)
    tier = rng.choices(["starter", "pro", "enterprise"], [0.5, 0.38, 0.12])[0]
    median = {"starter": 2.5, "pro": 6, "enterprise": 25}[tier]
    seats = max(1, min(400, round(rng.lognormvariate(np.log(median), 0.6))))
    if rng.random() < 0.6:
        stages.append(Stage(day, tier, "trialing", seats))
        day += 14
    while day < days_left:
        stages.append(Stage(day, tier, "active", seats))
        day += rng.uniform(20, 60)
        roll = rng.random()
        if roll < 0.12 and tier != "enterprise":
            tier = "pro" if tier == "starter" else "enterprise"
            seats += rng.randint(0, 3)
        elif roll < 0.3:
            seats = max(1, seats + rng.choice([-2, -1, 1, 1, 2, 3]))
        elif roll < 0.36:
            stages.append(Stage(day, tier, "past_due", seats))
            day += rng.uniform(3, 14)
            if rng.random() < 0.4:
                stages.append(Stage(day, tier, "unpaid", seats))
                day += rng.uniform(5, 20)
                stages.append(Stage(day, "free", "canceled", 0))
                break
        elif roll < 0.42:
            stages.append(Stage(day, "free", "canceled", 0))
            day += rng.uniform(30, 150)
            if rng.random() < 0.8:
                break
    return stages


def typical_story(entity_index: int, window: Window = WINDOW, seed: int = 7) -> CustomerStory:
    rng = random.Random(f"{seed}/{entity_index}")
    period_days = (window.end - window.start) / DAY
    created_day = rng.uniform(0, period_days * 0.85)
    count = rng.choices([1, 2, 3], [0.85, 0.12, 0.03])[0]
    workspaces = []
    offset = 0.0
    for _ in range(count):
        workspaces.append((offset, typical_stages(rng, period_days - created_day - offset)))
        offset += rng.uniform(0, max(1.0, min(90.0, period_days - created_day - offset - 1)))
    return make_story(entity_index, workspaces, window, created_day)


def simulate(
    stories: Iterable[CustomerStory],
    window: Window = WINDOW,
    seed: int = SEED,
    events_per_seat_day: float = EPS,
) -> dict[str, pa.Table]:
    sink = Sink()
    for story in stories:
        product.simulate_customer_product(story, window, seed, events_per_seat_day, sink)
    return {table.path: sink.drain(table) for table in product.TABLES}


def ms(table: pa.Table, column: str) -> npt.NDArray[np.int64]:
    """A timestamp column as integers in its unit (ms for events, s for truth tables)."""
    values: npt.NDArray[np.int64] = table[column].cast(pa.int64()).to_numpy()
    return values


def ms_array(table: pa.Table, column: str) -> pa.Array:
    return pa.array(ms(table, column))


def user_number(uid: str) -> int:
    """Inverse of `ids.user_id`: entity_index * 4096 + ordinal."""
    number = 0
    for char in uid.removeprefix("usr_"):
        number = number * 62 + BASE62.index(char)
    return number


def props(table: pa.Table) -> list[dict[str, object]]:
    return [orjson.loads(text) for text in table["properties"].to_pylist()]


def unique_events(events: pa.Table) -> pa.Table:
    """First delivery of each event_id."""
    ordered = events.sort_by([("event_id", "ascending"), ("received_at", "ascending")])
    ids = ordered["event_id"].to_numpy(zero_copy_only=False)
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    return ordered.filter(pa.array(first))


# ------------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------------

PRO_THEN_CANCELED: list[tuple[float, list[Stage]]] = [
    (0, [Stage(0, "pro", "active", 8), Stage(120, "free", "canceled", 0)])
]
STARTER_UPGRADED: list[tuple[float, list[Stage]]] = [
    (
        0,
        [
            Stage(0, "starter", "trialing", 4),
            Stage(14, "starter", "active", 4),
            Stage(60, "pro", "active", 6),
            Stage(200, "enterprise", "active", 12),
        ],
    )
]


@pytest.fixture(scope="module")
def population() -> list[CustomerStory]:
    return [typical_story(index) for index in range(300)]


@pytest.fixture(scope="module")
def world(population: list[CustomerStory]) -> dict[str, pa.Table]:
    return simulate(population)


@pytest.fixture(scope="module")
def events(world: dict[str, pa.Table]) -> pa.Table:
    return world["product/events"]


# ------------------------------------------------------------------------------------------------
# Tables and determinism
# ------------------------------------------------------------------------------------------------


def test_tables_are_the_four_product_tables() -> None:
    assert [table.path for table in product.TABLES] == [
        "product/events",
        "truth/product_usage_daily",
        "truth/workspace_plan_intervals",
        "truth/workspace_users",
    ]
    assert product.TABLES[0].schema.names == [
        "event_id",
        "event_name",
        "occurred_at",
        "received_at",
        "user_id",
        "workspace_id",
        "anonymous_id",
        "properties",
        "app_version",
    ]
    assert all(isinstance(table, Table) for table in product.TABLES)
    assert 0 < product.APP_VERSION_FROM_FRACTION < 1


class RecordingSink(Sink):
    """A sink that also keeps every batch in the order it was added."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[tuple[str, pa.RecordBatch]] = []

    def add_batch(self, table: Table, batch: pa.RecordBatch) -> None:
        self.added.append((table.path, batch))
        super().add_batch(table, batch)


def test_same_inputs_give_identical_batches(population: list[CustomerStory]) -> None:
    runs = []
    for _ in range(2):
        sink = RecordingSink()
        for story in population[:40]:
            product.simulate_customer_product(story, WINDOW, SEED, EPS, sink)
        runs.append(sink.added)
    first, second = runs
    assert len(first) == len(second) > 40
    for (path_a, batch_a), (path_b, batch_b) in zip(first, second, strict=True):
        assert path_a == path_b
        assert batch_a.equals(batch_b), path_a
    assert sum(b.num_rows for path, b in first if path == "product/events") > 1000


def test_seed_and_entity_change_the_events(population: list[CustomerStory]) -> None:
    stories = population[:20]
    base = simulate(stories)["product/events"]
    other_seed = simulate(stories, seed=SEED + 1)["product/events"]
    assert not base["event_id"].equals(other_seed["event_id"])
    story = make_story(3, PRO_THEN_CANCELED)
    moved = make_story(4, PRO_THEN_CANCELED)
    a = simulate([story])["product/events"]["event_id"].to_pylist()
    b = simulate([moved])["product/events"]["event_id"].to_pylist()
    assert not set(a) & set(b)


def test_customers_are_simulated_independently(population: list[CustomerStory]) -> None:
    together = simulate(population[:10])["product/events"]
    alone = simulate(population[5:6])["product/events"]
    ws = population[5].workspaces[0].workspace_id
    mine = together.filter(pc.equal(together["workspace_id"], ws))
    assert mine.num_rows > 0
    assert mine.equals(alone.filter(pc.equal(alone["workspace_id"], ws)))


# ------------------------------------------------------------------------------------------------
# Volume
# ------------------------------------------------------------------------------------------------


def test_daily_volume_tracks_seats_and_rate() -> None:
    stories = [make_story(i, [(0, [Stage(0, "pro", "active", 10)])]) for i in range(60)]
    events = simulate(stories, events_per_seat_day=1.0)["product/events"]
    unique = unique_events(events)
    days = (WINDOW.end - WINDOW.start) / DAY - 10
    per_seat_day = unique.num_rows / (60 * 10 * days)
    # The upgrade funnel adds nothing here; engagement varies per workspace with mean 1.
    assert per_seat_day == pytest.approx(1.0, rel=0.15)


def test_volume_scales_with_events_per_seat_day(population: list[CustomerStory]) -> None:
    stories = population[:50]
    low = simulate(stories, events_per_seat_day=0.2)["product/events"].num_rows
    high = simulate(stories, events_per_seat_day=0.8)["product/events"].num_rows
    assert high / low == pytest.approx(4.0, rel=0.1)
    assert simulate(stories, events_per_seat_day=0.0)["product/events"].num_rows == 0


def test_past_due_and_unpaid_use_less_than_active() -> None:
    stages = [
        Stage(0, "pro", "active", 10),
        Stage(150, "pro", "past_due", 10),
        Stage(300, "pro", "unpaid", 10),
        Stage(450, "pro", "active", 10),
    ]
    stories = [make_story(i, [(0, stages)], created_day=0) for i in range(30)]
    events = unique_events(simulate(stories)["product/events"])
    day = (ms(events, "occurred_at") // 1000 - WINDOW.start) // DAY
    active, past_due, unpaid = ((day >= a) & (day < a + 150) for a in (0, 150, 300))
    assert past_due.sum() < 0.85 * active.sum()
    assert unpaid.sum() < 0.6 * past_due.sum()
    assert unpaid.sum() > 0.2 * active.sum()


def test_free_workspaces_use_a_little() -> None:
    stories = [make_story(i, [(0, [Stage(0, "free", "none", 1)])]) for i in range(30)]
    unique = unique_events(simulate(stories)["product/events"])
    per_workspace_day = unique.num_rows / (30 * 540)
    assert 0 < per_workspace_day < EPS
    plans = {p["plan"] for p in props(unique)}
    assert plans == {"free"}


def test_weekends_are_quieter(events: pa.Table) -> None:
    weekday = (ms(events, "occurred_at") // 1000 // DAY + 3) % 7
    per_weekday = np.bincount(weekday, minlength=7) / np.bincount(
        (np.arange(WINDOW.start, WINDOW.end, DAY) // DAY + 3) % 7, minlength=7
    )
    assert per_weekday[5:].max() < 0.6 * per_weekday[:5].min()


# ------------------------------------------------------------------------------------------------
# Delivery: ids, duplicates, lateness, window, app_version
# ------------------------------------------------------------------------------------------------


def test_event_ids_are_uuid4_and_unique_per_event(events: pa.Table) -> None:
    unique = unique_events(events)
    ids = unique["event_id"].to_pylist()
    assert len(set(ids)) == len(ids)
    assert all(UUID4.match(event_id) for event_id in ids[:20000])


def test_about_one_percent_is_delivered_twice_as_an_exact_copy(events: pa.Table) -> None:
    unique = unique_events(events)
    duplicates = events.num_rows - unique.num_rows
    assert duplicates / unique.num_rows == pytest.approx(0.01, abs=0.002)
    counts = pc.value_counts(events["event_id"])
    assert max(counts.field("counts").to_pylist()) == 2
    twice = {v for v, n in zip(*counts.flatten(), strict=True) if n.as_py() == 2}
    copies = events.filter(pc.is_in(events["event_id"], pa.array([v.as_py() for v in twice])))
    by_id: dict[str, list[dict]] = {}
    for row in copies.to_pylist():
        by_id.setdefault(row["event_id"], []).append(row)
    for first, second in by_id.values():
        later, earlier = (
            (first, second)
            if first["received_at"] > second["received_at"]
            else (
                second,
                first,
            )
        )
        assert later["received_at"] > earlier["received_at"]
        assert {k: v for k, v in later.items() if k != "received_at"} == {
            k: v for k, v in earlier.items() if k != "received_at"
        }


def test_lateness_is_mostly_seconds_with_a_late_tail_bounded_by_72_hours(
    events: pa.Table,
) -> None:
    late = ms(events, "received_at") - ms(events, "occurred_at")
    assert late.min() >= 1
    assert late.max() <= MAX_LATENESS_MS
    assert np.mean(late < 10_000) == pytest.approx(0.96, abs=0.01)
    assert np.mean(late >= 60_000) == pytest.approx(0.04, abs=0.01)
    # Only mobile clients (~1%) are later than the 6 h of ordinary late delivery.
    assert 0.002 < np.mean(late > 6 * HOUR * 1000 + 1000) < 0.01
    assert late.max() > 60 * HOUR * 1000


def test_no_event_outside_a_workspace_life_or_the_window(
    population: list[CustomerStory], events: pa.Table
) -> None:
    created = {ws.workspace_id: ws.created for s in population for ws in s.workspaces}
    occurred = ms(events, "occurred_at")
    starts = np.array([created[w] for w in events["workspace_id"].to_pylist()]) * 1000
    assert (occurred >= starts).all()
    assert (occurred >= WINDOW.start * 1000).all()
    assert (occurred < WINDOW.end * 1000).all()
    assert (ms(events, "received_at") >= WINDOW.end * 1000).any()


def test_spans_running_past_the_window_end_emit_nothing_after_it() -> None:
    later = Window(WINDOW.start, WINDOW.end + 60 * DAY)
    upgrade_day = (WINDOW.end - WINDOW.start) / DAY - 10 + 3  # 3 days after WINDOW.end
    stages = [Stage(0, "starter", "active", 30), Stage(upgrade_day, "pro", "active", 30)]
    stories = [make_story(i, [(0, stages)], window=later) for i in range(5)]
    assert all(c.ts > WINDOW.end for s in stories for c in s.tier_changes)
    world = simulate(stories, window=WINDOW)
    occurred = ms(world["product/events"], "occurred_at")
    assert occurred.max() < WINDOW.end * 1000
    assert occurred.max() > (WINDOW.end - HOUR) * 1000
    prompts = world["product/events"].filter(
        pc.equal(world["product/events"]["event_name"], "upgrade_prompt_viewed")
    )
    assert any(p.get("target_plan") == "pro" for p in props(prompts))
    assert world["truth/workspace_plan_intervals"].num_rows == 10


def test_events_before_the_window_are_not_emitted() -> None:
    story = make_story(1, [(0, [Stage(0, "pro", "active", 5)])], created_day=-30)
    events = simulate([story])["product/events"]
    assert events.num_rows > 0
    assert ms(events, "occurred_at").min() >= WINDOW.start * 1000


def test_app_version_appears_only_after_the_cutoff(events: pa.Table) -> None:
    cutoff = WINDOW.start + int(product.APP_VERSION_FROM_FRACTION * (WINDOW.end - WINDOW.start))
    occurred = ms(events, "occurred_at")
    present = events["app_version"].is_valid().to_numpy(zero_copy_only=False)
    assert not present[occurred < cutoff * 1000].any()
    assert present[occurred >= cutoff * 1000].all()
    assert present.any() and not present.all()
    versions = set(events["app_version"].drop_null().to_pylist())
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in versions)
    assert len(versions) > 10


# ------------------------------------------------------------------------------------------------
# Contents: names, properties, users
# ------------------------------------------------------------------------------------------------


def test_event_names_and_properties_are_well_formed(events: pa.Table) -> None:
    names = set(events["event_name"].to_pylist())
    assert names == {
        "page_view",
        "feature_used",
        "export_video",
        "invite_teammate",
        "login",
        "report_created",
        "upgrade_prompt_viewed",
    }
    sample = events.slice(0, 30000)
    for name, prop in zip(sample["event_name"].to_pylist(), props(sample), strict=True):
        assert prop["plan"] in TIER_RANK
        assert str(prop["path"]).startswith("/")
        if name in ("page_view", "feature_used", "export_video", "report_created"):
            assert isinstance(prop["duration_ms"], int) and prop["duration_ms"] > 0
        if name == "export_video":
            assert TIER_RANK[str(prop["plan"])] >= TIER_RANK["pro"]
        if name == "upgrade_prompt_viewed":
            assert TIER_RANK[str(prop["target_plan"])] > TIER_RANK[str(prop["plan"])]
            assert prop["feature"] in FEATURES_BY_TIER[str(prop["target_plan"])]


def test_everyday_features_belong_to_the_plan_the_client_shows() -> None:
    story = make_story(5, [(0, [Stage(0, "starter", "active", 6)])])
    unique = unique_events(simulate([story])["product/events"])
    used = [
        p
        for n, p in zip(unique["event_name"].to_pylist(), props(unique), strict=True)
        if n == "feature_used"
    ]
    assert len(used) > 200
    assert {p["feature"] for p in used} == set(FEATURES_BY_TIER["starter"])
    assert {p["plan"] for p in used} == {"starter"}


def test_anonymous_page_views_carry_only_an_anonymous_id(events: pa.Table) -> None:
    anonymous = events.filter(pc.is_null(events["user_id"]))
    assert set(anonymous["event_name"].to_pylist()) == {"page_view"}
    assert anonymous["anonymous_id"].null_count == 0
    assert all(
        a.startswith("anon_") and len(a) == 21 for a in anonymous["anonymous_id"].to_pylist()
    )
    identified = events.filter(pc.is_valid(events["user_id"]))
    assert identified["anonymous_id"].null_count == identified.num_rows
    page_views = pc.sum(pc.equal(events["event_name"], "page_view")).as_py()
    assert anonymous.num_rows / page_views == pytest.approx(0.03, abs=0.006)


def test_every_event_user_is_a_member_who_had_joined(
    world: dict[str, pa.Table], events: pa.Table
) -> None:
    members = world["truth/workspace_users"]
    joined = {
        (w, u): j
        for w, u, j in zip(
            members["workspace_id"].to_pylist(),
            members["user_id"].to_pylist(),
            ms(members, "joined_at"),
            strict=True,
        )
    }
    assert len(joined) == members.num_rows
    rows = zip(
        events["workspace_id"].to_pylist(),
        events["user_id"].to_pylist(),
        ms(events, "occurred_at"),
        strict=True,
    )
    for ws, user, occurred in rows:
        if user is not None:
            assert joined[(ws, user)] * 1000 <= occurred


def test_users_track_seats() -> None:
    stages = [Stage(0, "pro", "active", 4), Stage(200, "pro", "active", 20)]
    story = make_story(9, [(0, stages)])
    world = simulate([story])
    members = world["truth/workspace_users"]
    seat_up = story.workspaces[0].spans[1].start
    early = int(pc.sum(pc.less(ms_array(members, "joined_at"), seat_up)).as_py())
    assert 3 <= early <= 4
    assert 15 <= members.num_rows <= 20
    unique = unique_events(world["product/events"])
    before = unique.filter(pc.less(ms_array(unique, "occurred_at"), seat_up * 1000))
    assert len(set(before["user_id"].drop_null().to_pylist())) == early


def test_guests_and_shared_users(
    population: list[CustomerStory], world: dict[str, pa.Table]
) -> None:
    members = world["truth/workspace_users"]
    customer_of = {ws.workspace_id: s for s in population for ws in s.workspaces}
    own_range = 0
    guests = 0
    for ws, user in zip(
        members["workspace_id"].to_pylist(), members["user_id"].to_pylist(), strict=True
    ):
        entity = user_number(user) // 4096
        if entity == customer_of[ws].entity_index:
            own_range += 1
        else:
            guests += 1
    assert guests / members.num_rows == pytest.approx(0.05, abs=0.02)
    workspaces_per_user: dict[str, set[str]] = {}
    for ws, user in zip(
        members["workspace_id"].to_pylist(), members["user_id"].to_pylist(), strict=True
    ):
        workspaces_per_user.setdefault(user, set()).add(ws)
    shared = [
        wss
        for wss in workspaces_per_user.values()
        if len({customer_of[w].entity_index for w in wss}) == 1 and len(wss) > 1
    ]
    assert shared, "users of one customer belong to several of its workspaces"


# ------------------------------------------------------------------------------------------------
# Life events: cancellation tail, upgrade funnel
# ------------------------------------------------------------------------------------------------


def test_paid_features_are_used_for_a_while_after_cancellation() -> None:
    stories = [make_story(i, PRO_THEN_CANCELED) for i in range(100, 110)]
    canceled_at = stories[0].workspaces[0].spans[1].start
    unique = unique_events(simulate(stories)["product/events"])
    after = unique.filter(pc.greater_equal(ms_array(unique, "occurred_at"), canceled_at * 1000))
    paid = [
        (ws, o // 1000, p)
        for ws, o, p in zip(
            after["workspace_id"].to_pylist(), ms(after, "occurred_at"), props(after), strict=True
        )
        if p.get("feature") in PAID_FEATURES
    ]
    assert len({ws for ws, _, _ in paid}) >= 8
    assert {p["plan"] for _, _, p in paid} == {"pro"}
    last = max(t for _, t, _ in paid)
    assert DAY <= last - canceled_at <= product.TAIL_DAYS[1] * DAY
    late_plans = {
        p["plan"]
        for t, p in zip(ms(after, "occurred_at") // 1000, props(after), strict=True)
        if t > canceled_at + 40 * DAY
    }
    assert late_plans <= {"free"}


def test_cancellation_tails_exist_across_a_population(
    population: list[CustomerStory], events: pa.Table
) -> None:
    ended = {
        ws.workspace_id: (span.start, span.end)
        for s in population
        for ws in s.workspaces
        for span in ws.spans
        if span.status in ("canceled", "unpaid")
    }
    assert len(ended) > 10
    hits = set()
    for ws, occurred, prop in zip(
        events["workspace_id"].to_pylist(), ms(events, "occurred_at"), props(events), strict=True
    ):
        if ws in ended and prop.get("feature") in PAID_FEATURES:
            start, end = ended[ws]
            if start * 1000 <= occurred < end * 1000:
                hits.add(ws)
    assert len(hits) > 0.3 * len(ended)


def test_upgrades_are_preceded_by_next_tier_usage_and_prompts() -> None:
    stories = [make_story(i, STARTER_UPGRADED) for i in range(20, 30)]
    world = simulate(stories)
    unique = unique_events(world["product/events"])
    rows = list(
        zip(
            unique["workspace_id"].to_pylist(),
            unique["event_name"].to_pylist(),
            ms(unique, "occurred_at") // 1000,
            props(unique),
            strict=True,
        )
    )
    upgrades = [c for s in stories for c in s.tier_changes if c.kind == "upgrade"]
    assert len(upgrades) == 20
    for change in upgrades:
        new = set(FEATURES_BY_TIER[change.tier_after]) - set(FEATURES_BY_TIER[change.tier_before])
        week = [
            (name, p)
            for ws, name, t, p in rows
            if ws == change.workspace_id and change.ts - 7 * DAY <= t < change.ts
        ]
        prompts = [p for n, p in week if n == "upgrade_prompt_viewed"]
        previews = [p for n, p in week if n == "feature_used" and p["feature"] in new]
        assert prompts, change
        assert previews, change
        assert any(p["target_plan"] == change.tier_after and p["feature"] in new for p in prompts)
        assert {p["plan"] for p in prompts} <= {change.tier_before, change.tier_after}


def test_some_upgrade_prompts_lead_nowhere(
    events: pa.Table, population: list[CustomerStory]
) -> None:
    upgrades: dict[str, list[int]] = {}
    for story in population:
        for change in story.tier_changes:
            if change.kind == "upgrade":
                upgrades.setdefault(change.workspace_id, []).append(change.ts)
    prompts = events.filter(pc.equal(events["event_name"], "upgrade_prompt_viewed"))
    followed = 0
    for ws, occurred in zip(
        prompts["workspace_id"].to_pylist(), ms(prompts, "occurred_at") // 1000, strict=True
    ):
        if any(0 < ts - occurred <= 7 * DAY for ts in upgrades.get(ws, [])):
            followed += 1
    assert 0 < followed < prompts.num_rows
    assert prompts.num_rows - followed > 0.3 * prompts.num_rows


def test_the_client_shows_the_previous_plan_briefly_after_a_change() -> None:
    stories = [make_story(i, STARTER_UPGRADED) for i in range(40, 60)]
    unique = unique_events(simulate(stories, events_per_seat_day=3.0)["product/events"])
    mismatched = 0
    total = 0
    for story in stories:
        spans = story.workspaces[0].spans
        ws = unique.filter(pc.equal(unique["workspace_id"], story.workspaces[0].workspace_id))
        for occurred, prop, name in zip(
            ms(ws, "occurred_at") // 1000, props(ws), ws["event_name"].to_pylist(), strict=True
        ):
            span = next(s for s in spans if s.start <= occurred < s.end)
            total += 1
            if prop["plan"] != span.tier and name != "upgrade_prompt_viewed":
                mismatched += 1
                assert occurred - span.start < 12 * HOUR
    assert 0 < mismatched < 0.01 * total


# ------------------------------------------------------------------------------------------------
# Truth tables
# ------------------------------------------------------------------------------------------------


def test_usage_truth_counts_unique_events_and_users(world: dict[str, pa.Table]) -> None:
    unique = unique_events(world["product/events"])
    dated = unique.append_column(
        "date", pc.cast(pc.cast(unique["occurred_at"], pa.timestamp("ms")), pa.date32())
    )
    expected = dated.group_by(["workspace_id", "date", "event_name"]).aggregate(
        [("event_id", "count"), ("user_id", "count_distinct")]
    )
    expected = expected.sort_by(
        [("workspace_id", "ascending"), ("date", "ascending"), ("event_name", "ascending")]
    )
    truth = world["truth/product_usage_daily"]
    assert truth["workspace_id"].equals(expected["workspace_id"])
    assert truth["date"].equals(expected["date"])
    assert truth["event_name"].equals(expected["event_name"])
    assert truth["events"].to_pylist() == expected["event_id_count"].to_pylist()
    assert truth["users"].to_pylist() == expected["user_id_count_distinct"].to_pylist()
    assert sum(truth["events"].to_pylist()) < world["product/events"].num_rows


def test_usage_truth_names_the_customer(
    population: list[CustomerStory], world: dict[str, pa.Table]
) -> None:
    customer_of = {ws.workspace_id: ws.customer_id for s in population for ws in s.workspaces}
    truth = world["truth/product_usage_daily"]
    for ws, customer in zip(
        truth["workspace_id"].to_pylist(), truth["customer_id"].to_pylist(), strict=True
    ):
        assert customer_of[ws] == customer


def test_plan_intervals_are_the_spans(
    population: list[CustomerStory], world: dict[str, pa.Table]
) -> None:
    intervals = world["truth/workspace_plan_intervals"].to_pylist()
    spans = sorted(
        (ws.workspace_id, span.start, span.end, span.tier, span.price_id, span.status, span.seats)
        for s in population
        for ws in s.workspaces
        for span in ws.spans
        if span.end > span.start
    )
    got = [
        (
            row["workspace_id"],
            to_ts(row["valid_from"]),
            to_ts(row["valid_to"]),
            row["tier"],
            row["price_id"],
            row["billing_status"],
            row["seats"],
        )
        for row in intervals
    ]
    assert got == spans


def test_every_event_falls_in_exactly_one_plan_interval(world: dict[str, pa.Table]) -> None:
    intervals = world["truth/workspace_plan_intervals"]
    by_ws: dict[str, list[tuple[int, int]]] = {}
    lo, hi = ms(intervals, "valid_from"), ms(intervals, "valid_to")
    for i, ws in enumerate(intervals["workspace_id"].to_pylist()):
        by_ws.setdefault(ws, []).append((int(lo[i]), int(hi[i])))
    events = world["product/events"]
    occurred = ms(events, "occurred_at") // 1000
    for ws, t in zip(events["workspace_id"].to_pylist(), occurred, strict=True):
        assert sum(start <= t < end for start, end in by_ws[ws]) == 1


# ------------------------------------------------------------------------------------------------
# Edge cases and helpers
# ------------------------------------------------------------------------------------------------


def test_spans_must_tile_the_workspace_life() -> None:
    story = make_story(2, PRO_THEN_CANCELED)
    spans = story.workspaces[0].spans
    spans[1] = PlanSpan(spans[1].start + 60, spans[1].end, "free", None, None, "canceled", 0, 0)
    with pytest.raises(WorldError, match="gap"):
        simulate([story])
    story = make_story(2, PRO_THEN_CANCELED)
    story.workspaces[0].created -= 1
    with pytest.raises(WorldError, match="creation"):
        simulate([story])


def test_a_workspace_without_spans_or_created_at_the_end_gives_no_events() -> None:
    story = make_story(3, PRO_THEN_CANCELED)
    story.workspaces.append(
        WorkspaceStory(workspace_id(3, 1), story.customer_id, 3, WINDOW.end, [])
    )
    world = simulate([story])
    assert set(world["product/events"]["workspace_id"].to_pylist()) == {
        story.workspaces[0].workspace_id
    }


def test_a_customer_beyond_its_user_id_range_invites_guests() -> None:
    workspaces = [(d, [Stage(0, "enterprise", "active", 1500)]) for d in range(5)]
    story = make_story(12, workspaces, created_day=500)
    world = simulate([story], events_per_seat_day=0.01)
    members = world["truth/workspace_users"]
    assert members.num_rows >= 5 * 1100
    pairs = set(
        zip(members["workspace_id"].to_pylist(), members["user_id"].to_pylist(), strict=True)
    )
    assert len(pairs) == members.num_rows
    users = set(members["user_id"].to_pylist())
    own = {u for u in users if user_number(u) // 4096 == 12}
    assert len(own) == 4096
    assert len(users - own) > 500
    assert set(world["product/events"]["user_id"].drop_null().to_pylist()) <= users


def test_uuid4_strings_are_canonical() -> None:
    ids = product.uuid4_strings(np.random.default_rng(1), 1000).to_pylist()
    assert len(set(ids)) == 1000
    assert all(UUID4.match(event_id) for event_id in ids)
    assert product.uuid4_strings(np.random.default_rng(1), 0).to_pylist() == []


@pytest.mark.parametrize(
    ("lo", "hi", "pieces"),
    [
        pytest.param([0], [DAY], [(0, 0, DAY)], id="one-whole-day"),
        pytest.param([10], [10], [], id="empty"),
        pytest.param([DAY - 5], [DAY + 5], [(0, DAY - 5, DAY), (0, DAY, DAY + 5)], id="midnight"),
        pytest.param(
            [0, 2 * DAY + 1],
            [1, 2 * DAY + 2],
            [(0, 0, 1), (1, 2 * DAY + 1, 2 * DAY + 2)],
            id="two-intervals",
        ),
    ],
)
def test_day_pieces(lo: list[int], hi: list[int], pieces: list[tuple[int, int, int]]) -> None:
    owner, start, end = product.day_pieces(np.array(lo), np.array(hi))
    assert list(zip(owner.tolist(), start.tolist(), end.tolist(), strict=True)) == pieces
