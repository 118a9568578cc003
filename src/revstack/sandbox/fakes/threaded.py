"""One ASGI app served over HTTP from a background thread, on a free port: for tests and
benchmarks that need the real HTTP path (the official SDKs) without the whole sandbox::

    with ServedApp(app) as url:
        client = stripe.StripeClient("sk_test_x", base_addresses={"api": url})
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import uvicorn

from revstack.errors import WorldError
from revstack.sandbox.fakes.faults import ASGIApp


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServedApp:
    """Serve `app` on ``http://host:<free port>`` until the context exits."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", *, log_level: str = "warning"):
        self.config = uvicorn.Config(
            app, host=host, port=0, log_level=log_level, lifespan="on", access_log=False
        )
        self.server = _Server(self.config)
        self.host = host
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.url = ""

    def __enter__(self) -> str:
        self._thread = threading.Thread(target=self._run, name="revstack-fake", daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise WorldError(f"the fake failed to start: {self._error}") from self._error
            self._thread.join(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{port}"
        return self.url

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # reported to the thread waiting for start-up
            self._error = exc

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
