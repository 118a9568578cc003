"""Webhook events from an inbox into raw: duplicates and out-of-order deliveries change
nothing, bodies that are not events are set aside, items are marked done with their load."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pyarrow.parquet as pq

from revstack.sources.stripe.inbox_loader import NO_LOAD, load_inbox
from revstack.sources.stripe.loader import RawLoader

from .conftest import MemoryInbox, latest, query, warehouse_settings


def subscription_story(world_dir: Path) -> list[bytes]:
    """The events of the subscription with the most events, in the order Stripe sent them."""
    table = pq.read_table(
        world_dir / "stripe" / "events.parquet",
        columns=["object_type", "object_id", "created", "ordinal", "payload"],
    ).to_pylist()
    subscriptions = [row for row in table if row["object_type"] == "subscription"]
    busiest = Counter(row["object_id"] for row in subscriptions).most_common(1)[0][0]
    story = sorted(
        (row for row in subscriptions if row["object_id"] == busiest),
        key=lambda row: (row["created"], row["ordinal"]),
    )
    return [row["payload"].encode() for row in story]


def test_duplicates_and_late_deliveries_change_nothing(world_dir: Path, tmp_path: Path) -> None:
    story = subscription_story(world_dir)
    assert len(story) >= 4
    final = orjson.loads(story[-1])["data"]["object"]
    inbox = MemoryInbox(dedupe=False)
    # Newest first, each twice, and one body that is not an event at all.
    for number, body in enumerate([*reversed(story), *story, b"not json"]):
        inbox.append("stripe", f"delivery_{number}", body, 1_760_000_000.0 + number)
    loader = RawLoader(warehouse_settings(tmp_path))
    try:
        report = load_inbox(inbox, loader, batch=5, run_id="run-1")
        assert report.items == 2 * len(story) + 1
        assert report.rejected == [2 * len(story) + 1]
        assert set(inbox.done) == {item.seq for item in inbox.items}
        assert set(inbox.done.values()) <= set(report.loads) | {NO_LOAD}
        assert latest(tmp_path, "subscriptions")[final["id"]] == final
        counts = query(
            tmp_path,
            "SELECT count(*), count(DISTINCT id), min(source), max(source) FROM raw_stripe.events",
        )
        assert counts == [(len(story), len(story), "webhook", "webhook")]
        receipts = query(tmp_path, "SELECT count(*) FROM raw_stripe.webhook_receipts")
        assert receipts == [(len(story),)]

        again = MemoryInbox(dedupe=False)
        for number, body in enumerate(story * 3):
            again.append("stripe", f"again_{number}", body, 1_770_000_000.0)
        before = query(tmp_path, "SELECT count(*) FROM raw_stripe.subscriptions")
        assert load_inbox(again, loader).items == 3 * len(story)
        assert query(tmp_path, "SELECT count(*) FROM raw_stripe.subscriptions") == before

        assert load_inbox(inbox, loader).items == 0  # nothing pending: nothing loaded
    finally:
        loader.close()

    entries = query(
        tmp_path,
        "SELECT run_id, action, stream, outcome, rows, details FROM revstack_audit.entries "
        "ORDER BY seq",
    )
    assert [entry[1:4] for entry in entries] == [("webhooks", "events", "success")] * 2
    first = orjson.loads(entries[0][5])
    assert entries[0][0] == "run-1"
    assert first["rejected_inbox_seqs"] == [2 * len(story) + 1]
    assert entries[0][4] == first["rows_new"] > 0
    assert entries[1][4] == 0
