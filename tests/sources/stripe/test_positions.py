"""Pure logic of list reads: pagination positions, splits and segments, cursor and retention
decisions, read plans, event ranks."""

from __future__ import annotations

import datetime as dt

import pytest

from revstack.sources.stripe import segments as seg
from revstack.sources.stripe.pagination import (
    ListPosition,
    advance,
    first_request,
    next_request,
    split,
)
from revstack.sources.stripe.plans import (
    decide_events,
    disputed_charge_ids,
    gap_positions,
    list_cursor_position,
    oldest_first,
    rank_in_second,
    shrink_window,
    sweep_positions,
)
from revstack.sources.stripe.settings import (
    RESOURCE_BY_TABLE,
    RESOURCES,
    SAFE_EVENT_RETENTION_S,
    SWEEP_LOOKBACK_S,
)

DAY = 86_400
NOW = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)


def item(object_id: str, created: int) -> dict[str, object]:
    return {"id": object_id, "created": created, "object": "charge"}


# --- pagination ----------------------------------------------------------------------------


def test_first_request_bounds_created_and_keeps_resource_parameters() -> None:
    position = ListPosition(since=100, upper=200)
    params = first_request({"status": "all"}, position, 100)
    assert params == {"status": "all", "limit": 100, "created": {"gte": 100, "lte": 200}}
    assert first_request({}, ListPosition(), 10) == {"limit": 10}
    unfiltered = first_request({}, ListPosition(after="ch_9"), 100, created_filter=False)
    assert unfiltered == {"limit": 100, "starting_after": "ch_9"}


def test_next_request_continues_after_the_last_item() -> None:
    params = next_request({"limit": 2, "created": {"lte": 9}}, [item("b", 9), item("a", 8)])
    assert params == {"limit": 2, "created": {"lte": 9}, "starting_after": "a"}


def test_advance_keeps_the_oldest_second_and_the_ids_loaded_in_it() -> None:
    page = [item("c", 30), item("b", 20), item("a", 20)]
    fresh, position = advance(ListPosition(since=0, upper=40), page, has_more=True)
    assert fresh == page
    assert position == ListPosition(since=0, upper=20, skip=("b", "a"))
    # Resuming asks for created <= 20 again: the ids already loaded there are dropped.
    resumed = [item("b", 20), item("a", 20), item("z", 20), item("y", 10)]
    fresh, position = advance(position, resumed, has_more=True)
    assert [i["id"] for i in fresh] == ["z", "y"]
    assert position == ListPosition(since=0, upper=10, skip=("y",))


def test_advance_carries_skipped_ids_while_the_second_does_not_change() -> None:
    position = ListPosition(upper=20, skip=("b",))
    fresh, position = advance(position, [item("b", 20), item("a", 20)], has_more=True)
    assert [i["id"] for i in fresh] == ["a"]
    assert position.skip == ("b", "a")


def test_advance_ends_the_read_on_the_last_page() -> None:
    fresh, position = advance(ListPosition(since=5, upper=9, skip=("x",)), [item("x", 9)], False)
    assert fresh == []
    assert position == ListPosition(since=5, upper=9, done=True)


def test_advance_without_created_filters_resumes_after_the_last_id() -> None:
    _, position = advance(ListPosition(), [item("b", 1), item("a", 2)], True, created_filter=False)
    assert position == ListPosition(after="a")


def test_position_state_round_trips() -> None:
    position = ListPosition(since=1, upper=2, skip=("a",), after=None, done=False)
    assert ListPosition.from_state(position.to_state()) == position


# --- cursor and retention ------------------------------------------------------------------


def test_events_are_read_from_the_cursor_minus_the_overlap() -> None:
    decision = decide_events(10_000, None, 20_000, overlap_s=300)
    assert (decision.lower, decision.gap_from) == (9_700, None)


def test_without_a_cursor_every_listed_event_is_read() -> None:
    decision = decide_events(None, 19_000, 20_000, overlap_s=300)
    assert (decision.lower, decision.gap_from) == (None, None)


def test_a_cursor_older_than_29_days_is_a_retention_gap() -> None:
    now = 100 * DAY
    cursor = now - SAFE_EVENT_RETENTION_S - 10
    decision = decide_events(cursor, None, now, overlap_s=300)
    assert decision.gap_from == cursor
    assert decision.lower == now - SAFE_EVENT_RETENTION_S
    assert decision.lost_s == 10
    just_inside = decide_events(now - SAFE_EVENT_RETENTION_S, None, now, overlap_s=300)
    assert just_inside.gap_from is None
    # A back-fill whose events were never read within the retention is a gap too.
    assert decide_events(None, cursor, now, overlap_s=0).gap_from == cursor


def test_reading_events_needs_a_cursor_or_a_backfill() -> None:
    with pytest.raises(ValueError, match="back-fill"):
        decide_events(None, None, 1, overlap_s=0)


def test_a_gap_rereads_recent_objects_and_late_changing_ones_further_back() -> None:
    gap_from, now = 200 * DAY, 240 * DAY
    positions = gap_positions(RESOURCES, gap_from, now, overlap_s=300)
    assert positions["balance_transactions"] == ListPosition(since=gap_from - 300, upper=now)
    for table in ("customers", "products", "prices", "subscriptions", "invoices"):
        assert positions[table].since is None
    for table in ("payment_intents", "charges", "refunds", "disputes"):
        assert positions[table].since == gap_from - RESOURCE_BY_TABLE[table].gap_lookback_s
        assert positions[table].since < gap_from - 120 * DAY
    assert {p.upper for p in positions.values()} == {now}


def test_the_sweep_covers_the_last_120_days() -> None:
    positions = sweep_positions(["disputes", "refunds"], 1_000 * DAY)
    assert positions == {
        table: ListPosition(since=1_000 * DAY - SWEEP_LOOKBACK_S, upper=1_000 * DAY)
        for table in ("disputes", "refunds")
    }


def test_list_only_resources_continue_from_their_cursor() -> None:
    assert list_cursor_position(5_000, 9_000, overlap_s=300) == ListPosition(4_700, 9_000)
    assert list_cursor_position(None, 9_000, overlap_s=300) == ListPosition(None, 9_000)


def test_event_windows_shrink_by_half_until_one_second() -> None:
    assert shrink_window(0, 100) == 50
    assert shrink_window(7, 8) == 7
    assert shrink_window(8, 8) is None


def test_ranks_count_from_the_oldest_event_of_each_second() -> None:
    listed = [  # as /v1/events lists them: newest first
        {"id": "e4", "created": 11},
        {"id": "e3", "created": 10},
        {"id": "e2", "created": 10},
        {"id": "e1", "created": 9},
    ]
    ordered = oldest_first(listed)
    assert [e["id"] for e in ordered] == ["e1", "e2", "e3", "e4"]
    assert rank_in_second(ordered) == [("e1", 9, 0), ("e2", 10, 0), ("e3", 10, 1), ("e4", 11, 0)]
    # A later read that also sees a newer event of second 11 keeps the earlier ranks.
    later = rank_in_second([*ordered, {"id": "e5", "created": 11}])
    assert later[:4] == rank_in_second(ordered)
    assert later[4] == ("e5", 11, 1)


def test_disputed_charges_are_found_in_disputes_only() -> None:
    objects = [
        {"object": "dispute", "charge": "ch_1"},
        {"object": "dispute", "charge": {"id": "ch_2"}},
        {"object": "dispute", "charge": "ch_1"},
        {"object": "refund", "charge": "ch_3"},
    ]
    assert disputed_charge_ids(objects) == ["ch_1", "ch_2"]


# --- splitting a read between readers ------------------------------------------------------


def test_a_read_is_split_by_the_density_of_its_last_page() -> None:
    position = ListPosition(since=1_000, upper=100_000, skip=("x",))
    newer, older = split(position, page_span_s=600, keep_pages=10)
    assert newer == ListPosition(since=94_001, upper=100_000, skip=("x",))
    assert older == ListPosition(since=1_000, upper=94_000)
    # An unbounded read splits too; its older part stays unbounded.
    newer, older = split(ListPosition(upper=100_000), page_span_s=600, keep_pages=10)
    assert (newer.since, older.since, older.upper) == (94_001, None, 94_000)


def test_reads_too_short_done_or_walked_by_id_are_not_split() -> None:
    assert split(ListPosition(since=95_000, upper=100_000), 600, 10) is None
    assert split(ListPosition(upper=100_000, done=True), 600, 10) is None
    assert split(ListPosition(), 600, 10) is None
    assert split(ListPosition(after="cus_1"), 600, 10) is None


def test_segments_advance_with_their_pages_and_splits() -> None:
    start = seg.single(ListPosition(since=0, upper=100))
    moved = seg.advanced(start, 0, ListPosition(since=51, upper=80), [(1, ListPosition(0, 50))])
    assert moved == {0: ListPosition(51, 80), 1: ListPosition(0, 50)}
    assert start == {0: ListPosition(since=0, upper=100)}
    assert seg.from_state(seg.to_state(moved)) == moved
    assert not seg.all_done(moved)
    finished = seg.advanced(moved, 1, ListPosition(0, 50, done=True))
    finished = seg.advanced(finished, 0, ListPosition(51, 80, done=True))
    assert seg.all_done(finished)
    assert seg.describe(finished) == "done from created 0"
    assert seg.describe(moved) == "0/2 segments done; reading down from created 80 from created 0"
    assert seg.from_state(None) == {}


def test_a_load_commits_each_segment_where_its_own_pages_left_it() -> None:
    from revstack.sources.stripe.lists import ListRead, Progress
    from revstack.sources.stripe.reader import Chunk, ListJob

    read = ListRead(
        "backfill",
        "backfill",
        "backfill",
        {"charges": seg.single(ListPosition(since=0, upper=100))},
        done_state={"charges": {"list_cursor": 100}},
    )
    job = ListJob(RESOURCE_BY_TABLE["charges"], ListPosition(0, 100), "backfill", "backfill")
    row = {"id": "ch_1", "version_key": "k"}
    first = Chunk(job, [row], ListPosition(61, 90), splits=[(1, ListPosition(0, 60))])
    progress = Progress(read)
    (batch,) = progress.batches([first])
    assert batch.rows == [row]
    assert seg.from_state(batch.state["reads"]["backfill"]) == {
        0: ListPosition(61, 90),
        1: ListPosition(0, 60),
    }
    assert "list_cursor" not in batch.state
    older = ListJob(job.resource, ListPosition(0, 60), "backfill", "backfill", segment=1)
    (batch,) = progress.batches(
        [
            Chunk(older, [], ListPosition(0, 60, done=True)),
            Chunk(job, [], ListPosition(61, 90, done=True)),
        ]
    )
    assert seg.all_done(seg.from_state(batch.state["reads"]["backfill"]))
    assert batch.state["list_cursor"] == 100
