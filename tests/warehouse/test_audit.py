"""The audit log: chained entries, verification that names the first bad entry, no secrets."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import duckdb
import pytest

from revstack.warehouse.audit import GENESIS, AuditEvent, seal, sha256_of_rows, verify_chain
from revstack.warehouse.audit_store import SCHEMA, DuckDBAuditLog, head_path_for


def clock() -> dt.datetime:
    return next(_TIMES)


_TIMES = (
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=n) for n in itertools.count()
)


def event(n: int, **overrides: object) -> AuditEvent:
    values: dict[str, object] = {
        "run_id": f"run-{n}",
        "source": "stripe",
        "stream": "charges",
        "action": "incremental",
        "outcome": "success",
        "cursor_before": f"evt_{n}",
        "cursor_after": f"evt_{n + 1}",
        "requests": n,
        "rows": 10 * n,
        "data_sha256": sha256_of_rows([{"n": n}]),
    }
    values.update(overrides)
    return AuditEvent(**values)  # type: ignore[arg-type]


@pytest.fixture
def log(tmp_path: Path) -> DuckDBAuditLog:
    warehouse = tmp_path / "warehouse.duckdb"
    audit = DuckDBAuditLog(duckdb.connect(str(warehouse)), head_path_for(warehouse), now=clock)
    for n in range(1, 6):
        audit.append(event(n))
    return audit


def test_entries_are_numbered_and_chained(log: DuckDBAuditLog) -> None:
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    report = log.verify()
    assert report.ok and report.entries == 5


def test_an_altered_entry_is_named(log: DuckDBAuditLog) -> None:
    log.db.execute(f"UPDATE {SCHEMA}.entries SET rows = 999 WHERE seq = 3")
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 3
    assert "altered" in (report.problem or "")


def test_a_deleted_entry_is_named(log: DuckDBAuditLog) -> None:
    log.db.execute(f"DELETE FROM {SCHEMA}.entries WHERE seq = 2")
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 2
    assert "missing" in (report.problem or "")


def test_reordered_entries_are_named(log: DuckDBAuditLog) -> None:
    log.db.execute(f"UPDATE {SCHEMA}.entries SET seq = -1 WHERE seq = 3")
    log.db.execute(f"UPDATE {SCHEMA}.entries SET seq = 3 WHERE seq = 4")
    log.db.execute(f"UPDATE {SCHEMA}.entries SET seq = 4 WHERE seq = -1")
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 3


def test_entries_removed_at_the_tail_are_caught_by_the_head_file(log: DuckDBAuditLog) -> None:
    entries = list(log.entries())
    log.db.execute(f"DELETE FROM {SCHEMA}.entries WHERE seq = 5")
    log.db.execute(f"UPDATE {SCHEMA}.head SET seq = 4, entry_hash = ?", [entries[3].entry_hash])
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 5
    assert "missing" in (report.problem or "")


def test_a_rewritten_head_in_the_warehouse_is_caught(log: DuckDBAuditLog) -> None:
    log.db.execute(f"UPDATE {SCHEMA}.head SET seq = 9")
    report = log.verify()
    assert not report.ok


def test_appending_continues_the_chain_after_reopening(log: DuckDBAuditLog, tmp_path: Path) -> None:
    log.db.close()
    warehouse = tmp_path / "warehouse.duckdb"
    reopened = DuckDBAuditLog(duckdb.connect(str(warehouse)), head_path_for(warehouse), now=clock)
    entry = reopened.append(event(6))
    assert entry.seq == 6
    assert reopened.verify().ok
    assert json.loads(head_path_for(warehouse).read_text())["seq"] == 6


def test_secrets_never_reach_an_entry(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    audit = DuckDBAuditLog(duckdb.connect(str(warehouse)), head_path_for(warehouse), now=clock)
    audit.append(
        event(
            1,
            outcome="failure",
            error="401 for key sk_test_51HsecretKEY and header Bearer abc.def",
            details={"api_key": "sk_live_xyz", "url": "https://api.stripe.com/v1/charges"},
        )
    )
    dumped = json.dumps([e.body() for e in audit.entries()])
    assert "sk_test_51HsecretKEY" not in dumped and "sk_live_xyz" not in dumped
    assert "abc.def" not in dumped
    assert "https://api.stripe.com/v1/charges" in dumped
    assert audit.verify().ok


def test_verify_chain_on_an_empty_log() -> None:
    assert verify_chain([]).ok
    assert not verify_chain([], head=(1, "f" * 64)).ok


def test_seal_is_a_pure_function_of_its_inputs() -> None:
    moment = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    first, second = seal(event(1), 1, GENESIS, moment), seal(event(1), 1, GENESIS, moment)
    assert first == second
    assert seal(event(2), 1, GENESIS, moment).entry_hash != first.entry_hash
    with pytest.raises(ValueError):
        AuditEvent("r", "stripe", "charges", "incremental", outcome="maybe")
