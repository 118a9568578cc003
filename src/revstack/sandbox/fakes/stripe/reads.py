"""Read endpoints: list, retrieve and search every served object type, events, and an
invoice's lines, all as of the sandbox clock."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
from starlette.routing import Route

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.stripe.errors import StripeRequestError, no_such
from revstack.sandbox.fakes.stripe.expand import Expander, check_paths
from revstack.sandbox.fakes.stripe.filters import FILTER_PARAMS, build_filters
from revstack.sandbox.fakes.stripe.http import Api, Call, ok
from revstack.sandbox.fakes.stripe.listing import (
    envelope,
    object_cursor,
    parse_expand,
    parse_limit,
    parse_list,
    walk,
)
from revstack.sandbox.fakes.stripe.search import (
    page_offset,
    page_token,
    parse_query,
    search_doc,
)
from revstack.sandbox.fakes.stripe.settings import RESOURCE_KINDS, StripeFakeSettings
from revstack.sandbox.fakes.stripe.store import Json, StripeStore
from revstack.sandbox.fakes.stripe.world_index import EventRecord, Record

DAY = 86_400
SEARCHABLE = (
    "customers",
    "charges",
    "invoices",
    "payment_intents",
    "prices",
    "products",
    "subscriptions",
)


class Reads:
    def __init__(
        self, store: StripeStore, clock: SandboxClock, settings: StripeFakeSettings
    ) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self._search_docs: dict[tuple[str, tuple[int, int], int], Json] = {}

    def routes(self, api: Api) -> list[Route]:
        routes = [
            api.route("/v1/events", self.list_events, "GET"),
            api.route("/v1/events/{id}", self.retrieve_event, "GET"),
            api.route("/v1/invoices/{id}/lines", self.invoice_lines, "GET"),
        ]
        for resource in SEARCHABLE:
            routes.append(api.route(f"/v1/{resource}/search", self._search(resource), "GET"))
        for resource, kind in RESOURCE_KINDS.items():
            routes.append(api.route(f"/v1/{resource}", self._list(resource, kind), "GET"))
            routes.append(
                api.route(f"/v1/{resource}/{{id}}", self._retrieve(resource, kind), "GET")
            )
        return routes

    # --- rendering ---------------------------------------------------------------------

    def item(
        self,
        record: Record,
        at: int,
        paths: list[list[str]],
        *,
        wall_before: float | None = None,
        listable: bool = False,
    ) -> bytes | None:
        rendered = self.store.render(record, at, wall_before=wall_before, listable=listable)
        if rendered is None:
            return None
        if not paths:
            return rendered if isinstance(rendered, bytes) else orjson.dumps(rendered)
        obj = rendered if isinstance(rendered, dict) else orjson.loads(rendered)
        return orjson.dumps(Expander(self.store, at).expand(obj, paths))

    def object_response(self, record: Record, at: int, expand: tuple[str, ...]) -> bytes:
        body = self.item(record, at, check_paths(expand, listing=False))
        if body is None:
            raise no_such(record.kind, record.id)
        return body

    # --- objects -----------------------------------------------------------------------

    def _list(self, resource: str, kind: str) -> Callable[[Call], tuple[int, bytes]]:
        def handler(call: Call) -> tuple[int, bytes]:
            query = parse_list(call.params, FILTER_PARAMS[kind])
            at = self.clock.now()
            paths = check_paths(query.expand, listing=True)
            filters = build_filters(kind, call.params, self.store, at)
            store = self.store

            def accept(object_id: str) -> bytes | None:
                record = store.records[object_id]
                if filters:
                    if not store.exists(record, at):
                        return None
                    for predicate in filters:
                        if not predicate(record):
                            return None
                return self.item(record, at, paths, listable=True)

            items, has_more = walk(
                store.index(kind), query, at, object_cursor(store.records, kind), accept
            )
            return ok(envelope(f"/v1/{resource}", items, has_more))

        return handler

    def _retrieve(self, resource: str, kind: str) -> Callable[[Call], tuple[int, bytes]]:
        def handler(call: Call) -> tuple[int, bytes]:
            call.params.check(("expand",))
            object_id = call.path("id")
            record = self.store.get(object_id, kind)
            if record is None:
                raise no_such(kind, object_id)
            return ok(self.object_response(record, self.clock.now(), parse_expand(call.params)))

        return handler

    def invoice_lines(self, call: Call) -> tuple[int, bytes]:
        query = parse_list(call.params)
        invoice_id = call.path("id")
        record = self.store.get(invoice_id, "invoice")
        at = self.clock.now()
        invoice = self.store.state(record, at) if record is not None else None
        if invoice is None:
            raise no_such("invoice", invoice_id)
        lines: list[Json] = list((invoice.get("lines") or {}).get("data") or [])
        ids = [line["id"] for line in lines]
        start, stop = 0, len(lines)
        for cursor, param in (
            (query.starting_after, "starting_after"),
            (query.ending_before, "ending_before"),
        ):
            if cursor is not None and cursor not in ids:
                raise no_such("invoice line item", cursor, param=param, status=400)
        if query.starting_after:
            start = ids.index(query.starting_after) + 1
        if query.ending_before:
            stop = ids.index(query.ending_before)
            start = max(0, stop - query.limit)
        page = lines[start:stop][: query.limit]
        has_more = (start + len(page) < len(lines)) if not query.ending_before else start > 0
        paths = check_paths(query.expand, listing=True)
        expander = Expander(self.store, at)
        items = [orjson.dumps(expander.expand(line, paths)) for line in page]
        return ok(envelope(f"/v1/invoices/{invoice_id}/lines", items, has_more))

    # --- events ------------------------------------------------------------------------

    def _event_visible(self, event: EventRecord, at: int) -> bool:
        retention = self.settings.event_retention_days * DAY
        return at - retention <= event.created <= at and self.store.event_visible(event)

    def list_events(self, call: Call) -> tuple[int, bytes]:
        query = parse_list(call.params, ("type", "types", "delivery_success"))
        call.params.boolean("delivery_success")
        at = self.clock.now()
        check_paths(query.expand, listing=True)
        event_type = call.params.string("type")
        types = call.params.strings("types")
        if event_type is not None and types is not None:
            raise StripeRequestError(
                "You may only specify one of these parameters: type, types.", param="types"
            )
        if types is not None and len(types) > 20:
            raise StripeRequestError("You may pass at most 20 types.", param="types")
        matcher = _type_matcher([event_type] if event_type is not None else types)
        store = self.store

        def cursor_key(event_id: str, param: str) -> tuple[int, int]:
            event = store.events.get(event_id)
            if event is None or not self._event_visible(event, at):
                raise no_such("event", event_id, param=param, status=400)
            return event.key

        def accept(event_id: str) -> bytes | None:
            event = store.events[event_id]
            if matcher is not None and not matcher(event.type):
                return None
            if not store.event_visible(event):
                return None
            return store.event_bytes(event)

        lowest = at - self.settings.event_retention_days * DAY
        items, has_more = walk(store.event_index, query, at, cursor_key, accept, lowest=lowest)
        return ok(envelope("/v1/events", items, has_more))

    def retrieve_event(self, call: Call) -> tuple[int, bytes]:
        call.params.check(("expand",))
        event = self.store.events.get(call.path("id"))
        if event is None or not self._event_visible(event, self.clock.now()):
            raise no_such("event", call.path("id"))
        return ok(self.store.event_bytes(event))

    # --- search ------------------------------------------------------------------------

    def _search(self, resource: str) -> Callable[[Call], tuple[int, bytes]]:
        kind = RESOURCE_KINDS[resource]

        def handler(call: Call) -> tuple[int, bytes]:
            params = call.params
            params.check(("query", "limit", "page", "expand"))
            text = params.string("query", required=True) or ""
            query = parse_query(text, kind, resource)
            limit = parse_limit(params)
            offset = page_offset(params.string("page"), text)
            expand = list(parse_expand(params))
            total = "total_count" in expand
            paths = check_paths(tuple(p for p in expand if p != "total_count"), listing=True)
            at = self.clock.now()
            wall_before = time.time() - self.settings.search_lag_s
            matches: list[Record] = []
            index = self.store.index(kind)
            lo, hi = index.bounds(None, at)
            for position in range(hi - 1, lo - 1, -1):
                record = self.store.records[index.ids[position]]
                doc = self._doc(record, at, wall_before)
                if doc is not None and query.matches(doc):
                    matches.append(record)
            page = matches[offset : offset + limit]
            items = [
                body
                for record in page
                if (body := self.item(record, at, paths, wall_before=wall_before)) is not None
            ]
            has_more = offset + limit < len(matches)
            result: Json = {
                "object": "search_result",
                "data": [],
                "has_more": has_more,
                "next_page": page_token(offset + limit, text) if has_more else None,
                "url": f"/v1/{resource}/search",
            }
            if total:
                result["total_count"] = len(matches)
            head = orjson.dumps(result)
            marker = b'"data":[]'
            return ok(head.replace(marker, b'"data":[' + b",".join(items) + b"]", 1))

        return handler

    def _doc(self, record: Record, at: int, wall_before: float) -> Json | None:
        version = self.store.current(record, at, wall_before)
        if version is None or version.deleted:
            return None
        patches = sum(1 for p in record.patches if p.key < version.key and p.wall <= wall_before)
        key = (record.id, version.key, patches if version.wall is None else 0)
        doc = self._search_docs.get(key)
        if doc is None:
            state = self.store.state(record, at, wall_before=wall_before)
            if state is None:
                return None
            doc = self._search_docs[key] = search_doc(record.kind, state)
        return doc


def _type_matcher(patterns: list[str] | None) -> Callable[[str], bool] | None:
    if not patterns:
        return None
    exact = {p for p in patterns if "*" not in p}
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))

    def matches(event_type: str) -> bool:
        return event_type in exact or (bool(prefixes) and event_type.startswith(prefixes))

    return matches
