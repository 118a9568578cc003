"""The default inbox: one SQLite file (``<state_dir>/inbox.sqlite3``) in WAL mode.

Durability: every commit is fsynced before an append returns (``synchronous=FULL``). In WAL
mode ``NORMAL`` would survive a killed process (the WAL is in the OS page cache) but not a power
cut or kernel crash, which can roll back commits we already acknowledged; the sender never
redelivers an acknowledged event, so only the next sweep of the events API could find it. FULL
costs one fsync of the WAL per commit, which group commit shares between the events waiting.

Group commit (`revstack.inbox.group_commit`): concurrent `append_async` calls share one
transaction, so the fsyncs per second stay bounded whatever the request rate. SQLite
transactions are atomic, so a crash at any moment leaves each event wholly stored or absent
(and then not acknowledged). WAL checkpoints run in a background thread, off the event loop.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from revstack.errors import ConfigError, TerminalError, TransientError
from revstack.inbox.base import InboxItem
from revstack.inbox.group_commit import GroupCommitter, Row

__all__ = ["SqliteInbox"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox_items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: never reused, even after pruning
    source TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at REAL NOT NULL,
    body BLOB NOT NULL,
    load_id TEXT,
    done_at REAL,
    UNIQUE (source, event_id)
);
CREATE INDEX IF NOT EXISTS inbox_items_pending ON inbox_items (source, seq)
    WHERE load_id IS NULL;
"""
_PAGE_SIZE = 16384
_INSERT = (
    "INSERT INTO inbox_items (source, event_id, body, received_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (source, event_id) DO NOTHING"
)


class SqliteInbox:
    """An `Inbox` in the SQLite file at `path` (created with its directory if missing).

    ``max_batch`` caps the events of one group commit (and so how long one commit holds the
    event loop); ``linger_s`` is how long a commit waits for more events to join it (2 ms
    halves the commits, and a third of the CPU per event, at 5,000 events/s);
    ``checkpoint_interval_s`` is how often the WAL is copied into the database.
    Safe to share between threads and event loops; write transactions are serialised on one
    connection.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_batch: int = 256,
        linger_s: float = 0.002,
        checkpoint_interval_s: float = 1.0,
        busy_timeout_s: float = 10.0,
    ) -> None:
        if max_batch < 1 or checkpoint_interval_s <= 0:
            raise ValueError("max_batch must be at least 1 and checkpoint_interval_s positive")
        self.path = Path(path)
        self.max_batch = max_batch
        self.commits = 0
        """Transactions committed by appends (single or grouped) since opening."""
        self.committed_rows = 0
        """Appends those transactions held (duplicates included)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._write = self._connect(busy_timeout_s)
        # Only takes effect when the file is created: 16 KiB pages hold a typical event (2-8
        # KB) without overflow pages, which makes each insert about a quarter cheaper.
        self._write.execute(f"PRAGMA page_size={_PAGE_SIZE}")
        mode = self._write.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            self._write.close()
            raise ConfigError(
                f"the inbox {self.path} cannot use SQLite's WAL mode (got {mode!r}); put "
                "warehouse.state_dir on a local file system"
            )
        self._write.executescript(_SCHEMA)
        # Commits never copy the WAL into the database themselves (that took 10-30 ms every
        # few thousand events, on the event loop): `_checkpoint_every` does, in a thread.
        self._write.execute("PRAGMA wal_autocheckpoint=0")
        self._read = self._connect(busy_timeout_s)
        self._write_lock = threading.Lock()
        """Held for a whole write transaction, never across an ``await``."""
        self._read_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()
        self._group = GroupCommitter(
            self._insert,
            self._write_lock,
            max_batch=max_batch,
            linger_s=linger_s,
            name=f"the inbox {self.path}",
        )
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_every,
            args=(checkpoint_interval_s, self._connect(busy_timeout_s)),
            name=f"inbox-checkpoint:{self.path.name}",
            daemon=True,
        )
        self._checkpointer.start()

    def _connect(self, busy_timeout_s: float) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
        )
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    # --- appending ---------------------------------------------------------------------------

    def append(self, source: str, event_id: str, body: bytes, received_at: float) -> bool:
        self._check_open()
        with self._write_lock:
            return self._insert([(source, event_id, body, received_at)])[0]

    async def append_async(
        self, source: str, event_id: str, body: bytes, received_at: float
    ) -> bool:
        return await self._group.submit((source, event_id, body, received_at))

    def _insert(self, rows: Sequence[Row]) -> list[bool]:
        """Insert `rows` in one durable transaction (the caller holds the write lock); True
        for each row that was new."""
        with self._transaction(f"store {len(rows)} event(s)") as db:
            fresh = [db.execute(_INSERT, row).rowcount == 1 for row in rows]
        self.commits += 1
        self.committed_rows += len(rows)
        return fresh

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed (and fsynced) on leaving, else rolled back."""
        db = self._write
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise TransientError(f"could not {what} in the inbox {self.path}: {exc}") from exc

    def _checkpoint_every(self, interval_s: float, db: sqlite3.Connection) -> None:
        """Copy committed WAL frames into the database file. The bulk is copied while writers
        go on; the few frames they added meanwhile are copied under the write lock, so that
        the WAL is complete in the file and the next commit starts it over (otherwise, under
        steady writes, it would never be wholly copied and would grow without bound)."""
        try:
            while not self._stop.wait(interval_s):
                with contextlib.suppress(sqlite3.Error):  # busy: try again next time
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    with self._write_lock:
                        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            db.close()

    # --- consuming ---------------------------------------------------------------------------

    def pending(self, source: str, limit: int) -> list[InboxItem]:
        with self._read_lock:
            self._check_open()
            rows = self._read.execute(
                "SELECT seq, source, event_id, received_at, body FROM inbox_items "
                "WHERE source = ? AND load_id IS NULL ORDER BY seq LIMIT ?",
                (source, limit),
            ).fetchall()
        return [
            InboxItem(seq, src, event_id, at, bytes(body)) for seq, src, event_id, at, body in rows
        ]

    def mark_done(self, source: str, seqs: Sequence[int], load_id: str) -> None:
        self._check_open()
        if not seqs:
            return
        done_at = time.time()
        with self._write_lock, self._transaction(f"mark {len(seqs)} event(s) done") as db:
            db.executemany(
                "UPDATE inbox_items SET load_id = ?, done_at = ? "
                "WHERE source = ? AND seq = ? AND load_id IS NULL",
                [(load_id, done_at, source, seq) for seq in seqs],
            )

    def counts(self, source: str) -> dict[str, int]:
        with self._read_lock:
            self._check_open()
            rows = self._read.execute(
                "SELECT load_id IS NULL, count(*) FROM inbox_items WHERE source = ? GROUP BY 1",
                (source,),
            ).fetchall()
        found = {bool(is_pending): int(n) for is_pending, n in rows}
        return {"pending": found.get(True, 0), "done": found.get(False, 0)}

    # --- closing -----------------------------------------------------------------------------

    def close(self) -> None:
        """Commit the appends already queued (their callers get their answers), then close.
        May be called from any thread, including an event loop's."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._group.close()
        self._stop.set()
        self._checkpointer.join()
        with self._write_lock, self._read_lock:  # the last connection to close removes the WAL
            self._write.close()
            self._read.close()

    def _check_open(self) -> None:
        if self._closed:
            raise TerminalError(f"the inbox {self.path} is closed")

    def __enter__(self) -> SqliteInbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
