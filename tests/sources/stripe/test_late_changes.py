"""Changes that arrive late: a dispute closed 112 days after its charge, caught by the safety
sweep alone; and a cursor older than Stripe's event retention, caught by re-reading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .conftest import (
    DAY,
    LATE_DISPUTE,
    differences,
    ingest,
    latest,
    query,
    table_fingerprints,
)


def test_the_sweep_records_a_dispute_closed_long_after_its_charge(
    fake_factory: Any, period: tuple[int, int], tmp_path: Path
) -> None:
    _, end = period
    with fake_factory(end - 45 * DAY) as fake:
        ingest(fake.url, tmp_path, backfill=True)
        dispute = latest(tmp_path, "disputes")[LATE_DISPUTE]
        assert dispute["status"] == "under_review"
        charge_id = dispute["charge"]
        charge = latest(tmp_path, "charges")[charge_id]
        assert dispute["created"] - charge["created"] > 45 * DAY

        fake.move_to(end)  # no incremental run: every event of these 45 days goes unread
        report = ingest(fake.url, tmp_path, sweep=True)
        assert {t.action for t in report.tallies} == {"sweep"}
        closed = latest(tmp_path, "disputes")[LATE_DISPUTE]
        assert closed["status"] == "won"
        assert closed["balance_transactions"][-1]["reporting_category"] == "dispute_reversal"
        sources = query(
            tmp_path,
            "SELECT source FROM raw_stripe.disputes "
            f"WHERE id = '{LATE_DISPUTE}' ORDER BY version_at",
        )
        assert [row[0] for row in sources] == ["backfill", "sweep"]
        # The charge behind every swept dispute is re-read too (its `disputed` flag changes
        # without a charge event).
        (disputes,) = [t for t in report.tallies if t.stream == "disputes"]
        assert disputes.tables["charges"]["offered"] == disputes.tables["disputes"]["offered"] > 0

        before = table_fingerprints(tmp_path)
        ingest(fake.url, tmp_path, sweep=True)
        assert table_fingerprints(tmp_path) == before


def test_a_cursor_older_than_the_retention_is_reported_and_objects_are_reread(
    fake_factory: Any, world_dir: Path, period: tuple[int, int], tmp_path: Path
) -> None:
    _, end = period
    with fake_factory(end - 60 * DAY) as fake:
        ingest(fake.url, tmp_path, backfill=True)
        ingest(fake.url, tmp_path)
        fake.move_to(end)
        report = ingest(fake.url, tmp_path)
        (warning,) = report.warnings
        assert "older than Stripe's event retention" in warning
        assert "WARNING: " in report.render()
        gap = query(
            tmp_path,
            "SELECT outcome, cursor_before, cursor_after, error FROM revstack_audit.entries "
            "WHERE action = 'retention_gap' AND stream = 'events'",
        )
        assert len(gap) == 1 and gap[0][0] == "partial" and int(gap[0][2]) > int(gap[0][1])
        rereads = query(
            tmp_path,
            "SELECT count(*) FROM revstack_audit.entries WHERE action = 'retention_gap' "
            "AND stream <> 'events'",
        )
        assert rereads[0][0] == 10
        assert differences(world_dir, tmp_path) == {}
        assert ingest(fake.url, tmp_path).warnings == []
