"""Where a list read stands, and the request for its next page: pure functions.

Stripe lists are newest first. A read covers ``created`` in ``[since, upper]`` and walks down
with ``starting_after``. What is committed with each load is a `ListPosition`: the oldest
``created`` still to read (``upper``) plus the ids already loaded at exactly that second
(``skip``), so a resumed read asks for ``created <= upper`` and drops those ids. Unlike a
``starting_after`` id, that position survives the object behind it being deleted.

APIs without ``created`` filters (localstripe) are walked with ``starting_after`` alone and
resume from the last id loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class ListPosition:
    """What remains to read of one list: ``created`` in ``[since, upper]`` minus `skip`."""

    since: int | None = None
    """Lowest ``created`` to read (inclusive); None: from the beginning."""
    upper: int | None = None
    """Highest ``created`` still to read (inclusive); None: no upper bound."""
    skip: tuple[str, ...] = ()
    """Ids created at exactly `upper` that are already loaded."""
    after: str | None = None
    """Without ``created`` filters: the last id loaded (``starting_after``)."""
    done: bool = False

    def to_state(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "upper": self.upper,
            "skip": list(self.skip),
            "after": self.after,
            "done": self.done,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ListPosition:
        return cls(
            since=state.get("since"),
            upper=state.get("upper"),
            skip=tuple(state.get("skip") or ()),
            after=state.get("after"),
            done=bool(state.get("done")),
        )


def first_request(
    base: Mapping[str, Any], position: ListPosition, limit: int, *, created_filter: bool = True
) -> dict[str, Any]:
    """Parameters of the first page of a (resumed) read."""
    params: dict[str, Any] = {**base, "limit": limit}
    if created_filter:
        bounds: dict[str, int] = {}
        if position.since is not None:
            bounds["gte"] = position.since
        if position.upper is not None:
            bounds["lte"] = position.upper
        if bounds:
            params["created"] = bounds
    elif position.after is not None:
        params["starting_after"] = position.after
    return params


def next_request(params: Mapping[str, Any], page: Sequence[Json]) -> dict[str, Any]:
    """Parameters of the page after `page` within the same read."""
    return {**params, "starting_after": page[-1]["id"]}


def advance(
    position: ListPosition,
    page: Sequence[Json],
    has_more: bool,
    *,
    created_filter: bool = True,
) -> tuple[list[Json], ListPosition]:
    """The page's items not loaded yet, and the position once they are loaded."""
    skip = set(position.skip)
    fresh = [item for item in page if item["id"] not in skip]
    if not has_more:
        return fresh, replace(position, skip=(), after=None, done=True)
    if not page:
        return fresh, position
    if not created_filter:
        return fresh, replace(position, after=page[-1]["id"])
    oldest = min(int(item["created"]) for item in page)
    at_oldest = [item["id"] for item in page if int(item["created"]) == oldest]
    carried = position.skip if position.upper == oldest else ()
    merged = tuple(dict.fromkeys((*carried, *at_oldest)))
    return fresh, replace(position, upper=oldest, skip=merged)


MIN_SPLIT_S = 3_600
"""A read with less than this left below its kept part is not split."""


def split(
    position: ListPosition, page_span_s: int, keep_pages: int
) -> tuple[ListPosition, ListPosition] | None:
    """Cut what remains of a read (``created`` in ``[since, upper]``) in two: the next
    `keep_pages` pages' worth of time (judged by the last page, which spanned `page_span_s`
    seconds) stays with the reader already on it; everything older goes to another reader.

    None when the read is done, unbounded above (its first page is not read yet), walked by
    id (no ``created`` filter), or has less than ``MIN_SPLIT_S`` left below the kept part.
    Cutting by the observed density, not at the middle of the range, keeps both parts busy
    when objects crowd into recent months of a long range: the older part starts right where
    the data continues.
    """
    if position.done or position.upper is None or position.after is not None:
        return None
    cut = position.upper - max(1, page_span_s) * max(1, keep_pages)
    if position.since is not None and cut - position.since < MIN_SPLIT_S:
        return None
    newer = replace(position, since=cut + 1)
    older = ListPosition(since=position.since, upper=cut)
    return newer, older
