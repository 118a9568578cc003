"""List reads end to end: back-fills, safety sweeps and retention-gap re-reads.

A read starts with a load that records its plan (each resource's segments, see `segments`)
in resource state, then commits pages as they arrive, every ``rows_per_load`` rows, each load
carrying the positions its pages reached and the segments split off with them. A crash
resumes from the last committed positions; an unfinished read of the same kind is resumed
rather than started again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from revstack.errors import RevstackError
from revstack.log import get_logger
from revstack.sources.stripe import segments as seg
from revstack.sources.stripe.client import StripeApi
from revstack.sources.stripe.loader import RawLoader
from revstack.sources.stripe.reader import Chunk, Failure, ListJob, ListReader
from revstack.sources.stripe.resources import Kind, TableBatch
from revstack.sources.stripe.settings import RESOURCE_BY_TABLE
from revstack.sources.stripe.tally import StreamTally

_log = get_logger(__name__)


@dataclass(frozen=True)
class ListRead:
    """A list read to run: what, how its rows are labelled, and where its positions live."""

    action: str
    """Audit action: ``backfill``, ``sweep``, ``retention_gap`` or ``incremental``."""
    state_key: str
    source: str
    positions: Mapping[str, seg.Segments]
    related_charges: bool = False
    """Re-read the charges of disputes read."""
    extra_state: Mapping[str, Mapping[str, Any]] | None = None
    """More resource-state changes to commit with the plan, by table."""
    done_state: Mapping[str, Mapping[str, Any]] | None = None
    """Resource-state changes to commit with a table's last page, by table."""


def stored_positions(
    loader: RawLoader, tables: Sequence[str], state_key: str
) -> dict[str, seg.Segments]:
    """The segments of an unfinished read of kind `state_key` (empty when none is)."""
    positions = {}
    for table in tables:
        stored = seg.from_state((loader.state(table).get("reads") or {}).get(state_key))
        if stored:
            positions[table] = stored
    if all(seg.all_done(segments) for segments in positions.values()):
        return {}
    return positions


def _plan_batches(read: ListRead) -> list[TableBatch]:
    batches = []
    for table, segments in read.positions.items():
        state: dict[str, Any] = {"reads": {read.state_key: seg.to_state(segments)}}
        state.update((read.extra_state or {}).get(table, {}))
        batches.append(TableBatch(table, "versions", [], state))
    for table, extra in (read.extra_state or {}).items():
        if table not in read.positions:
            kind: Kind = "events" if table == "events" else "versions"
            batches.append(TableBatch(table, kind, [], dict(extra)))
    return batches


def _jobs(read: ListRead) -> list[ListJob]:
    return [
        ListJob(
            RESOURCE_BY_TABLE[table],
            position,
            read.source,
            read.state_key,
            segment=number,
            related_charges=read.related_charges and table == "disputes",
        )
        for table, segments in read.positions.items()
        for number, position in segments.items()
    ]


class Progress:
    """Committed segments per table, advanced by the chunks of each load."""

    def __init__(self, read: ListRead) -> None:
        self.read = read
        self.segments = {table: dict(segments) for table, segments in read.positions.items()}

    def batches(self, chunks: Sequence[Chunk]) -> list[TableBatch]:
        """One load's batches for `chunks`, each table carrying its segments as these chunks
        leave them (and `done_state` once every segment is done)."""
        batches: dict[str, TableBatch] = {}
        for chunk in chunks:
            table = chunk.job.table
            self.segments[table] = seg.advanced(
                self.segments.get(table, {}), chunk.job.segment, chunk.position, chunk.splits
            )
            batch = batches.setdefault(table, TableBatch(table, "versions"))
            batch.rows.extend(chunk.rows)
            if chunk.related:
                batches.setdefault("charges", TableBatch("charges", "versions")).rows.extend(
                    chunk.related
                )
        for table, batch in batches.items():
            if table not in self.segments:
                continue  # charges re-read for disputes: no read of their own
            batch.state = {"reads": {self.read.state_key: seg.to_state(self.segments[table])}}
            if seg.all_done(self.segments[table]):
                batch.state.update((self.read.done_state or {}).get(table, {}))
        return list(batches.values())


def owned_tables(table: str, read: ListRead) -> list[str]:
    """The tables whose rows count for `table`'s tally (disputes own re-read charges)."""
    return [table, "charges"] if table == "disputes" and read.related_charges else [table]


def run_list_read(
    api: StripeApi,
    loader: RawLoader,
    read: ListRead,
    *,
    version_at: int,
    rows_per_load: int,
    ingested_at: Callable[[], dt.datetime],
    created_filter: bool = True,
    commit_plan: bool = True,
) -> dict[str, StreamTally]:
    """Run `read` to the end (or to a failure, after committing what was read)."""
    tallies = {
        table: StreamTally(
            read.action,
            table,
            cursor_before=seg.describe(segments),
            cursor_after=seg.describe(segments),
        )
        for table, segments in read.positions.items()
    }
    progress = Progress(read)

    def commit_the_plan() -> None:
        loader.commit(_plan_batches(read))

    reader = ListReader(
        api, version_at=version_at, ingested_at=ingested_at(), created_filter=created_filter
    )
    buffered: list[Chunk] = []
    failure: Failure | None = None
    requests_before = {table: api.requests(table) for table in (*tallies, "charges")}

    def flush() -> None:
        if not buffered:
            return
        result = loader.commit(progress.batches(buffered))
        for table, tally in tallies.items():
            tally.cursor_after = seg.describe(progress.segments[table])
            tally.add_load(result, owned_tables(table, read))
        buffered.clear()

    try:
        plan = commit_the_plan if commit_plan else None
        for item in reader.read(_jobs(read), meanwhile=plan):
            if isinstance(item, Failure):
                failure = item
                break
            buffered.append(item)
            if sum(len(chunk.rows) + len(chunk.related) for chunk in buffered) >= rows_per_load:
                flush()
        flush()
    finally:
        for table, tally in tallies.items():
            tally.requests = api.requests(table) - requests_before[table]
            if table == "disputes" and read.related_charges:
                tally.requests += api.requests("charges") - requests_before["charges"]
    if failure is not None:
        tallies[failure.job.table].error = str(failure.error)
        _log.error("stripe.list.failed", table=failure.job.table, error=str(failure.error))
        if not isinstance(failure.error, RevstackError):
            raise failure.error
        raise ReadFailed(tallies, failure.error)
    return tallies


def read_to_memory(
    api: StripeApi,
    read: ListRead,
    *,
    version_at: int,
    ingested_at: Callable[[], dt.datetime],
    created_filter: bool = True,
) -> tuple[list[TableBatch], dict[str, StreamTally]]:
    """Run a small read without committing: its batches, to load with other data."""
    tallies = {
        table: StreamTally(read.action, table, cursor_before=seg.describe(segments))
        for table, segments in read.positions.items()
    }
    reader = ListReader(
        api, version_at=version_at, ingested_at=ingested_at(), created_filter=created_filter
    )
    before = {table: api.requests(table) for table in tallies}
    chunks: list[Chunk] = []
    try:
        for item in reader.read(_jobs(read)):
            if isinstance(item, Failure):
                tallies[item.job.table].error = str(item.error)
                if not isinstance(item.error, RevstackError):
                    raise item.error
                raise ReadFailed(tallies, item.error)
            chunks.append(item)
    finally:
        for table, tally in tallies.items():
            tally.requests = api.requests(table) - before[table]
    progress = Progress(read)
    batches = progress.batches(chunks)
    for table, tally in tallies.items():
        tally.cursor_after = seg.describe(progress.segments[table])
    return batches, tallies


class ReadFailed(Exception):
    """A list read stopped on an error after committing what it had; carries the tallies."""

    def __init__(self, tallies: dict[str, StreamTally], error: RevstackError) -> None:
        super().__init__(str(error))
        self.tallies = tallies
        self.error = error
