"""Latest state and state as of a moment, over hand-made raw rows (DuckDB)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb
import pytest

from revstack.warehouse.raw import version_key
from revstack.warehouse.versions import as_of_sql, latest_sql


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA raw_stripe")
    connection.execute(
        """CREATE TABLE raw_stripe.subscriptions (id VARCHAR, version_key VARCHAR, object VARCHAR,
        created BIGINT, version_at BIGINT, event_id VARCHAR, source VARCHAR, payload JSON,
        _ingested_at TIMESTAMPTZ, _dlt_load_id VARCHAR)"""
    )
    connection.execute(
        """CREATE TABLE raw_stripe.events (id VARCHAR, version_key VARCHAR, type VARCHAR,
        created BIGINT, object_id VARCHAR, object_type VARCHAR, object_version_key VARCHAR,
        source VARCHAR, payload JSON, _ingested_at TIMESTAMPTZ, _dlt_load_id VARCHAR)"""
    )
    connection.execute(
        """CREATE TABLE raw_stripe.event_ranks (id VARCHAR, created BIGINT,
        rank_in_second INTEGER, _ingested_at TIMESTAMPTZ, _dlt_load_id VARCHAR)"""
    )
    yield connection
    connection.close()


def state(status: str, sub: str = "sub_1") -> dict[str, object]:
    return {"id": sub, "object": "subscription", "created": 1, "status": status}


class Raw:
    """Writes rows the way the connector does: a state once per (id, version key); every
    event logged with the key of the state it carries."""

    def __init__(self, db: duckdb.DuckDBPyConnection) -> None:
        self.db = db
        self.keys: set[tuple[str, str]] = set()

    def version(self, obj: dict[str, object], at: int, event_id: str | None) -> None:
        key = version_key(obj)
        if (str(obj["id"]), key) in self.keys:
            return
        self.keys.add((str(obj["id"]), key))
        self.db.execute(
            "INSERT INTO raw_stripe.subscriptions VALUES (?, ?, 'subscription', 1, ?, ?, ?, ?, "
            "now(), 'load')",
            [obj["id"], key, at, event_id, "events" if event_id else "backfill", json.dumps(obj)],
        )

    def event(self, event_id: str, obj: dict[str, object], at: int, rank: int | None) -> None:
        self.version(obj, at, event_id)
        self.db.execute(
            "INSERT INTO raw_stripe.events VALUES (?, 'k', 'customer.subscription.updated', ?, ?, "
            "'subscription', ?, 'events', '{}', now(), 'load')",
            [event_id, at, obj["id"], version_key(obj)],
        )
        if rank is not None:
            self.db.execute(
                "INSERT INTO raw_stripe.event_ranks VALUES (?, ?, ?, now(), 'load')",
                [event_id, at, rank],
            )

    def read(self, obj: dict[str, object], at: int) -> None:
        self.version(obj, at, None)


def statuses(db: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    rows = db.execute(f"SELECT id, payload FROM ({sql}) AS t").fetchall()
    return {row[0]: json.loads(row[1])["status"] for row in rows}


def test_a_state_entered_again_is_the_latest(db: duckdb.DuckDBPyConnection) -> None:
    raw = Raw(db)
    raw.event("evt_1", state("active"), 100, 0)
    raw.event("evt_2", state("past_due"), 200, 0)
    raw.event("evt_3", state("active"), 300, 0)  # the same state as evt_1: no new version row
    assert db.execute("SELECT count(*) FROM raw_stripe.subscriptions").fetchone() == (2,)
    assert statuses(db, latest_sql("subscriptions")) == {"sub_1": "active"}
    assert statuses(db, as_of_sql("subscriptions", 250)) == {"sub_1": "past_due"}
    assert statuses(db, as_of_sql("subscriptions", 150)) == {"sub_1": "active"}
    assert statuses(db, as_of_sql("subscriptions", 99)) == {}


def test_events_of_one_second_follow_stripes_listing_order(db: duckdb.DuckDBPyConnection) -> None:
    raw = Raw(db)
    raw.event("evt_b", state("trialing"), 500, 1)
    raw.event("evt_a", state("active"), 500, 0)
    raw.event("evt_c", state("past_due"), 500, 2)
    assert statuses(db, latest_sql("subscriptions")) == {"sub_1": "past_due"}


def test_a_list_read_comes_after_the_events_of_its_second(db: duckdb.DuckDBPyConnection) -> None:
    raw = Raw(db)
    raw.event("evt_1", state("active"), 500, 0)
    raw.read(state("canceled"), 500)
    assert statuses(db, latest_sql("subscriptions")) == {"sub_1": "canceled"}
    raw.event("evt_2", state("unpaid"), 501, 0)
    assert statuses(db, latest_sql("subscriptions")) == {"sub_1": "unpaid"}


def test_unranked_events_come_before_ranked_ones(db: duckdb.DuckDBPyConnection) -> None:
    raw = Raw(db)
    raw.event("evt_webhook", state("active"), 700, None)
    raw.event("evt_listed", state("past_due"), 700, 0)
    assert statuses(db, latest_sql("subscriptions")) == {"sub_1": "past_due"}


def test_objects_are_independent_and_list_reads_alone_work(
    db: duckdb.DuckDBPyConnection,
) -> None:
    raw = Raw(db)
    raw.read(state("active", "sub_1"), 10)
    raw.read(state("trialing", "sub_2"), 10)
    raw.read(state("canceled", "sub_2"), 20)
    assert statuses(db, latest_sql("subscriptions")) == {"sub_1": "active", "sub_2": "canceled"}
    assert statuses(db, as_of_sql("subscriptions", 15)) == {"sub_1": "active", "sub_2": "trialing"}
    plain = latest_sql("subscriptions", events=None)
    assert statuses(db, plain) == {"sub_1": "active", "sub_2": "canceled"}


def test_identifiers_are_checked() -> None:
    with pytest.raises(ValueError):
        latest_sql("subscriptions; DROP TABLE x")
    with pytest.raises(ValueError):
        latest_sql("subscriptions", object_type="sub'scription")
