"""The client: the official SDK underneath, our retries on top (Retry-After, 5xx, timeouts,
cut-off bodies), every request counted, and the token bucket's pace."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from revstack.errors import TerminalApiError, TransientApiError
from revstack.sandbox.fakes.threaded import ServedApp
from revstack.sources.stripe.client import StripeApi, bucket_for

from .conftest import stripe_settings

LIST = (
    b'{"object":"list","data":[{"id":"cus_1","object":"customer","created":1}],'
    b'"has_more":false,"url":"/v1/customers"}'
)


class Scripted:
    """An ASGI app answering each request with the next scripted response."""

    def __init__(self, script: list[tuple[int, dict[str, str], bytes, float]]) -> None:
        self.script = list(script)
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        self.paths.append(scope["path"] + "?" + scope["query_string"].decode())
        status, headers, body, delay = self.script.pop(0) if self.script else (200, {}, LIST, 0)
        if delay:
            await asyncio.sleep(delay)
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def scripted() -> Iterator[tuple[Scripted, str]]:
    app = Scripted([])
    with ServedApp(app) as url:
        yield app, url


def api_for(url: str, sleeps: list[float], **kwargs: Any) -> StripeApi:
    return StripeApi(
        stripe_settings(url, rate_limit_per_s=1000, rate_limit_share=1.0),
        sleep=sleeps.append,
        **kwargs,
    )


ERROR = b'{"error":{"type":"api_error","message":"boom"}}'
LIMITED = b'{"error":{"type":"invalid_request_error","code":"rate_limit","message":"slow"}}'


def test_retry_after_is_waited_and_every_attempt_counted(scripted: tuple[Scripted, str]) -> None:
    app, url = scripted
    app.script = [(429, {"Retry-After": "3"}, LIMITED, 0), (503, {}, ERROR, 0)]
    sleeps: list[float] = []
    api = api_for(url, sleeps)
    page = api.list_page("/v1/customers", {"limit": 100}, stream="customers")
    assert [item["id"] for item in page.data] == ["cus_1"]
    assert api.requests("customers") == 3 and api.retries("customers") == 2
    assert sleeps[0] >= 3.0  # Retry-After wins over a shorter jittered backoff
    assert len(sleeps) == 2
    assert "limit=100" in app.paths[0]


def test_client_errors_are_not_retried(scripted: tuple[Scripted, str]) -> None:
    app, url = scripted
    missing = (
        b'{"error":{"type":"invalid_request_error","code":"resource_missing",'
        b'"message":"No such customer"}}'
    )
    app.script = [(404, {}, missing, 0)]
    sleeps: list[float] = []
    api = api_for(url, sleeps)
    with pytest.raises(TerminalApiError) as raised:
        api.get("/v1/customers/cus_x", stream="customers")
    assert raised.value.status == 404 and raised.value.code == "resource_missing"
    assert api.requests() == 1 and sleeps == []


def test_retries_stop_after_the_attempt_budget(scripted: tuple[Scripted, str]) -> None:
    app, url = scripted
    app.script = [(500, {}, ERROR, 0)] * 3
    sleeps: list[float] = []
    api = api_for(url, sleeps, max_attempts=3)
    with pytest.raises(TransientApiError):
        api.get("/v1/customers", stream="customers")
    assert api.requests() == 3 and len(sleeps) == 2


def test_timeouts_and_cut_off_bodies_are_retried(scripted: tuple[Scripted, str]) -> None:
    app, url = scripted
    app.script = [(200, {}, LIST, 1.0), (200, {}, LIST[:40], 0)]
    sleeps: list[float] = []
    api = api_for(url, sleeps, timeout_s=0.3)
    page = api.list_page("/v1/customers", {}, stream="customers")
    assert len(page.data) == 1
    assert api.requests() == 3


def test_the_bucket_paces_requests_at_the_configured_share() -> None:
    settings = stripe_settings("http://unused", rate_limit_per_s=50, rate_limit_share=0.8)
    bucket = bucket_for(settings)
    assert bucket.rate == 40 and bucket.capacity == 10
    started = time.monotonic()
    for _ in range(bucket_count := 30):
        bucket.acquire()
    elapsed = time.monotonic() - started
    # 10 at once (the headroom the share leaves), then 20 more at 40/s.
    assert elapsed == pytest.approx((bucket_count - 10) / 40, abs=0.1)


def test_a_missing_key_is_a_configuration_error() -> None:
    from revstack.config import StripeSettings
    from revstack.errors import ConfigError

    with pytest.raises(ConfigError, match="STRIPE_API_KEY"):
        StripeApi(StripeSettings.model_validate({"api_key": None}))
