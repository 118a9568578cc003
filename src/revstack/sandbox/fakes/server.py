"""Running the three fakes: one process, one event loop, three HTTP servers.

Salesforce is served over HTTPS with a certificate from a throw-away certificate authority,
because simple-salesforce only builds ``https://`` URLs; clients trust the CA file the
sandbox writes (``salesforce_ca``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import trustme
import uvicorn

from revstack.errors import WorldError
from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.faults import ASGIApp, FaultController, FaultProfile
from revstack.sandbox.fakes.landing import LandingZoneWriter
from revstack.sandbox.world.generate import read_manifest

FAKES = ("stripe", "hubspot", "salesforce")
DEFAULT_LOOKAHEAD = dt.timedelta(days=30)


@dataclass(frozen=True)
class SandboxEndpoints:
    stripe: str
    hubspot: str
    salesforce: str
    salesforce_ca: Path

    def lines(self) -> list[str]:
        return [
            f"stripe={self.stripe}",
            f"hubspot={self.hubspot}",
            f"salesforce={self.salesforce}",
            f"salesforce_ca={self.salesforce_ca}",
        ]


@dataclass
class Sandbox:
    """The fakes of one world, sharing one clock."""

    world_dir: Path
    clock: SandboxClock
    faults: dict[str, FaultController]
    apps: dict[str, ASGIApp] = field(default_factory=dict)
    landing: LandingZoneWriter | None = None
    """Writes product events into a landing directory as the clock moves (optional)."""


def world_period(world_dir: Path) -> tuple[int, int]:
    """(start, end) of a world in Unix seconds."""
    manifest = read_manifest(world_dir)
    start = dt.datetime.fromisoformat(manifest["start"]).replace(tzinfo=dt.UTC)
    end = dt.datetime.fromisoformat(manifest["end"]).replace(tzinfo=dt.UTC)
    return int(start.timestamp()), int(end.timestamp())


def build_sandbox(
    world_dir: Path,
    *,
    at: float | None = None,
    speed: float = 0.0,
    faults: dict[str, FaultProfile] | None = None,
    landing_zone: Path | None = None,
) -> Sandbox:
    """Load a world and build its fakes. The clock starts at `at` (default: 30 days before the
    world's end, so advancing it reveals what happens next). With `landing_zone`, product
    events land there as gzipped NDJSON once received by the clock."""
    start, end = world_period(world_dir)
    if at is None:
        at = max(start, end - DEFAULT_LOOKAHEAD.total_seconds())
    if not start <= at <= end:
        raise WorldError(f"the clock must start within the world's period ({start} to {end})")
    clock = SandboxClock(int(at), end=end, speed=speed)
    profiles = faults or {}
    unknown = set(profiles) - set(FAKES)
    if unknown:
        raise WorldError(f"no such fake(s): {sorted(unknown)}")
    controllers = {name: FaultController(profiles.get(name)) for name in FAKES}
    sandbox = Sandbox(world_dir, clock, controllers)
    if landing_zone is not None:
        sandbox.landing = LandingZoneWriter(world_dir, landing_zone)
    from revstack.sandbox.fakes.hubspot.app import create_app as hubspot_app
    from revstack.sandbox.fakes.salesforce.app import create_app as salesforce_app
    from revstack.sandbox.fakes.stripe.app import create_app as stripe_app

    sandbox.apps = {
        "stripe": stripe_app(world_dir, clock, controllers["stripe"]),
        "hubspot": hubspot_app(world_dir, clock, controllers["hubspot"]),
        "salesforce": salesforce_app(world_dir, clock, controllers["salesforce"]),
    }
    return sandbox


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    certificate: Path
    key: Path


def make_tls(directory: Path) -> TlsFiles:
    """A throw-away CA and a server certificate for 127.0.0.1 and localhost."""
    directory.mkdir(parents=True, exist_ok=True)
    authority = trustme.CA()
    server = authority.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(
        directory / "salesforce-ca.pem",
        directory / "salesforce-cert.pem",
        directory / "salesforce-key.pem",
    )
    authority.cert_pem.write_to_path(str(files.ca))
    server.private_key_pem.write_to_path(str(files.key))
    with files.certificate.open("wb") as handle:
        for blob in server.cert_chain_pems:
            handle.write(blob.bytes())
    return files


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the sandbox (it runs three)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(
    sandbox: Sandbox,
    tls: TlsFiles,
    *,
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
    ready: Callable[[SandboxEndpoints], None] | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = False,
) -> None:
    """Serve the three fakes until `stop` is set (or SIGTERM/SIGINT with `handle_signals`)."""
    ports = ports or {}
    servers: dict[str, _Server] = {}
    for name in FAKES:
        config = uvicorn.Config(
            sandbox.apps[name],
            host=host,
            port=ports.get(name, 0),
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_graceful_shutdown=5,
            ssl_certfile=str(tls.certificate) if name == "salesforce" else None,
            ssl_keyfile=str(tls.key) if name == "salesforce" else None,
        )
        servers[name] = _Server(config)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    tasks = [asyncio.create_task(server.serve()) for server in servers.values()]
    while not all(server.started for server in servers.values()):
        if any(task.done() for task in tasks):
            for task in tasks:
                if task.done() and task.exception():
                    raise WorldError(f"a fake failed to start: {task.exception()}")
            raise WorldError("a fake failed to start")
        await asyncio.sleep(0.02)

    def url(name: str) -> str:
        port = servers[name].servers[0].sockets[0].getsockname()[1]
        scheme = "https" if name == "salesforce" else "http"
        return f"{scheme}://{host}:{port}"

    if ready is not None:
        ready(SandboxEndpoints(url("stripe"), url("hubspot"), url("salesforce"), tls.ca))
    landing = (
        asyncio.create_task(_land_events(sandbox.landing, sandbox.clock, stop))
        if sandbox.landing is not None
        else None
    )
    await stop.wait()
    for server in servers.values():
        server.should_exit = True
    await asyncio.gather(*tasks, *([landing] if landing else []), return_exceptions=True)


async def _land_events(writer: LandingZoneWriter, clock: SandboxClock, stop: asyncio.Event) -> None:
    """Keep the landing zone caught up with the clock (off the event loop: it writes files)."""
    while not stop.is_set():
        await asyncio.to_thread(writer.catch_up, clock.now())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.25)


class RunningSandbox:
    """The fakes served from a background thread, for tests and benchmarks::

    with RunningSandbox(build_sandbox(world_dir), tmp_path) as endpoints:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": endpoints.stripe})
    """

    def __init__(self, sandbox: Sandbox, tls_dir: Path, host: str = "127.0.0.1") -> None:
        self.sandbox = sandbox
        self.tls = make_tls(tls_dir)
        self.host = host
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.endpoints: SandboxEndpoints | None = None

    def __enter__(self) -> SandboxEndpoints:
        self._thread = threading.Thread(target=self._run, name="revstack-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            raise WorldError("the sandbox did not start within 60 s")
        if self._error is not None:
            raise WorldError(f"the sandbox failed to start: {self._error}") from self._error
        assert self.endpoints is not None
        return self.endpoints

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(
                self.sandbox, self.tls, host=self.host, ready=self._on_ready, stop=self._stop
            )

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the thread that waits for start-up
            self._error = exc
            self._ready.set()

    def _on_ready(self, endpoints: SandboxEndpoints) -> None:
        self.endpoints = endpoints
        self._ready.set()

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
