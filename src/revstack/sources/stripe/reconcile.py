"""The daily webhook comparison: every event Stripe lists for the last day, against raw.

Events absent from ``raw_stripe.events`` are loaded (with their object versions); every
listed event gets its rank within its second. The audit entry says how many events were
listed, how many raw lacked, and how many never arrived by webhook (no receipt), which is the
measure of how far webhooks alone can be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from revstack.sources.stripe.context import StripeContext
from revstack.sources.stripe.events import collect_windows, event_batches
from revstack.sources.stripe.loader import LoadResult
from revstack.sources.stripe.plans import disputed_charge_ids, oldest_first, rank_in_second
from revstack.sources.stripe.resources import TableBatch
from revstack.sources.stripe.rows import rank_rows
from revstack.sources.stripe.settings import (
    EVENT_RANKS_TABLE,
    EVENTS_TABLE,
    RECONCILE_LOOKBACK_S,
    RESOURCES,
    WEBHOOK_RECEIPTS_TABLE,
)
from revstack.sources.stripe.tally import StreamTally


@dataclass(frozen=True)
class ReconcileReport:
    listed: int
    missing_from_raw: int
    never_by_webhook: int


def reconcile_webhooks(ctx: StripeContext) -> ReconcileReport:
    now = ctx.stripe_now()
    lower = now - RECONCILE_LOOKBACK_S
    tally = StreamTally("reconcile", EVENTS_TABLE, cursor_before=str(lower), cursor_after=str(now))
    requests_before = ctx.api.requests(EVENTS_TABLE)
    owned = [EVENTS_TABLE, EVENT_RANKS_TABLE, *(resource.table for resource in RESOURCES)]

    def on_load(result: LoadResult) -> None:
        tally.add_load(result, owned)

    listed = missing = never = 0
    try:
        for _, events in collect_windows(ctx.api, lower, now):
            ids = [event["id"] for event in events]
            present = ctx.loader.existing_ids(EVENTS_TABLE, ids)
            received = ctx.loader.existing_ids(WEBHOOK_RECEIPTS_TABLE, ids)
            absent = [event for event in events if event["id"] not in present]
            listed += len(ids)
            missing += len(absent)
            never += sum(1 for event_id in ids if event_id not in received)
            # Ranks come from the whole listing; only the absent events are loaded.
            now_utc = ctx.ingested_at()
            charges = [
                ctx.api.get(f"/v1/charges/{charge_id}", stream=EVENTS_TABLE)
                for charge_id in disputed_charge_ids(
                    (event.get("data") or {}).get("object") or {} for event in absent
                )
            ]
            batches = event_batches(
                oldest_first(absent),
                [],
                source="events",
                ingested_at=now_utc,
                related=charges,
                related_version_at=now,
            )
            ranks = rank_rows(rank_in_second(oldest_first(events)), ingested_at=now_utc)
            batches.append(TableBatch(EVENT_RANKS_TABLE, "ranks", ranks))
            on_load(ctx.loader.commit(batches))
    except Exception as error:
        tally.error = str(error)
        raise
    finally:
        tally.requests = ctx.api.requests(EVENTS_TABLE) - requests_before
        tally.details.update(
            {"listed": listed, "missing_from_raw": missing, "never_by_webhook": never}
        )
        ctx.record([tally])
    report = ReconcileReport(listed, missing, never)
    ctx.report.notes.append(
        f"reconcile: {listed} events listed for the last day, {missing} were missing from "
        f"raw and loaded, {never} never arrived by webhook"
    )
    return report
