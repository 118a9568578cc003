"""Group commit: many concurrent asyncio appends, one durable transaction per batch.

Each event loop that appends gets a writer task. An append queues its row and awaits a future;
the writer waits ``linger_s`` for more appends (unless ``max_batch`` are already queued), takes
everything queued (up to ``max_batch``), commits it in one transaction through the store's
``commit`` function, resolves the futures and yields to the loop. So there are at most about
1 / (linger + commit time) commits per second whatever the rate, and each event waits at most
a linger, its batch's commit and the one before.

``commit`` runs on the loop's thread: measured on the development machine, handing it to a
thread cost more (handoffs, the GIL) than the fsync it would hide. The store's write lock is
taken without blocking the loop: while another thread holds it, the writer waits
asynchronously.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence

from revstack.errors import TerminalError

__all__ = ["GroupCommitter", "Row"]

Row = tuple[str, str, bytes, float]
"""(source, event_id, body, received_at)."""
_Request = tuple[Row, "asyncio.Future[bool]"]
_Settle = Callable[[list[_Request], list[bool] | None, BaseException | None], None]


class GroupCommitter:
    """Batches `submit` calls into `commit` calls (each made holding `lock`).

    `commit` stores rows in one durable transaction and returns, for each, whether it was
    new; if it raises, every row of the batch gets that error.
    """

    def __init__(
        self,
        commit: Callable[[Sequence[Row]], list[bool]],
        lock: threading.Lock,
        *,
        max_batch: int,
        linger_s: float = 0.0,
        name: str,
    ) -> None:
        self.commit = commit
        self.lock = lock
        self.max_batch = max_batch
        self.linger_s = linger_s
        self.name = name
        self.closed = False
        self._state_lock = threading.Lock()
        self._writers: dict[asyncio.AbstractEventLoop, _LoopWriter] = {}

    async def submit(self, row: Row) -> bool:
        """Queue `row` for the next commit of this loop's writer; returns once it is durable."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._state_lock:
            if self.closed:
                raise TerminalError(f"{self.name} is closed")
            writer = self._writers.get(loop)
            if writer is None or writer.task.done():
                self._writers = {key: w for key, w in self._writers.items() if not key.is_closed()}
                writer = self._writers[loop] = _LoopWriter(self, loop)
            writer.queue.append((row, future))
            writer.wake.set()
        return await future

    def commit_queued(self, queue: deque[_Request], settle: _Settle) -> bool:
        """Commit up to ``max_batch`` rows from `queue` (the caller holds the lock), then
        `settle` their futures. False when the queue was empty."""
        batch = [queue.popleft() for _ in range(min(len(queue), self.max_batch))]
        if not batch:
            return False
        try:
            fresh = self.commit([row for row, _ in batch])
        except Exception as exc:  # every waiter must hear of it, or it waits forever
            settle(batch, None, exc)
        else:
            settle(batch, fresh, None)
        return True

    def close(self) -> None:
        """Refuse new rows, commit those already queued (their callers get their answers) and
        stop the writers. May be called from any thread, including a loop's own."""
        with self._state_lock:
            if self.closed:
                return
            self.closed = True
            writers = list(self._writers.values())
        for writer in writers:
            with self.lock:
                while self.commit_queued(writer.queue, writer.settle_threadsafe):
                    pass
            writer.call_soon(writer.wake.set)  # it finds nothing to do, and stops


class _LoopWriter:
    """The writer task of one event loop."""

    def __init__(self, group: GroupCommitter, loop: asyncio.AbstractEventLoop) -> None:
        self.group = group
        self.loop = loop
        self.queue: deque[_Request] = deque()
        self.wake = asyncio.Event()
        self.task = loop.create_task(self._run(), name=f"group-commit:{group.name}")

    async def _run(self) -> None:
        group = self.group
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue and not group.closed:
                if group.linger_s and len(self.queue) < group.max_batch:
                    await asyncio.sleep(group.linger_s)  # let more appends join this batch
                if not group.lock.acquire(blocking=False):  # a sync write or a checkpoint:
                    await asyncio.sleep(0.001)  # wait for it without holding up the loop
                    continue
                try:
                    group.commit_queued(self.queue, _settle)
                finally:
                    group.lock.release()
                await asyncio.sleep(0)  # appends that arrived meanwhile join the next batch
            if group.closed:
                return

    def call_soon(self, callback: Callable[..., object], *args: object) -> None:
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting
            self.loop.call_soon_threadsafe(callback, *args)

    def settle_threadsafe(
        self, batch: list[_Request], fresh: list[bool] | None, error: BaseException | None
    ) -> None:
        self.call_soon(_settle, batch, fresh, error)


def _settle(batch: list[_Request], fresh: list[bool] | None, error: BaseException | None) -> None:
    for index, (_, future) in enumerate(batch):
        if future.done():  # the caller gave up (cancelled); the row is stored regardless
            continue
        if error is not None:
            future.set_exception(error)
        elif fresh is not None:
            future.set_result(fresh[index])
