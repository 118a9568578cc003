"""The Stripe webhook receiver: ``POST /webhooks/stripe`` into the durable inbox.

A delivery is answered 200 only once its raw body is durable in the inbox; everything else
(loading into raw, deduplication downstream) happens later, off the request path, and the
warehouse is never touched here. In order, a delivery is refused with:

- 413 when the body is larger than ``max_body_bytes`` (told by ``Content-Length`` or found while
  reading; the rest is never read);
- 400 when the ``Stripe-Signature`` does not verify against any configured secret or is older
  than the tolerance (`revstack.sources.stripe.signature`);
- 400 when the verified body is not JSON or not an event (``id`` ``evt_…``, ``type``,
  ``created``, ``data.object``);
- 503 when the inbox cannot store it (Stripe retries).

Each refusal is logged and, when an ``audit`` callable is given, recorded as one audit entry
with outcome ``rejected`` and the reason; entries never hold the secret or the signature. A
redelivered event (same id) is acknowledged again with ``"duplicate": true`` and not stored
twice. ``GET /webhooks/stripe/health`` reports the inbox's counts.

The app is plain ASGI (no framework on the hot path). Paths are relative to where it is
mounted (``root_path``); mounted at the root they are the two above.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from revstack.errors import ConfigError, SignatureError, TransientError
from revstack.inbox.base import Inbox
from revstack.log import get_logger
from revstack.sources.stripe.signature import DEFAULT_TOLERANCE_S, verify_signature
from revstack.warehouse.audit import AuditEvent

__all__ = ["HEALTH_PATH", "SOURCE", "WEBHOOK_PATH", "create_webhook_app"]

SOURCE = "stripe"
WEBHOOK_PATH = "/webhooks/stripe"
HEALTH_PATH = "/webhooks/stripe/health"

log = get_logger("revstack.sources.stripe.webhooks")

_JSON = (b"content-type", b"application/json")
_RECEIVED = {
    True: orjson.dumps({"received": True, "duplicate": False}),
    False: orjson.dumps({"received": True, "duplicate": True}),
}


class _Rejected(Exception):
    """A delivery refused before it reached the inbox (internal control flow)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def create_webhook_app(
    inbox: Inbox,
    secrets: Sequence[str],
    *,
    audit: Callable[[AuditEvent], None] | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    max_body_bytes: int = 1_000_000,
    clock: Callable[[], float] = time.time,
) -> ASGIApp:
    """The receiver as an ASGI app storing into `inbox`; any of `secrets` may have signed.

    `audit` is called (in a thread of its own, one call at a time) for each refused delivery;
    `clock` gives wall-clock Unix seconds for the signature age and ``received_at``.
    """
    secrets = tuple(secrets)
    if not secrets or not all(secrets):
        raise ConfigError(
            "no Stripe webhook secret is configured: set sources.stripe.webhook_secret to the "
            "endpoint's signing secret (whsec_...)"
        )
    if max_body_bytes < 1:
        raise ConfigError("the webhook body limit must be at least 1 byte")
    return _StripeWebhookApp(inbox, secrets, audit, tolerance_s, max_body_bytes, clock)


class _StripeWebhookApp:
    def __init__(
        self,
        inbox: Inbox,
        secrets: tuple[str, ...],
        audit: Callable[[AuditEvent], None] | None,
        tolerance_s: int,
        max_body_bytes: int,
        clock: Callable[[], float],
    ) -> None:
        self.inbox = inbox
        self.secrets = secrets
        self.audit = audit
        self.tolerance_s = tolerance_s
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self.run_id = f"stripe-webhooks-{uuid.uuid4().hex[:12]}"
        self._audit_thread = ThreadPoolExecutor(1, thread_name_prefix="stripe-webhook-audit")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1003})
            return
        path, method = _route_path(scope), scope["method"]
        if path == WEBHOOK_PATH:
            if method == "POST":
                await self._webhook(scope, receive, send)
            else:
                await _respond(send, 405, _error("use POST"), [(b"allow", b"POST")])
        elif path == HEALTH_PATH:
            if method in ("GET", "HEAD"):
                await self._health(send)
            else:
                await _respond(send, 405, _error("use GET"), [(b"allow", b"GET, HEAD")])
        else:
            await _respond(send, 404, _error(f"no such path: {path}"))

    async def _webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        signature: str | None = None
        length: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"stripe-signature" and signature is None:
                signature = value.decode("latin-1")
            elif name == b"content-length":
                length = value
        body: bytes | None = None  # until read whole
        try:
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                raise _Rejected(413, "too_large", self._too_large())
            received = await self._read_body(receive)
            if received is None:
                return  # the client went away: nothing to answer, nothing stored
            body = received
            try:
                verify_signature(
                    body, signature, self.secrets, tolerance_s=self.tolerance_s, now=self.clock()
                )
            except SignatureError as exc:
                raise _Rejected(400, exc.reason or "invalid_signature", str(exc)) from exc
            event_id = _event_id(body)
        except _Rejected as rejected:
            await self._reject(send, rejected, scope, body)
            return
        try:
            fresh = await self.inbox.append_async(SOURCE, event_id, body, self.clock())
        except TransientError as exc:
            log.error("stripe webhook not stored", event_id=event_id, error=str(exc))
            await _respond(send, 503, _error("the event could not be stored; retry later"))
            return
        await _respond(send, 200, _RECEIVED[fresh])

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _Rejected(413, "too_large", self._too_large())
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _too_large(self) -> str:
        return f"the request body is larger than the {self.max_body_bytes} bytes allowed"

    async def _reject(
        self, send: Send, rejected: _Rejected, scope: Scope, body: bytes | None
    ) -> None:
        client = scope.get("client")
        details: dict[str, Any] = {
            "reason": rejected.reason,
            "status": rejected.status,
            "client": client[0] if client else None,
            "body_bytes": None if body is None else len(body),
            "body_sha256": None if body is None else hashlib.sha256(body).hexdigest(),
        }
        log.warning("stripe webhook rejected", error=rejected.message, **details)
        if self.audit is not None:
            event = AuditEvent(
                run_id=self.run_id,
                source=SOURCE,
                stream="webhooks",
                action="receive_webhook",
                outcome="rejected",
                requests=1,
                error=rejected.message,
                details=details,
            )
            loop = asyncio.get_running_loop()
            try:
                await loop.run_in_executor(self._audit_thread, self.audit, event)
            except Exception as exc:  # the refusal stands; the log line above still has it
                log.error("audit entry for a rejected stripe webhook failed", error=str(exc))
        await _respond(send, rejected.status, _error(rejected.message))

    async def _health(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        try:
            counts = await loop.run_in_executor(None, self.inbox.counts, SOURCE)
        except Exception as exc:
            await _respond(send, 503, orjson.dumps({"status": "error", "error": str(exc)}))
            return
        await _respond(send, 200, orjson.dumps({"status": "ok", "source": SOURCE, "inbox": counts}))


def _event_id(body: bytes) -> str:
    """The id of the Stripe event in `body`, or `_Rejected` saying what is wrong with it."""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _Rejected(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    problem = _event_problem(event)
    if problem:
        raise _Rejected(400, "not_an_event", f"the body is not a Stripe event: {problem}")
    return str(event["id"])


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "it is not a JSON object"
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 255:
        return "id must be a string starting with evt_"
    if not isinstance(event.get("type"), str) or not event["type"]:
        return "type must be a non-empty string"
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        return "created must be an integer (Unix seconds)"
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return "data.object must be an object"
    return None


def _error(message: str) -> bytes:
    return orjson.dumps({"error": message})


async def _respond(
    send: Send, status: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [_JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
