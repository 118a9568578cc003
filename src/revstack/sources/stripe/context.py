"""What one ``revstack ingest stripe`` run works with, and what it reports when done."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from revstack.config import StripeSettings, WarehouseSettings
from revstack.log import get_logger
from revstack.sources.stripe.client import StripeApi
from revstack.sources.stripe.loader import RawLoader
from revstack.sources.stripe.tally import StreamTally

_log = get_logger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RunReport:
    """What a run did: per action and stream, plus warnings for the operator."""

    run_id: str
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    tallies: list[StreamTally] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    requests: int = 0

    @property
    def duration_s(self) -> float:
        end = self.finished if self.finished is not None else time.monotonic()
        return end - self.started

    def by_table(self) -> dict[str, dict[str, int]]:
        """Rows offered and new per raw table, over every action."""
        totals: dict[str, dict[str, int]] = {}
        for tally in self.tallies:
            for table, counts in tally.tables.items():
                target = totals.setdefault(table, {"offered": 0, "new": 0})
                target["offered"] += counts["offered"]
                target["new"] += counts["new"]
        return totals

    def render(self) -> str:
        actions = list(dict.fromkeys(tally.action for tally in self.tallies))
        lines = [
            f"stripe {', '.join(actions) or 'nothing to do'}: {self.requests} requests "
            f"in {self.duration_s:.1f} s (run {self.run_id})"
        ]
        tables = self.by_table()
        if tables:
            width = max(len(name) for name in tables)
            for table, counts in sorted(tables.items()):
                lines.append(
                    f"  {table:<{width}}  {counts['offered']:>9,} read  {counts['new']:>9,} new"
                )
        lines += [f"note: {note}" for note in self.notes]
        lines += [f"WARNING: {warning}" for warning in self.warnings]
        return "\n".join(lines)


@dataclass
class StripeContext:
    """Settings, client, loader and report of one run."""

    stripe: StripeSettings
    warehouse: WarehouseSettings
    api: StripeApi
    loader: RawLoader
    report: RunReport
    ingested_at: Callable[[], dt.datetime] = utc_now
    created_filter: bool = True
    """Whether the API filters lists by ``created`` (Stripe does; localstripe does not)."""
    wall_clock: Callable[[], float] = time.time

    @property
    def run_id(self) -> str:
        return self.report.run_id

    def stripe_now(self) -> int:
        """Stripe's clock through its own data: the newest event's ``created`` (the local
        clock when no event is within the retention)."""
        newest = self.api.newest_event_created()
        return newest if newest is not None else int(self.wall_clock())

    def record(self, tallies: Iterable[StreamTally]) -> None:
        """Add tallies to the report and their entries to the audit log."""
        tallies = list(tallies)
        self.report.tallies.extend(tallies)
        self.report.requests = self.api.requests()
        self.loader.audit(tally.audit_event(self.run_id) for tally in tallies)

    def close(self) -> None:
        self.loader.close()

    def warn(self, message: str, **fields: object) -> None:
        self.report.warnings.append(message)
        _log.error("stripe.warning", message=message, **fields)


def open_context(
    stripe: StripeSettings,
    warehouse: WarehouseSettings,
    *,
    api: StripeApi | None = None,
    loader: RawLoader | None = None,
    created_filter: bool = True,
) -> StripeContext:
    report = RunReport(run_id=uuid.uuid4().hex)
    return StripeContext(
        stripe,
        warehouse,
        api or StripeApi(stripe, timeout_s=stripe.request_timeout_s),
        loader or RawLoader(warehouse),
        report,
        created_filter=created_filter,
    )
