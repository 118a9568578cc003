"""Load generator for bench_stripe_webhooks.py: signed Stripe events over keep-alive HTTP/1.1.

A deliberately small client (pre-built request bytes, one asyncio protocol per connection, the
response parsed just enough to read its status and length), so that on a 2-core machine most
of the CPU is left to the server being measured. Events are signed independently of revstack's
signature module (plain `hmac`), so the benchmark also cross-checks it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

Job = tuple[str, bytes, float]
"""(event id, request bytes, scheduled send time on the perf_counter clock)."""


class EventFactory:
    """Distinct ``charge.succeeded`` events (the fixture charge), signed as they are made."""

    def __init__(self, secret: str, prefix: str = "evt_bench") -> None:
        fixtures = resources.files("revstack.sandbox.data").joinpath("stripe_fixtures.json")
        charge = json.loads(fixtures.read_text())["resources"]["charge"]
        event = {
            "id": "@ID@",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": 1_790_000_000,
            "data": {"object": charge},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": "charge.succeeded",
        }
        self._head, self._tail = json.dumps(event).encode().split(b"@ID@")
        self._key = secret.encode()
        self._prefix = f"{prefix}_{secrets.token_hex(4)}_"
        self._numbers = itertools.count()
        self.size = len(self.body("evt_" + "x" * 30))

    def body(self, event_id: str) -> bytes:
        return self._head + event_id.encode() + self._tail

    def job(self, scheduled: float) -> Job:
        event_id = f"{self._prefix}{next(self._numbers):09d}"
        body = self.body(event_id)
        timestamp = int(time.time())
        digest = hmac.digest(self._key, b"%d.%s" % (timestamp, body), hashlib.sha256).hex()
        request = (
            b"POST /webhooks/stripe HTTP/1.1\r\nhost: 127.0.0.1\r\n"
            b"content-type: application/json; charset=utf-8\r\n"
            b"user-agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n"
            b"stripe-signature: t=%d,v1=%s\r\ncontent-length: %d\r\n\r\n%s"
            % (timestamp, digest.encode(), len(body), body)
        )
        return event_id, request, scheduled


@dataclass
class LoadResult:
    acked: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    elapsed: float = 0.0

    @property
    def events_per_s(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentiles_ms(self) -> dict[int, float]:
        ordered = sorted(self.latencies) or [float("nan")]
        last = len(ordered) - 1
        return {p: ordered[min(last, int(p / 100 * len(ordered)))] * 1000 for p in (50, 99, 100)}


class _Connection(asyncio.Protocol):
    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.buffer = bytearray()
        self.job: Job | None = None
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses

    def send(self, job: Job) -> None:
        assert self.transport is not None
        self.job = job
        self.transport.write(job[1])

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at) if b"\r\n" in head[at:] else None])
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        job, self.job = self.job, None
        assert job is not None
        ok = head[9:12] == b"200" and b'"received":true' in body
        self.pool.finished(self, job, ok)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.job is not None:
            self.pool.finished(self, self.job, False, alive=False)
        elif self in self.pool.idle:  # closed by the server while idle (keep-alive timeout)
            self.pool.idle.remove(self)


class _Pool:
    def __init__(self, next_job: Callable[[float], Job] | None) -> None:
        self.next_job = next_job
        """Closed loop: the job a connection sends as soon as it is free (None: open loop)."""
        self.stop_at = float("inf")
        self.idle: deque[_Connection] = deque()
        """Free connections, used in turn so that none idles into the keep-alive timeout."""
        self.backlog: deque[Job] = deque()
        self.in_flight = 0
        self.result = LoadResult()
        self.drained = asyncio.Event()

    async def open(self, port: int, count: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(count):
            _, protocol = await loop.create_connection(lambda: _Connection(self), "127.0.0.1", port)
            self.idle.append(protocol)

    def submit(self, job: Job) -> None:
        self.in_flight += 1
        self.drained.clear()
        if self.idle:
            self.idle.popleft().send(job)
        else:
            self.backlog.append(job)

    def finished(self, connection: _Connection, job: Job, ok: bool, alive: bool = True) -> None:
        now = time.perf_counter()
        self.in_flight -= 1
        if ok:
            self.result.acked.add(job[0])
            self.result.latencies.append(now - job[2])
        else:
            self.result.failed += 1
        if not alive:
            pass
        elif self.backlog:
            connection.send(self.backlog.popleft())
        elif self.next_job is not None and now < self.stop_at:
            self.in_flight += 1
            connection.send(self.next_job(now))
        else:
            self.idle.append(connection)
        if self.in_flight == 0:
            self.drained.set()


async def _closed(port: int, factory: EventFactory, connections: int, seconds: float) -> Any:
    pool = _Pool(factory.job)
    await pool.open(port, connections)
    started = time.perf_counter()
    pool.stop_at = started + seconds
    for _ in range(connections):
        pool.submit(factory.job(started))
    await asyncio.wait_for(pool.drained.wait(), seconds + 30)
    pool.result.elapsed = time.perf_counter() - started
    return pool.result


async def _open(
    port: int, factory: EventFactory, connections: int, rate: float, seconds: float
) -> Any:
    pool = _Pool(None)
    await pool.open(port, connections)
    total = int(rate * seconds)
    started = time.perf_counter() + 0.01
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - started) * rate) + 1)
        while sent < due:
            pool.submit(factory.job(started + sent / rate))
            sent += 1
        # Sleep until the next event is due, but at least 1 ms: event-loop timers have
        # millisecond resolution, and shorter sleeps would spin and steal the server's CPU.
        await asyncio.sleep(max(0.001, started + sent / rate - time.perf_counter()))
    try:
        await asyncio.wait_for(pool.drained.wait(), 30)
    except TimeoutError:
        pool.result.failed += pool.in_flight
    pool.result.elapsed = time.perf_counter() - started
    return pool.result


def _run(coroutine: Any) -> LoadResult:
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        result: LoadResult = runner.run(coroutine)
    return result


def run_closed_loop(
    port: int, factory: EventFactory, connections: int, seconds: float
) -> LoadResult:
    """Each connection sends the next event as soon as the previous one is answered."""
    return _run(_closed(port, factory, connections, seconds))


def run_open_loop(
    port: int, factory: EventFactory, connections: int, rate: float, seconds: float
) -> LoadResult:
    """Events offered at `rate` per second for `seconds`, whatever the answers' pace."""
    return _run(_open(port, factory, connections, rate, seconds))


# --- where the CPU goes -------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have spent busy so far (Linux /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    """One measured run: the load result and where the CPU went meanwhile (in cores)."""

    result: LoadResult
    server_cores: float
    client_cores: float
    other_cores: float

    @property
    def server_us_per_event(self) -> float:
        events = len(self.result.latencies)
        return self.server_cores * self.result.elapsed / events * 1e6 if events else 0.0


def measure(pid: int, run: Callable[[], LoadResult]) -> Phase:
    server, client, busy = cpu_seconds(pid), time.process_time(), machine_busy_seconds()
    started = time.perf_counter()
    result = run()
    wall = time.perf_counter() - started
    server = (cpu_seconds(pid) - server) / wall
    client = (time.process_time() - client) / wall
    others = max(0.0, (machine_busy_seconds() - busy) / wall - server - client)
    return Phase(result, server, client, others)
