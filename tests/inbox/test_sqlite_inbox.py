"""The SQLite inbox: durable appends, dedupe, pending/done, group commit, and no acknowledged
event lost when the process is killed mid-append."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from revstack.errors import TerminalError, TransientError
from revstack.inbox import Inbox, InboxItem, SqliteInbox


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "inbox.sqlite3"


def body_for(event_id: str) -> bytes:
    """A body that proves itself whole: the id, padding, and the SHA-256 of both."""
    payload = f'{{"id":"{event_id}","pad":"{"x" * 1500}"}}'.encode()
    return payload + b"\n" + hashlib.sha256(payload).hexdigest().encode()


def test_is_an_inbox_in_wal_mode_with_full_sync(path: Path) -> None:
    with SqliteInbox(path) as inbox:
        assert isinstance(inbox, Inbox)
        assert path.exists()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA page_size").fetchone()[0] == 16384


def test_appends_survive_reopening_with_bodies_exactly_as_given(path: Path) -> None:
    raw = b"\xff\x00not utf-8 \xe9"
    with SqliteInbox(path) as inbox:
        assert inbox.append("stripe", "evt_1", raw, 1_700_000_000.25)
        assert inbox.append("stripe", "evt_2", b"{}", 1_700_000_001.0)
    with SqliteInbox(path) as inbox:
        first, second = inbox.pending("stripe", 10)
        assert first == InboxItem(first.seq, "stripe", "evt_1", 1_700_000_000.25, raw)
        assert (second.event_id, second.body) == ("evt_2", b"{}")
        assert second.seq > first.seq
        assert inbox.append("stripe", "evt_3", b"{}", 0.0)
        assert inbox.pending("stripe", 10)[-1].seq > second.seq


def test_a_repeated_event_is_refused_and_keeps_its_first_body(path: Path) -> None:
    with SqliteInbox(path) as inbox:
        assert inbox.append("stripe", "evt_1", b"first", 1.0) is True
        assert inbox.append("stripe", "evt_1", b"second", 2.0) is False
        assert inbox.append("hubspot", "evt_1", b"other source", 3.0) is True
        [item] = inbox.pending("stripe", 10)
        assert (item.body, item.received_at) == (b"first", 1.0)
        assert inbox.counts("stripe") == {"pending": 1, "done": 0}
        assert inbox.counts("hubspot") == {"pending": 1, "done": 0}


def test_pending_is_oldest_first_per_source_and_mark_done_removes_items(path: Path) -> None:
    with SqliteInbox(path) as inbox:
        for n in range(5):
            inbox.append("stripe", f"evt_{n}", b"{}", float(n))
            inbox.append("hubspot", f"hs_{n}", b"{}", float(n))
        batch = inbox.pending("stripe", 3)
        assert [item.event_id for item in batch] == ["evt_0", "evt_1", "evt_2"]
        inbox.mark_done("stripe", [item.seq for item in batch], "load-1")
        assert [item.event_id for item in inbox.pending("stripe", 10)] == ["evt_3", "evt_4"]
        assert inbox.counts("stripe") == {"pending": 2, "done": 3}
        assert inbox.counts("hubspot") == {"pending": 5, "done": 0}
        inbox.mark_done("stripe", [batch[0].seq], "load-2")  # already done: unchanged
        inbox.mark_done("hubspot", [batch[1].seq], "load-3")  # another source's seq: ignored
        inbox.mark_done("stripe", [], "load-4")
        assert inbox.counts("stripe") == {"pending": 2, "done": 3}
        assert inbox.counts("hubspot") == {"pending": 5, "done": 0}
    db = sqlite3.connect(path)
    assert db.execute(
        "SELECT DISTINCT load_id FROM inbox_items WHERE source = 'stripe' AND load_id IS NOT NULL"
    ).fetchall() == [("load-1",)]
    assert SqliteInbox(path).counts("stripe") == {"pending": 2, "done": 3}


def test_concurrent_async_appends_share_commits_and_dedupe(path: Path) -> None:
    ids = [f"evt_{n}" for n in range(400)] + [f"evt_{n}" for n in range(0, 400, 4)]

    async def main(inbox: SqliteInbox) -> list[bool]:
        return await asyncio.gather(
            *(inbox.append_async("stripe", i, body_for(i), 1.0) for i in ids)
        )

    with SqliteInbox(path) as inbox:
        results = asyncio.run(main(inbox))
        assert sum(results) == 400
        fresh = {i for i, new in zip(ids, results, strict=True) if new}
        assert fresh == set(ids)
        assert inbox.committed_rows == len(ids)
        assert inbox.commits < len(ids) / 4  # grouped, not one commit per event
        stored = inbox.pending("stripe", 1000)
        assert sorted(item.event_id for item in stored) == sorted(set(ids))
        assert all(item.body == body_for(item.event_id) for item in stored)


def test_appends_from_several_event_loops_and_threads(path: Path) -> None:
    with SqliteInbox(path, max_batch=7) as inbox:

        def worker(name: str) -> None:
            async def main() -> list[bool]:
                return await asyncio.gather(
                    *(inbox.append_async("stripe", f"{name}_{n}", b"{}", 1.0) for n in range(50))
                )

            assert all(asyncio.run(main()))
            assert inbox.append("stripe", f"{name}_sync", b"{}", 1.0)

        threads = [threading.Thread(target=worker, args=(f"evt_t{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert inbox.counts("stripe") == {"pending": 4 * 51, "done": 0}


def test_close_finishes_requested_appends_then_refuses_more(path: Path) -> None:
    async def main(inbox: SqliteInbox) -> list[bool]:
        tasks = [
            asyncio.create_task(inbox.append_async("stripe", f"evt_{n}", b"{}", 1.0))
            for n in range(100)
        ]
        await asyncio.sleep(0)  # every task has queued its append
        inbox.close()
        return await asyncio.gather(*tasks)

    inbox = SqliteInbox(path)
    assert all(asyncio.run(main(inbox)))
    with pytest.raises(TerminalError, match="closed"):
        inbox.append("stripe", "evt_late", b"{}", 1.0)
    with pytest.raises(TerminalError, match="closed"):
        asyncio.run(inbox.append_async("stripe", "evt_late", b"{}", 1.0))
    inbox.close()  # twice is fine
    assert SqliteInbox(path).counts("stripe") == {"pending": 100, "done": 0}


def test_the_wal_is_copied_into_the_database_in_the_background_and_stays_bounded(
    path: Path,
) -> None:
    wal = path.with_name(path.name + "-wal")
    inbox = SqliteInbox(path, checkpoint_interval_s=0.005)
    body = body_for("evt_0")

    async def append_steadily(count: int) -> None:  # commits back to back, no quiet moment
        for first in range(0, count, 50):
            await asyncio.gather(
                *(
                    inbox.append_async("stripe", f"evt_{n}", body, 1.0)
                    for n in range(first, first + 50)
                )
            )

    asyncio.run(append_steadily(3000))
    written = 3000 * len(body)
    # it started over from its beginning again and again (never restarted, it ends ~2.3x larger)
    assert wal.stat().st_size < written
    for _ in range(200):
        if path.stat().st_size >= written:  # copied into the database file
            break
        time.sleep(0.01)
    assert path.stat().st_size >= written
    inbox.close()
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_failed_commit_reaches_every_waiter_as_transient(path: Path) -> None:
    inbox = SqliteInbox(path, busy_timeout_s=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the lock past the busy timeout

    async def main() -> list[object]:
        return await asyncio.gather(
            *(inbox.append_async("stripe", f"evt_{n}", b"{}", 1.0) for n in range(5)),
            return_exceptions=True,
        )

    results = asyncio.run(main())
    assert all(isinstance(result, TransientError) for result in results)
    with pytest.raises(TransientError, match="locked"):
        inbox.append("stripe", "evt_sync", b"{}", 1.0)
    blocker.execute("ROLLBACK")
    assert asyncio.run(inbox.append_async("stripe", "evt_0", b"{}", 1.0)) is True
    assert inbox.counts("stripe") == {"pending": 1, "done": 0}
    inbox.close()


CHILD = textwrap.dedent(
    """
    import asyncio, hashlib, sys, time
    from pathlib import Path
    from revstack.inbox import SqliteInbox

    def body_for(event_id):
        payload = f'{{"id":"{event_id}","pad":"{"x" * 1500}"}}'.encode()
        return payload + b"\\n" + hashlib.sha256(payload).hexdigest().encode()

    async def writer(inbox, worker):
        n = 0
        while True:
            event_id = f"evt_{worker}_{n}"
            await inbox.append_async("stripe", event_id, body_for(event_id), time.time())
            sys.stdout.write(event_id + "\\n")  # acknowledged: durable from here on
            sys.stdout.flush()
            n += 1

    async def main():
        inbox = SqliteInbox(Path(sys.argv[1]))
        await asyncio.gather(*(writer(inbox, worker) for worker in range(16)))

    asyncio.run(main())
    """
)


@pytest.mark.integration
def test_sigkill_mid_append_loses_no_acknowledged_event(path: Path) -> None:
    acknowledged = []
    command = [sys.executable, "-c", CHILD, str(path)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        try:
            for line in child.stdout:
                acknowledged.append(line.strip())
                if len(acknowledged) >= 2000:
                    break
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        # what the child wrote before it died was acknowledged too
        acknowledged += [line.strip() for line in child.stdout if line.endswith("\n")]
    assert len(acknowledged) >= 2000
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with SqliteInbox(path) as inbox:
        stored = {item.event_id: item.body for item in inbox.pending("stripe", 1_000_000)}
    assert set(acknowledged) <= set(stored)
    assert all(body == body_for(event_id) for event_id, body in stored.items())
