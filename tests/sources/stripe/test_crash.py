"""A back-fill killed with SIGKILL in the middle of a load, then run again, ends exactly like
a back-fill that was never interrupted; the load left pending is finished, not lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from revstack.sandbox.fakes.faults import FaultProfile

from .conftest import DAY, KEY, ingest, query

REVSTACK = Path(sys.executable).with_name("revstack")


def environment(url: str, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVSTACK")}
    env.update(
        {
            "STRIPE_API_KEY": KEY,
            "REVSTACK__SOURCES__STRIPE__API_BASE": url,
            "REVSTACK__SOURCES__STRIPE__ROWS_PER_LOAD": "150",
            "REVSTACK__WAREHOUSE__DUCKDB_PATH": str(root / "warehouse.duckdb"),
            "REVSTACK__WAREHOUSE__STATE_DIR": str(root / "state"),
        }
    )
    return env


def versions(root: Path) -> dict[str, set[tuple[str, str]]]:
    tables = [
        row[0]
        for row in query(
            root,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_stripe' "
            "AND table_name NOT LIKE '_dlt%'",
        )
    ]
    return {
        table: {
            (str(row[0]), str(row[1]))
            for row in query(root, f"SELECT id, {_key(table)} FROM raw_stripe.{table}")
        }
        for table in tables
    }


def _key(table: str) -> str:
    return (
        "rank_in_second"
        if table == "event_ranks"
        else ("inbox_seq" if table == "webhook_receipts" else "version_key")
    )


def test_sigkill_during_a_load_then_rerun_gives_the_same_result(
    fake_factory: Any, period: tuple[int, int], tmp_path: Path
) -> None:
    _, end = period
    crashed, reference = tmp_path / "crashed", tmp_path / "reference"
    slow = FaultProfile(latency_ms=15)  # a page per 15 ms: the back-fill takes a few seconds
    with fake_factory(end - 30 * DAY, slow) as fake:
        env = environment(fake.url, crashed)
        normalized = crashed / "state" / "dlt" / "revstack_stripe" / "load" / "normalized"
        process = subprocess.Popen(
            [str(REVSTACK), "ingest", "stripe", "--backfill"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            seen_loads = 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process.poll() is None:
                pending = list(normalized.iterdir()) if normalized.exists() else []
                if pending:
                    seen_loads += 1
                    if seen_loads >= 3:  # a package normalized, its load under way: kill now
                        process.send_signal(signal.SIGKILL)
                        break
                    while normalized.exists() and list(normalized.iterdir()):
                        time.sleep(0.001)
                time.sleep(0.001)
        finally:
            process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL, "the back-fill ended before it was killed"

        rerun = subprocess.run(
            [str(REVSTACK), "ingest", "stripe", "--backfill"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert "finished 1 load(s) an interrupted run left pending" in rerun.stdout, rerun.stdout
        assert "resumed an unfinished back-fill" in rerun.stdout

        ingest(fake.url, reference, backfill=True)

    assert versions(crashed) == versions(reference)
    entries = query(crashed, "SELECT * FROM revstack_audit.entries")
    assert entries and KEY not in repr(entries) + rerun.stdout + rerun.stderr
    verify = subprocess.run(
        [str(REVSTACK), "audit", "verify"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert verify.returncode == 0 and "intact" in verify.stdout
