"""What every write handler shares: starting a write at the clock's moment, finding the
object it acts on, and answering with the object as the write left it."""

from __future__ import annotations

import copy

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.stripe.errors import StripeRequestError, no_such
from revstack.sandbox.fakes.stripe.events import EventSink, Write
from revstack.sandbox.fakes.stripe.forms import Params
from revstack.sandbox.fakes.stripe.http import Call, ok
from revstack.sandbox.fakes.stripe.listing import parse_expand
from revstack.sandbox.fakes.stripe.reads import Reads
from revstack.sandbox.fakes.stripe.store import Json, StripeStore
from revstack.sandbox.fakes.stripe.world_index import Record

ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")


class WriteHandlers:
    def __init__(
        self, store: StripeStore, clock: SandboxClock, sink: EventSink, reads: Reads
    ) -> None:
        self.store = store
        self.clock = clock
        self.sink = sink
        self.reads = reads

    def begin(self, call: Call) -> Write:
        return Write(self.store, self.sink, call, self.clock.now())

    def find(self, kind: str, object_id: str, at: int, param: str = "id") -> tuple[Record, Json]:
        """The object and its state now; 404 (or 400 for a parameter) when it does not exist."""
        record = self.store.get(object_id, kind)
        state = self.store.state(record, at) if record is not None else None
        if record is None or state is None or state.get("deleted"):
            raise no_such(kind, object_id, param=param, status=404 if param == "id" else 400)
        return record, copy.deepcopy(state)

    def respond(self, write: Write, record: Record) -> tuple[int, bytes]:
        """The written object (expanded as asked); a failing expansion undoes the write."""
        try:
            body = self.reads.object_response(record, write.at, parse_expand(write.call.params))
        except Exception:
            write.rollback()
            raise
        write.commit()
        return ok(body)


def address(params: Params, key: str = "address") -> Json | None:
    hashed = params.hash(key)
    if hashed is None:
        return None
    hashed.check(ADDRESS_FIELDS)
    return {name: hashed.string(name) or None for name in ADDRESS_FIELDS}


def not_supported(param: str, what: str) -> StripeRequestError:
    return StripeRequestError(
        f"The fake Stripe API does not support {what}.", param=param, code="parameter_invalid"
    )
