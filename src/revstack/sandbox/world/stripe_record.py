"""Writes what the billing simulation does as Stripe would show it: events and objects.

Each emitted event carries the object as it was at that moment (`data.object`) and, on
``*.updated`` events, the changed fields' previous values. State changes Stripe does not
announce with an event (a charge becoming disputed) are kept as silent versions, so a fake
API can serve any object as of any moment. Final object states go to one table per type.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pyarrow as pa

from revstack.sandbox.world import stripe_render
from revstack.sandbox.world.ids import stripe_id
from revstack.sandbox.world.tables import Sink, Table

Json = dict[str, Any]

_VERSION_COLUMNS = [
    ("id", pa.string()),
    ("type", pa.string()),
    ("created", pa.int64()),
    ("ordinal", pa.int64()),
    ("object_type", pa.string()),
    ("object_id", pa.string()),
    ("customer_id", pa.string()),
    ("payload", pa.string()),
]

EVENTS = Table(
    "stripe/events",
    pa.schema(_VERSION_COLUMNS),
    ("created", "ordinal"),
    "Every Stripe event, with the full event JSON (data.object as of the event).",
)
SILENT_VERSIONS = Table(
    "stripe/silent_versions",
    pa.schema([c for c in _VERSION_COLUMNS if c[0] not in ("id", "type")]),
    ("created", "ordinal"),
    "Object states Stripe changes without emitting an event (e.g. charge.disputed).",
)

#: Stripe object type -> table of its final state (as of the world's end).
OBJECT_TYPES = (
    "customer",
    "product",
    "price",
    "coupon",
    "discount",
    "subscription",
    "invoice",
    "invoice_payment",
    "payment_intent",
    "charge",
    "refund",
    "dispute",
    "balance_transaction",
    "payout",
)
OBJECT_TABLES: dict[str, Table] = {
    kind: Table(
        f"stripe/{kind}s",
        pa.schema(
            [
                ("id", pa.string()),
                ("created", pa.int64()),
                ("customer_id", pa.string()),
                ("payload", pa.string()),
            ]
        ),
        ("created", "id"),
        f"Final state of every Stripe {kind} at the world's end.",
    )
    for kind in OBJECT_TYPES
}

TABLES: list[Table] = [EVENTS, SILENT_VERSIONS, *OBJECT_TABLES.values()]


def _dumps(obj: Json) -> str:
    return orjson.dumps(obj).decode()


class StripeRecorder:
    """Turns simulated changes of one entity's Stripe objects into event and object rows."""

    def __init__(self, sink: Sink, rng: random.Random, ordinal_base: int) -> None:
        self.sink = sink
        self.rng = rng
        self._ordinal = ordinal_base
        self._last: dict[str, Json] = {}

    def next_ordinal(self) -> int:
        self._ordinal += 1
        return self._ordinal

    def emit(
        self,
        event_type: str,
        obj: Json,
        ts: int,
        customer_id: str | None,
        *,
        request: tuple[str, str | None] | None = None,
    ) -> None:
        """Record event `event_type` carrying `obj` (already rendered) at `ts`.

        ``*.updated`` events get `previous_attributes` against the last recorded state of the
        object. `request` is (request id, idempotency key) for changes made through the API.
        """
        object_id = obj["id"]
        previous = None
        if event_type.endswith(".updated"):
            before = self._last.get(object_id)
            if before is not None:
                previous = stripe_render.previous_attributes(before, obj)
        self._last[object_id] = obj
        request_id, idempotency_key = request if request else (None, None)
        event_id = stripe_id(self.rng, "evt", 24)
        payload = stripe_render.event(
            event_id, event_type, ts, obj, previous, request_id, idempotency_key
        )
        self.sink.add(
            EVENTS,
            {
                "id": event_id,
                "type": event_type,
                "created": ts,
                "ordinal": self.next_ordinal(),
                "object_type": obj["object"],
                "object_id": object_id,
                "customer_id": customer_id,
                "payload": _dumps(payload),
            },
        )

    def silent(self, obj: Json, ts: int, customer_id: str | None) -> None:
        """Record a new state of `obj` that Stripe changes without an event."""
        self._last[obj["id"]] = obj
        self.sink.add(
            SILENT_VERSIONS,
            {
                "created": ts,
                "ordinal": self.next_ordinal(),
                "object_type": obj["object"],
                "object_id": obj["id"],
                "customer_id": customer_id,
                "payload": _dumps(obj),
            },
        )

    def final(self, kind: str, obj: Json, customer_id: str | None) -> None:
        """Record the state of `obj` at the world's end."""
        self.sink.add(
            OBJECT_TABLES[kind],
            {
                "id": obj["id"],
                # Discounts have no `created`; their `start` is when they were created.
                "created": obj["created"] if "created" in obj else obj["start"],
                "customer_id": customer_id,
                "payload": _dumps(obj),
            },
        )

    def api_request(self) -> tuple[str, str]:
        """A request id and idempotency key for a change made through the API."""
        request_id = "req_" + "".join(
            self.rng.choices("0123456789abcdefghijklmnopqrstuvwxyz", k=14)
        )
        return request_id, _uuid4(self.rng)


def _uuid4(rng: random.Random) -> str:
    value = rng.getrandbits(128)
    value = (value & ~(0xF << 76)) | (4 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
