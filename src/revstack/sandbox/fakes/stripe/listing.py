"""List endpoints' shared mechanics: ``limit``, cursors, ``created`` ranges, newest-first
walking over a kind's index, and the list envelope."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from revstack.sandbox.fakes.stripe.errors import StripeRequestError, no_such
from revstack.sandbox.fakes.stripe.forms import Params
from revstack.sandbox.fakes.stripe.world_index import KindIndex

T = TypeVar("T")

LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})


@dataclass(frozen=True)
class ListQuery:
    limit: int
    starting_after: str | None
    ending_before: str | None
    created_from: int | None
    """Lowest ``created`` included."""
    created_to: int | None
    """Highest ``created`` included."""
    expand: tuple[str, ...]


def parse_limit(params: Params) -> int:
    raw = params.string("limit")
    if raw is None or raw == "":
        return 10
    try:
        limit = int(raw)
    except ValueError:
        raise StripeRequestError(
            f"Invalid integer: {raw}", code="parameter_invalid_integer", param="limit"
        ) from None
    if not 1 <= limit <= 100:
        raise StripeRequestError(
            "This value must be greater than or equal to 1 and less than or equal to 100.",
            code="parameter_invalid_integer",
            param="limit",
        )
    return limit


def parse_created(params: Params, name: str = "created") -> tuple[int | None, int | None]:
    """Inclusive (lowest, highest) bounds from ``created=N`` or ``created[gt|gte|lt|lte]``."""
    value = params.raw(name)
    if value is None:
        return None, None
    if isinstance(value, str):
        exact = params.integer(name)
        return exact, exact
    bounds = params.hash(name)
    assert bounds is not None
    bounds.check(("gt", "gte", "lt", "lte"))
    lowest = highest = None
    if (gt := bounds.integer("gt")) is not None:
        lowest = gt + 1
    if (gte := bounds.integer("gte")) is not None:
        lowest = gte if lowest is None else max(lowest, gte)
    if (lt := bounds.integer("lt")) is not None:
        highest = lt - 1
    if (lte := bounds.integer("lte")) is not None:
        highest = lte if highest is None else min(highest, lte)
    return lowest, highest


def parse_expand(params: Params) -> tuple[str, ...]:
    return tuple(params.strings("expand") or ())


def parse_list(params: Params, filters: Iterable[str] = ()) -> ListQuery:
    params.check(LIST_PARAMS | set(filters))
    starting_after = params.string("starting_after") or None
    ending_before = params.string("ending_before") or None
    if starting_after and ending_before:
        raise StripeRequestError(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    lowest, highest = parse_created(params)
    return ListQuery(
        parse_limit(params), starting_after, ending_before, lowest, highest, parse_expand(params)
    )


def walk(
    index: KindIndex,
    query: ListQuery,
    at: int,
    cursor_key: Callable[[str, str], Any],
    accept: Callable[[str], T | None],
    *,
    lowest: int | None = None,
) -> tuple[list[T], bool]:
    """One page, newest first: (items, has_more).

    `cursor_key(id, param)` gives a cursor's index key (raising if it is not an object of this
    list); `accept(id)` the item, or ``None`` to skip it. `lowest` further bounds ``created``
    from below (the events' retention)."""
    created_from = query.created_from
    if lowest is not None:
        created_from = lowest if created_from is None else max(created_from, lowest)
    highest = at if query.created_to is None else min(at, query.created_to)
    lo, hi = index.bounds(created_from, highest)
    wanted = query.limit + 1
    found: list[T] = []
    if query.ending_before:
        start = max(lo, index.position(cursor_key(query.ending_before, "ending_before")) + 1)
        for position in range(start, hi):
            item = accept(index.ids[position])
            if item is not None:
                found.append(item)
                if len(found) == wanted:
                    break
        has_more = len(found) > query.limit
        page = found[: query.limit]
        page.reverse()
        return page, has_more
    stop = hi
    if query.starting_after:
        stop = min(hi, index.position(cursor_key(query.starting_after, "starting_after")))
    for position in range(stop - 1, lo - 1, -1):
        item = accept(index.ids[position])
        if item is not None:
            found.append(item)
            if len(found) == wanted:
                break
    return found[: query.limit], len(found) > query.limit


def object_cursor(records: dict[str, Any], kind: str) -> Callable[[str, str], Any]:
    """Cursor keys for a list of objects of `kind` (400 ``resource_missing`` if unknown)."""

    def key(object_id: str, param: str) -> Any:
        record = records.get(object_id)
        if record is None or record.kind != kind:
            raise no_such(kind, object_id, param=param, status=400)
        return (record.created, record.id)

    return key


def envelope(url: str, items: list[bytes], has_more: bool, object_name: str = "list") -> bytes:
    """The list envelope around already-serialised items."""
    return b"".join(
        (
            b'{"object":"',
            object_name.encode(),
            b'","data":[',
            b",".join(items),
            b'],"has_more":',
            b"true" if has_more else b"false",
            b',"url":',
            orjson.dumps(url),
            b"}",
        )
    )
