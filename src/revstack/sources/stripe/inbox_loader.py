"""Webhook events from the durable inbox into raw: events, the object versions they carry, and
a receipt per event (how ``--reconcile-webhooks`` knows what arrived by webhook).

Loads are insert-only on the event id and on (object id, version key), so a delivery seen
twice, three times, or after a later one changes nothing. Items are marked done only after
their load is committed; a crash in between loads them again on the next drain, which is a
no-op. Bodies that are not events are marked done too (they can never load) and counted as
rejected in the audit entry.

Webhooks cannot tell an event's position among the events of its second; ``event_ranks`` gets
it when the event is next listed by ``/v1/events`` (the incremental run or the daily
reconciliation).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from revstack.inbox.base import Inbox, InboxItem
from revstack.log import get_logger
from revstack.sources.stripe.context import utc_now
from revstack.sources.stripe.events import event_batches
from revstack.sources.stripe.loader import RawLoader
from revstack.sources.stripe.resources import TableBatch
from revstack.sources.stripe.rows import receipt_rows
from revstack.sources.stripe.settings import (
    EVENT_RANKS_TABLE,
    EVENTS_TABLE,
    RESOURCES,
    WEBHOOK_RECEIPTS_TABLE,
)
from revstack.sources.stripe.tally import StreamTally

SOURCE = "stripe"
BATCH = 5_000
"""Inbox items per load."""
NO_LOAD = "none"
"""What items are marked done with when none of them was an event (nothing was loaded)."""
_log = get_logger(__name__)


@dataclass
class InboxLoadReport:
    """What a drain did."""

    items: int = 0
    loads: list[str] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    """Inbox seqs whose body was not an event."""
    tally: StreamTally = field(default_factory=lambda: StreamTally("webhooks", EVENTS_TABLE))


def parse(item: InboxItem) -> dict[str, Any] | None:
    """The event in an inbox item, or None when the body is not a Stripe event."""
    try:
        event = orjson.loads(item.body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict) or event.get("object", "event") != "event":
        return None
    if not isinstance(event.get("id"), str) or not isinstance(event.get("created"), int):
        return None
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return None
    return event


def load_inbox(
    inbox: Inbox,
    loader: RawLoader,
    *,
    batch: int = BATCH,
    max_batches: int | None = None,
    run_id: str | None = None,
    ingested_at: Callable[[], dt.datetime] = utc_now,
    audit: bool = True,
) -> InboxLoadReport:
    """Move pending ``stripe`` items from `inbox` into raw until none is left (or
    `max_batches` loads were made); one audit entry for the drain. Safe to call every few
    seconds: with nothing pending it reads the inbox once and returns."""
    report = InboxLoadReport()
    tally = report.tally
    owned = [EVENTS_TABLE, EVENT_RANKS_TABLE, WEBHOOK_RECEIPTS_TABLE] + [r.table for r in RESOURCES]
    loader.prepare()
    try:
        while max_batches is None or len(report.loads) < max_batches:
            items = inbox.pending(SOURCE, batch)
            if not items:
                break
            events: list[dict[str, Any]] = []
            receipts: list[tuple[str, float, int]] = []
            for item in items:
                event = parse(item)
                if event is None:
                    report.rejected.append(item.seq)
                    continue
                events.append(event)
                receipts.append((event["id"], item.received_at, item.seq))
            now = ingested_at()
            batches = event_batches(events, [], source="webhook", ingested_at=now)
            batches.append(
                TableBatch(
                    WEBHOOK_RECEIPTS_TABLE, "receipts", receipt_rows(receipts, ingested_at=now)
                )
            )
            result = loader.commit(batches)
            load_id = result.load_id or NO_LOAD
            inbox.mark_done(SOURCE, [item.seq for item in items], load_id)
            tally.add_load(result, owned)
            report.items += len(items)
            report.loads.append(load_id)
    except Exception as error:
        tally.error = str(error)
        raise
    finally:
        tally.details["items"] = report.items
        tally.details["rejected_inbox_seqs"] = report.rejected
        if report.rejected:
            _log.warning("stripe.webhooks.rejected", seqs=report.rejected)
        if audit and (report.items or tally.error):
            loader.audit([tally.audit_event(run_id or uuid.uuid4().hex)])
    return report
