"""List reads: segments of ``created`` ranges walked page by page in worker threads, pages
handed to the loader as they arrive.

A read starts as one segment per resource. When a worker is idle and nothing waits, a
worker on a long list halves the range it has left and hands the older half over
(`pagination.split`), so a heavy list is read by several workers at once: Stripe answers a
list page in a few hundred milliseconds, so reaching the rate limit takes many requests in
flight. Every worker shares the client's token bucket, so together they stay within the
limit. The page queue is bounded: readers wait when the loader falls behind. A page is handed
over with the position its segment reaches once the page is loaded, and with any segment
split off from it, which is what gets committed with it.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from revstack.sources.stripe.client import StripeApi
from revstack.sources.stripe.pagination import (
    ListPosition,
    advance,
    first_request,
    next_request,
    split,
)
from revstack.sources.stripe.plans import disputed_charge_ids
from revstack.sources.stripe.rows import Row, list_rows
from revstack.sources.stripe.settings import (
    LIST_WORKERS,
    PAGE_LIMIT,
    QUEUE_PAGES,
    READ_ORDER,
    SPLIT_KEEP_PAGES,
    Resource,
)

Json = dict[str, Any]


@dataclass(frozen=True)
class ListJob:
    """One resource's part of a list read."""

    resource: Resource
    position: ListPosition
    source: str
    """Raw ``source`` of the rows: ``backfill`` or ``sweep``."""
    state_key: str
    """Where the position is kept in the resource's state (``reads.<state_key>``)."""
    segment: int = 0
    """Which part of the resource's range this is."""
    related_charges: bool = False
    """Also re-read the charges of disputes read (Stripe flips ``charge.disputed`` silently)."""

    @property
    def table(self) -> str:
        return self.resource.table


@dataclass
class Chunk:
    """One page of a job, ready to load."""

    job: ListJob
    rows: list[Row]
    position: ListPosition
    related: list[Row] = field(default_factory=list)
    """Charge rows re-read because of the page's disputes."""
    splits: list[tuple[int, ListPosition]] = field(default_factory=list)
    """Segments split off this one with this page (id, position): committed with it."""


@dataclass
class Failure:
    job: ListJob
    error: BaseException


_DONE = object()


def read_order(table: str) -> int:
    """Biggest lists first, so no large list is left to one reader at the end."""
    return READ_ORDER.index(table) if table in READ_ORDER else len(READ_ORDER)


def complete_lines(api: StripeApi, invoice: Json, *, stream: str) -> None:
    """Fetch the rest of an invoice's lines (``/v1/invoices/{id}/lines``) when the embedded
    list has more, so the stored invoice holds every line."""
    lines = invoice.get("lines")
    if not isinstance(lines, dict) or not lines.get("has_more"):
        return
    data: list[Json] = list(lines.get("data") or [])
    has_more = True
    while has_more:
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        if data:
            params["starting_after"] = data[-1]["id"]
        page = api.list_page(f"/v1/invoices/{invoice['id']}/lines", params, stream=stream)
        data.extend(page.data)
        has_more = page.has_more and bool(page.data)
    lines["data"] = data
    lines["has_more"] = False


class _Pool:
    """The work queue shared by the workers, and whether any of them is idle."""

    def __init__(self, jobs: list[ListJob], workers: int) -> None:
        self.work: queue.Queue[ListJob | None] = queue.Queue()
        self.lock = threading.Lock()
        self.outstanding = len(jobs)
        self.idle = 0
        self.workers = workers
        self.next_segment: dict[str, int] = {}
        for job in jobs:
            self.next_segment[job.table] = max(self.next_segment.get(job.table, 0), job.segment + 1)
            self.work.put(job)

    def hungry(self) -> bool:
        with self.lock:
            return self.idle > 0 and self.work.empty()

    def new_segment(self, table: str) -> int:
        with self.lock:
            segment = self.next_segment.get(table, 0)
            self.next_segment[table] = segment + 1
            return segment

    def spawn(self, job: ListJob) -> None:
        with self.lock:
            self.outstanding += 1
        self.work.put(job)

    def take(self) -> ListJob | None:
        with self.lock:
            self.idle += 1
        job = self.work.get()
        with self.lock:
            self.idle -= 1
        return job

    def finished_one(self) -> bool:
        """Count a job done; True when it was the last (the workers are then released)."""
        with self.lock:
            self.outstanding -= 1
            last = self.outstanding == 0
        if last:
            self.release()
        return last

    def release(self) -> None:
        for _ in range(self.workers):
            self.work.put(None)


class ListReader:
    """Walks list jobs in parallel and yields their pages (and failures) as they arrive."""

    def __init__(
        self,
        api: StripeApi,
        *,
        version_at: int,
        ingested_at: dt.datetime,
        created_filter: bool = True,
        workers: int = LIST_WORKERS,
        queue_pages: int = QUEUE_PAGES,
    ) -> None:
        self.api = api
        self.version_at = version_at
        self.ingested_at = ingested_at
        self.created_filter = created_filter
        self.workers = workers
        self.queue_pages = queue_pages

    def read(
        self, jobs: list[ListJob], *, meanwhile: Callable[[], None] | None = None
    ) -> Iterator[Chunk | Failure]:
        """Pages of `jobs` as they arrive; `meanwhile` runs in this thread once the readers
        have started (the plan's load, while the first pages are fetched)."""
        todo = sorted(
            (job for job in jobs if not job.position.done), key=lambda job: read_order(job.table)
        )
        if not todo:
            if meanwhile is not None:
                meanwhile()
            return
        pages: queue.Queue[Any] = queue.Queue(maxsize=self.queue_pages)
        stop = threading.Event()
        pool = _Pool(todo, self.workers)

        def put(item: Any) -> None:
            while not stop.is_set():
                try:
                    pages.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def worker() -> None:
            while not stop.is_set():
                job = pool.take()
                if job is None:
                    return
                try:
                    self._walk(job, put, stop, pool)
                except Exception as error:  # handed to the loader thread, which decides
                    put(Failure(job, error))
                finally:
                    if pool.finished_one():
                        put(_DONE)

        threads = [
            threading.Thread(target=worker, name=f"stripe-list-{number}", daemon=True)
            for number in range(self.workers)
        ]
        for thread in threads:
            thread.start()
        try:
            if meanwhile is not None:
                meanwhile()
            while True:
                item = pages.get()
                if item is _DONE:
                    return
                yield item
        finally:
            stop.set()
            pool.release()
            for thread in threads:
                thread.join(timeout=60)

    def _walk(self, job: ListJob, put: Any, stop: threading.Event, pool: _Pool) -> None:
        resource = job.resource
        position = job.position
        params = first_request(
            resource.params, position, PAGE_LIMIT, created_filter=self.created_filter
        )
        while not stop.is_set():
            page = self.api.list_page(resource.path, params, stream=resource.table)
            fresh, position = advance(
                position, page.data, page.has_more, created_filter=self.created_filter
            )
            if not page.data:
                position = replace(position, skip=(), done=True)
            if resource.object == "invoice":
                for invoice in fresh:
                    complete_lines(self.api, invoice, stream=resource.table)
            related: list[Row] = []
            if job.related_charges:
                charges = [
                    self.api.get(f"/v1/charges/{charge_id}", stream="charges")
                    for charge_id in disputed_charge_ids(fresh)
                ]
                related = self._rows(charges, job.source)
            splits: list[tuple[int, ListPosition]] = []
            if self._should_split(pool, page.data):
                span = int(page.data[0]["created"]) - int(page.data[-1]["created"])
                if parts := split(position, span, SPLIT_KEEP_PAGES):
                    position, older = parts
                    splits.append((pool.new_segment(resource.table), older))
            put(Chunk(job, self._rows(fresh, job.source), position, related, splits))
            for segment, older in splits:
                pool.spawn(replace(job, position=older, segment=segment))
            if position.done:
                return
            if splits:
                params = first_request(resource.params, position, PAGE_LIMIT)
            else:
                params = next_request(params, page.data)

    def _should_split(self, pool: _Pool, page: list[Json]) -> bool:
        """Split only to give an idle reader work, and only while the rate limiter has room
        (when it is the bottleneck, more readers would only add partial pages)."""
        return (
            self.created_filter
            and len(page) >= PAGE_LIMIT
            and pool.hungry()
            and self.api.bucket.available() >= 1.0
        )

    def _rows(self, objects: list[Json], source: str) -> list[Row]:
        return list_rows(
            objects, version_at=self.version_at, source=source, ingested_at=self.ingested_at
        )
