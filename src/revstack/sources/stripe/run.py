"""``revstack ingest stripe``: which actions a run takes, in which order.

Without options a run is incremental (back-filling first when nothing was ever loaded).
Options select actions instead, run in this order: ``--backfill``, ``--sweep``,
``--webhooks``, ``--reconcile-webhooks``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from revstack.config import RevstackConfig
from revstack.errors import NotAvailableError
from revstack.sources.stripe import flows
from revstack.sources.stripe.context import RunReport, StripeContext, open_context
from revstack.sources.stripe.inbox_loader import load_inbox
from revstack.sources.stripe.reconcile import reconcile_webhooks


@dataclass(frozen=True)
class IngestOptions:
    backfill: bool = False
    since: dt.date | None = None
    sweep: bool = False
    webhooks: bool = False
    reconcile_webhooks: bool = False

    @property
    def incremental(self) -> bool:
        return not (self.backfill or self.sweep or self.webhooks or self.reconcile_webhooks)


def since_timestamp(day: dt.date | None) -> int | None:
    """Midnight UTC of `day`, Unix seconds."""
    if day is None:
        return None
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def drain_webhooks(ctx: StripeContext) -> None:
    """Load what the webhook receiver stored in ``<state_dir>/inbox.sqlite3``."""
    try:
        from revstack.inbox import SqliteInbox
    except ImportError as error:  # pragma: no cover - the inbox ships with revstack
        raise NotAvailableError("the webhook inbox", "webhook receiver and inbox") from error
    inbox = SqliteInbox(ctx.warehouse.state_dir / "inbox.sqlite3")
    try:
        report = load_inbox(inbox, ctx.loader, run_id=ctx.run_id, ingested_at=ctx.ingested_at)
    finally:
        inbox.close()
    ctx.report.tallies.append(report.tally)
    ctx.report.notes.append(
        f"webhooks: {report.items} inbox items loaded in {len(report.loads)} loads"
        + (f", {len(report.rejected)} rejected (not events)" if report.rejected else "")
    )


def run_actions(ctx: StripeContext, options: IngestOptions) -> RunReport:
    report = ctx.report
    try:
        ctx.loader.prepare()
        if ctx.loader.finished_pending:
            report.notes.append(
                f"finished {len(ctx.loader.finished_pending)} load(s) an interrupted run left "
                "pending"
            )
        if ctx.loader.aborted_pending:
            ctx.warn(
                f"aborted {len(ctx.loader.aborted_pending)} pending load(s) the warehouse "
                "refused; their pages are read again"
            )
        if options.incremental:
            flows.incremental(ctx)
        if options.backfill:
            flows.backfill(ctx, since_timestamp(options.since))
        if options.sweep:
            flows.sweep(ctx)
        if options.webhooks:
            drain_webhooks(ctx)
        if options.reconcile_webhooks:
            reconcile_webhooks(ctx)
    finally:
        report.requests = ctx.api.requests()
        report.finished = time.monotonic()
    return report


def ingest_stripe(config: RevstackConfig, options: IngestOptions) -> RunReport:
    """Run the selected actions against the configured Stripe account and warehouse."""
    ctx = open_context(config.sources.stripe, config.warehouse)
    try:
        return run_actions(ctx, options)
    finally:
        ctx.close()
