"""The Stripe webhook receiver over real HTTP: signed events into the inbox once each; bad
signatures, stale timestamps, malformed and oversized bodies refused, audited, never stored."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from revstack.errors import ConfigError, TransientError
from revstack.inbox import SqliteInbox
from revstack.sandbox.fakes.threaded import ServedApp
from revstack.sources.stripe.signature import signature_header
from revstack.sources.stripe.webhooks import create_webhook_app
from revstack.warehouse.audit import AuditEvent
from revstack.warehouse.audit_store import DuckDBAuditLog

SECRET = "whsec_receiver_current"
OLD = "whsec_receiver_previous"
PATH = "/webhooks/stripe"


def event(event_id: str = "evt_1", **overrides: Any) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": "charge.succeeded",
        "created": 1_760_000_000,
        "data": {"object": {"id": "ch_1", "object": "charge", "amount": 1200}},
    }
    body.update(overrides)
    return orjson.dumps(body)


def signed(
    body: bytes, secrets: list[str] | None = None, at: float | None = None
) -> dict[str, str]:
    timestamp = int(time.time() if at is None else at)
    return {
        "Stripe-Signature": signature_header(body, secrets or [SECRET], timestamp),
        "Content-Type": "application/json; charset=utf-8",
    }


class Receiver:
    def __init__(self, inbox: Any, url: str, audit: list[AuditEvent]) -> None:
        self.inbox = inbox
        self.http = httpx.Client(base_url=url)
        self.audit = audit

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(
            PATH, content=body, headers=signed(body) if headers is None else headers
        )


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    stack: list[tuple[ServedApp, Receiver]] = []

    def start(inbox: Any = None, **options: Any) -> Receiver:
        inbox = inbox or SqliteInbox(tmp_path / f"inbox{len(stack)}.sqlite3")
        audit: list[AuditEvent] = options.pop("audit_log", [])
        options.setdefault("audit", audit.append)
        secrets = options.pop("secrets", [SECRET])
        served = ServedApp(create_webhook_app(inbox, secrets, **options))
        receiver = Receiver(inbox, served.__enter__(), audit)
        stack.append((served, receiver))
        return receiver

    yield start
    for served, receiver in stack:
        receiver.http.close()
        served.__exit__(None, None, None)
        receiver.inbox.close()


def test_a_signed_event_is_stored_once_and_acknowledged(serve: Any) -> None:
    receiver = serve(clock=lambda: 1_800_000_000.5, tolerance_s=0)
    body = event()
    response = receiver.post(body)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    again = receiver.post(body)
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    [item] = receiver.inbox.pending("stripe", 10)
    assert (item.event_id, item.body, item.received_at) == ("evt_1", body, 1_800_000_000.5)
    assert receiver.audit == []
    health = receiver.http.get(f"{PATH}/health")
    assert health.json() == {"status": "ok", "source": "stripe", "inbox": {"pending": 1, "done": 0}}


@pytest.mark.parametrize(
    ("headers", "reason", "message"),
    [
        pytest.param(lambda b: signed(b, at=time.time() - 301), "stale", "tolerance", id="stale"),
        pytest.param(lambda b: signed(b, ["whsec_wrong"]), "mismatch", "no v1", id="wrong secret"),
        pytest.param(lambda b: {}, "missing_header", "no Stripe-Signature", id="no header"),
        pytest.param(
            lambda b: {"Stripe-Signature": "v1=abc"}, "malformed", "malformed", id="malformed"
        ),
        pytest.param(
            lambda b: signed(b + b" "), "mismatch", "no v1", id="body changed after signing"
        ),
    ],
)
def test_bad_signatures_are_refused_audited_and_not_stored(
    serve: Any, headers: Any, reason: str, message: str
) -> None:
    receiver = serve()
    body = event()
    sent_headers = headers(body)
    response = receiver.post(body, sent_headers)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert receiver.inbox.counts("stripe") == {"pending": 0, "done": 0}
    [entry] = receiver.audit
    assert (entry.source, entry.outcome, entry.details["reason"]) == ("stripe", "rejected", reason)
    assert entry.details["body_bytes"] == len(body)
    written = json.dumps([entry.error, dict(entry.details)])
    assert SECRET not in written
    signature = sent_headers.get("Stripe-Signature", "")
    assert all(part not in written for part in signature.split(",") if "v1=" in part)


def test_rotation_two_v1_values_and_two_secrets(serve: Any) -> None:
    both = event("evt_both")
    only_new = serve(secrets=[SECRET])
    only_old = serve(secrets=[OLD])
    assert only_new.post(both, signed(both, [OLD, SECRET])).status_code == 200
    assert only_old.post(both, signed(both, [OLD, SECRET])).status_code == 200
    accepting_both = serve(secrets=[SECRET, OLD])
    for n, secret in enumerate((SECRET, OLD)):
        body = event(f"evt_{n}")
        assert accepting_both.post(body, signed(body, [secret])).status_code == 200
    assert accepting_both.inbox.counts("stripe")["pending"] == 2


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        pytest.param(b'{"id": "evt_1", ', "malformed_json", "not valid JSON", id="truncated"),
        pytest.param(b"", "malformed_json", "not valid JSON", id="empty"),
        pytest.param(b"[1, 2]", "not_an_event", "not a JSON object", id="array"),
        pytest.param(event("ch_1"), "not_an_event", "evt_", id="id not evt_"),
        pytest.param(event(type=None), "not_an_event", "type", id="no type"),
        pytest.param(event(created="yesterday"), "not_an_event", "created", id="created text"),
        pytest.param(event(data={"object": None}), "not_an_event", "data.object", id="no object"),
    ],
)
def test_signed_bodies_that_are_not_events_are_refused(
    serve: Any, body: bytes, reason: str, message: str
) -> None:
    receiver = serve()
    response = receiver.post(body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert receiver.audit[0].details["reason"] == reason
    assert receiver.inbox.counts("stripe") == {"pending": 0, "done": 0}


def test_oversized_bodies_get_413_whether_announced_or_streamed(serve: Any) -> None:
    receiver = serve(max_body_bytes=2_000)
    big = event(pad="x" * 5_000)
    announced = receiver.post(big)
    assert announced.status_code == 413
    assert "larger than the 2000 bytes allowed" in announced.json()["error"]
    streamed = receiver.http.post(
        PATH, content=iter([big[:1500], big[1500:]]), headers=signed(big)
    )  # chunked: no Content-Length, so the limit is found while reading
    assert streamed.status_code == 413
    assert [entry.details["reason"] for entry in receiver.audit] == ["too_large", "too_large"]
    assert receiver.audit[0].details["body_bytes"] is None  # refused unread
    assert receiver.post(event()).status_code == 200  # the connection and receiver still work
    assert receiver.inbox.counts("stripe")["pending"] == 1


def test_methods_and_paths(serve: Any) -> None:
    receiver = serve()
    assert receiver.http.get(PATH).status_code == 405
    assert receiver.http.get(PATH).headers["allow"] == "POST"
    assert receiver.http.post(f"{PATH}/health").status_code == 405
    missing = receiver.http.post("/webhooks/other", content=b"{}")
    assert missing.status_code == 404 and "no such path" in missing.json()["error"]
    assert receiver.audit == []


class BrokenInbox:
    async def append_async(self, *args: object) -> bool:
        raise TransientError("disk full")

    def counts(self, source: str) -> dict[str, int]:
        raise TransientError("disk full")

    def close(self) -> None:
        pass


def test_an_inbox_failure_is_a_503_so_stripe_retries(serve: Any) -> None:
    receiver = serve(BrokenInbox())
    response = receiver.post(event())
    assert response.status_code == 503 and "retry" in response.json()["error"]
    assert receiver.http.get(f"{PATH}/health").status_code == 503


def test_a_failing_audit_does_not_change_the_answer(serve: Any) -> None:
    def audit(entry: AuditEvent) -> None:
        raise RuntimeError("audit store down")

    receiver = serve(audit=audit)
    assert receiver.post(event(), signed(event(), ["whsec_wrong"])).status_code == 400


def test_rejections_land_in_the_hash_chained_audit_log(serve: Any, tmp_path: Path) -> None:
    log = DuckDBAuditLog(duckdb.connect(str(tmp_path / "wh.duckdb")), tmp_path / "head.json")
    receiver = serve(audit=log.append)
    for n in range(3):
        body = event(f"evt_{n}")
        assert receiver.post(body, signed(body, at=time.time() - 3600)).status_code == 400
    entries = list(log.entries())
    assert [entry.details["reason"] for entry in entries] == ["stale"] * 3
    assert log.verify().ok


def test_paths_are_relative_to_the_mount_point(tmp_path: Path) -> None:
    inbox = SqliteInbox(tmp_path / "inbox.sqlite3")
    app = Starlette(routes=[Mount("/hooks", app=create_webhook_app(inbox, [SECRET]))])
    with ServedApp(app) as url, httpx.Client(base_url=url) as http:
        body = event()
        assert http.post(f"/hooks{PATH}", content=body, headers=signed(body)).status_code == 200
        assert http.get(f"/hooks{PATH}/health").json()["inbox"]["pending"] == 1
    inbox.close()


def test_no_secret_is_a_configuration_error(tmp_path: Path) -> None:
    with SqliteInbox(tmp_path / "inbox.sqlite3") as inbox:
        with pytest.raises(ConfigError, match="webhook_secret"):
            create_webhook_app(inbox, [])
        with pytest.raises(ConfigError):
            create_webhook_app(inbox, [""])
