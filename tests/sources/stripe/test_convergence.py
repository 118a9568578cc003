"""The acceptance path: back-fill, then incremental runs and webhook loads while the fake's
clock moves to the world's end. Raw then holds the world's final state of every object,
every event Stripe listed, and replaying every load changes nothing."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import stripe

from revstack.inbox import SqliteInbox
from revstack.sandbox.fakes.threaded import ServedApp
from revstack.sources.stripe.inbox_loader import load_inbox
from revstack.sources.stripe.loader import RawLoader
from revstack.sources.stripe.resources import TableBatch
from revstack.warehouse.audit_sink import open_audit_log

from .conftest import (
    DAY,
    KEY,
    LATE_DISPUTE,
    MemoryInbox,
    differences,
    ingest,
    latest,
    query,
    receiver_app,
    table_fingerprints,
    warehouse_settings,
    world_events,
)


def test_backfill_incrementals_and_webhooks_converge_on_the_world(
    fake_factory: Any,
    world_dir: Path,
    period: tuple[int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, end = period
    start_at = end - 45 * DAY
    committed: list[TableBatch] = []
    commit = RawLoader.commit

    def recording_commit(self: RawLoader, batches: Sequence[TableBatch]) -> Any:
        committed.extend(TableBatch(b.table, b.kind, list(b.rows)) for b in batches)
        return commit(self, batches)

    monkeypatch.setattr(RawLoader, "commit", recording_commit)
    inbox = SqliteInbox(tmp_path / "inbox.sqlite3")
    received: list[bytes] = []
    try:
        with fake_factory(start_at) as fake, ServedApp(receiver_app(inbox, received)) as hook_url:
            client = stripe.StripeClient(KEY, base_addresses={"api": fake.url})
            client.v1.webhook_endpoints.create({"url": hook_url, "enabled_events": ["*"]})

            first = ingest(fake.url, tmp_path, backfill=True)
            assert first.requests > 0
            assert {t.action for t in first.tallies} == {"backfill"}
            # The dispute is open at the back-fill: it closes 112 days after its charge.
            assert latest(tmp_path, "disputes")[LATE_DISPUTE]["status"] == "under_review"

            ingest(fake.url, tmp_path)  # reads every event Stripe still lists (30 days)
            loader = RawLoader(warehouse_settings(tmp_path))
            for moment in (start_at + 25 * DAY, end):
                fake.move_to(moment)
                assert fake.wait_for_webhooks()["pending"] == 0
                load_inbox(inbox, loader)
                ingest(fake.url, tmp_path)
            ingest(fake.url, tmp_path, sweep=True, reconcile_webhooks=True)

            assert differences(world_dir, tmp_path) == {}
            assert latest(tmp_path, "disputes")[LATE_DISPUTE]["status"] == "won"
            # Every event Stripe listed: the first incremental run reached back 30 days.
            expected = world_events(world_dir, start_at - 30 * DAY, end)
            assert query(tmp_path, "SELECT count(DISTINCT id) FROM raw_stripe.events")[0][0] == (
                expected
            )
            sources = dict(
                query(tmp_path, "SELECT source, count(*) FROM raw_stripe.events GROUP BY 1")
            )
            assert sources.get("webhook", 0) > 0 and sources.get("events", 0) > 0
            receipts = query(tmp_path, "SELECT count(*) FROM raw_stripe.webhook_receipts")[0][0]
            assert receipts == world_events(world_dir, start_at + 1, end)

            # Replays: every load made so far, again; the same reads again (incremental,
            # sweep, reconciliation); every webhook body three times, shuffled: no row changes.
            before = table_fingerprints(tmp_path)
            assert len(committed) > 20
            loader.commit(list(committed))
            ingest(fake.url, tmp_path, sweep=True, reconcile_webhooks=True)
            ingest(fake.url, tmp_path)
            replay = MemoryInbox(dedupe=False)
            assert inbox.counts("stripe") == {"pending": 0, "done": len(set(received))}
            bodies = received * 3
            random.Random(7).shuffle(bodies)
            for number, body in enumerate(bodies):
                replay.append("stripe", f"evt_{number}", body, 1_700_000_000.0)
            assert load_inbox(replay, loader).items == len(bodies)
            assert table_fingerprints(tmp_path) == before
    finally:
        inbox.close()

    with open_audit_log(warehouse_settings(tmp_path)) as log:
        assert log.verify().ok
    actions = {row[0] for row in query(tmp_path, "SELECT action FROM revstack_audit.entries")}
    assert {"backfill", "incremental", "sweep", "webhooks", "reconcile"} <= actions
    requests = query(
        tmp_path, "SELECT sum(requests) FROM revstack_audit.entries WHERE action = 'backfill'"
    )[0][0]
    assert requests > 0
