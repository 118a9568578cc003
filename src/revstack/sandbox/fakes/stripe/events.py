"""One API write: its moment, the versions it adds and the events it emits.

Every event a write causes carries the request's id and idempotency key (``request``), as
Stripe's do, and is handed to the webhook dispatcher once the write is complete.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from revstack.sandbox.fakes.stripe.http import Call
from revstack.sandbox.fakes.stripe.store import Json, StripeStore
from revstack.sandbox.fakes.stripe.world_index import EventRecord, Record, Version
from revstack.sandbox.world import stripe_render


class EventSink(Protocol):
    def pending_for(self, event_type: str) -> int:
        """How many enabled endpoints will be sent an event of this type."""
        ...

    def publish(self, events: list[EventRecord]) -> None:
        """Queue events caused by API writes for delivery."""
        ...


class Write:
    """The changes of one write request, made at the clock's current moment."""

    def __init__(self, store: StripeStore, sink: EventSink, call: Call, at: int) -> None:
        self.store = store
        self.sink = sink
        self.call = call
        self.at = at
        self.wall = call.wall
        self.events: list[EventRecord] = []
        self._undo: list[Callable[[], None]] = []

    def create(self, obj: Json) -> Record:
        record = self.store.add_object(obj, self.at, self.wall)
        self._undo.append(lambda: self.store.remove_object(record))
        return record

    def update(
        self,
        record: Record,
        obj: Json,
        *,
        patch: tuple[Json, Any] | None = None,
        end_script: bool = False,
        deleted: bool = False,
    ) -> Version:
        script_end = record.script_end
        version = self.store.add_version(
            record, obj, self.at, self.wall, patch=patch, end_script=end_script, deleted=deleted
        )
        self._undo.append(lambda: self.store.remove_version(record, version, script_end))
        return version

    def finalized(self, customer: str) -> None:
        """An invoice of `customer` was finalized (its next invoice number moves on)."""
        self.store.time.add_finalization(customer, self.at)
        self._undo.append(lambda: self.store.time.remove_finalization(customer, self.at))

    def redeemed(self, coupon: str) -> None:
        self.store.time.add_redemption(coupon, self.at)
        self._undo.append(lambda: self.store.time.remove_redemption(coupon, self.at))

    def emit(self, event_type: str, obj: Json, previous: Json | None = None) -> None:
        event = stripe_render.event(
            self.store.new_id("evt"),
            event_type,
            self.at,
            obj,
            previous,
            self.call.request_id,
            self.call.idempotency_key,
        )
        event["pending_webhooks"] = self.sink.pending_for(event_type)
        record = self.store.add_event(event, obj["id"], self.at)
        self.events.append(record)
        self._undo.append(lambda: self.store.remove_event(record))

    def emit_update(self, event_type: str, before: Json, after: Json) -> bool:
        """Emit an ``*.updated`` event with the changed fields; nothing if none changed."""
        previous = stripe_render.previous_attributes(before, after)
        if not previous:
            return False
        self.emit(event_type, after, previous)
        return True

    def rollback(self) -> None:
        """Undo everything this write did (it failed before answering)."""
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self.events.clear()

    def commit(self) -> None:
        self._undo.clear()
        if self.events:
            self.sink.publish(self.events)
