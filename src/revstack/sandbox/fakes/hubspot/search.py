"""``POST /crm/v3/objects/{type}/search``: filter groups (OR of ANDs), one sort, ``query``,
``properties``, ``limit`` (<= 200) and ``after`` (an offset). Like HubSpot: archived records are
not searchable, API writes show up only after an index lag, ``total`` counts every match, and
a query pages through at most 10,000 results (``after`` at or past the cap is a 400)."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from revstack.sandbox.fakes.hubspot.context import HubSpotFake
from revstack.sandbox.fakes.hubspot.errors import bad_request, json_response
from revstack.sandbox.fakes.hubspot.http import bounded_int, json_body, object_type, string_list
from revstack.sandbox.fakes.hubspot.properties import PropertyRegistry
from revstack.sandbox.fakes.hubspot.records import Version
from revstack.sandbox.fakes.hubspot.settings import (
    SEARCH_FILTER_GROUPS_MAX,
    SEARCH_FILTERS_MAX,
    SEARCH_FILTERS_PER_GROUP_MAX,
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
)
from revstack.sandbox.fakes.hubspot.store import Found
from revstack.sandbox.fakes.hubspot.values import parse_datetime_ms

Props = dict[str, str]
Predicate = Callable[[Props], bool]

#: Properties the free-text ``query`` looks at, per object type.
QUERY_PROPERTIES = {
    "contacts": (
        "firstname",
        "lastname",
        "email",
        "phone",
        "mobilephone",
        "company",
        "hs_additional_emails",
    ),
    "companies": ("name", "domain", "website", "phone"),
    "deals": ("dealname", "pipeline", "dealstage", "dealtype", "description"),
}
_TOKEN = re.compile(r"[^0-9a-z]+")


class Typed:
    """Compares property values the way their type says (numbers, times, text)."""

    def __init__(self, kind_type: str) -> None:
        self.kind_type = kind_type

    def convert(self, value: str) -> Any:
        if self.kind_type == "number":
            return float(value)
        if self.kind_type in ("datetime", "date"):
            ms = parse_datetime_ms(value)
            if ms is None:
                raise ValueError(value)
            return ms
        return value.lower()

    def given(self, value: Any, name: str) -> Any:
        """A filter's value; a 400 when it does not fit the property's type."""
        try:
            return self.convert(str(value))
        except (TypeError, ValueError):
            raise bad_request(
                f"{value!r} is not a valid {self.kind_type} value for {name}"
            ) from None

    def stored(self, value: str | None) -> Any:
        if value is None or value == "":
            return None
        try:
            return self.convert(value)
        except ValueError:
            return None


def _filter(registry: PropertyRegistry, kind: str, spec: Any) -> Predicate:
    if not isinstance(spec, dict) or not isinstance(spec.get("propertyName"), str):
        raise bad_request("every filter needs a propertyName and an operator")
    name = spec["propertyName"]
    operator = str(spec.get("operator", "EQ")).upper()
    typed = Typed(registry.type_of(kind, name))

    def value_of(props: Props) -> Any:
        return typed.stored(props.get(name))

    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        present = operator == "HAS_PROPERTY"
        return lambda props: bool(props.get(name)) == present
    if operator in ("IN", "NOT_IN"):
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise bad_request(f"{operator} needs a non-empty values list")
        wanted = {typed.given(v, name) for v in values}
        if operator == "IN":
            return lambda props: value_of(props) in wanted
        return lambda props: value_of(props) not in wanted
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(spec.get("value", "")).lower()
        contains = operator == "CONTAINS_TOKEN"

        def tokens(props: Props) -> bool:
            text = props.get(name, "").lower()
            if not text:
                return False
            if fnmatch.fnmatchcase(text, pattern):
                return True
            return any(fnmatch.fnmatchcase(token, pattern) for token in _TOKEN.split(text) if token)

        return lambda props: tokens(props) == contains
    if "value" not in spec:
        raise bad_request(f"{operator} on {name} needs a value")
    value = typed.given(spec["value"], name)
    if operator == "BETWEEN":
        if "highValue" not in spec:
            raise bad_request(f"BETWEEN on {name} needs a highValue")
        high = typed.given(spec["highValue"], name)
        return lambda props: (v := value_of(props)) is not None and value <= v <= high
    comparisons: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == value,
        "NEQ": lambda v: v != value,
        "LT": lambda v: v < value,
        "LTE": lambda v: v <= value,
        "GT": lambda v: v > value,
        "GTE": lambda v: v >= value,
    }
    test = comparisons.get(operator)
    if test is None:
        raise bad_request(f"Unknown filter operator {operator!r}")
    if operator == "NEQ":
        return lambda props: (v := value_of(props)) is None or test(v)
    return lambda props: (v := value_of(props)) is not None and test(v)


def compile_groups(registry: PropertyRegistry, kind: str, groups: Any) -> list[list[Predicate]]:
    if groups is None:
        return []
    if not isinstance(groups, list):
        raise bad_request("filterGroups must be a list")
    if len(groups) > SEARCH_FILTER_GROUPS_MAX:
        raise bad_request(
            f"Too many filter groups ({len(groups)}); the maximum is {SEARCH_FILTER_GROUPS_MAX}"
        )
    compiled = []
    total = 0
    for group in groups:
        filters = group.get("filters", []) if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise bad_request("every filter group needs a filters list")
        if len(filters) > SEARCH_FILTERS_PER_GROUP_MAX:
            raise bad_request(
                f"Too many filters in a group ({len(filters)}); the maximum is "
                f"{SEARCH_FILTERS_PER_GROUP_MAX}"
            )
        total += len(filters)
        compiled.append([_filter(registry, kind, spec) for spec in filters])
    if total > SEARCH_FILTERS_MAX:
        raise bad_request(f"Too many filters ({total}); the maximum is {SEARCH_FILTERS_MAX}")
    return compiled


def sort_spec(sorts: Any) -> tuple[str, bool] | None:
    """(property, descending) of the first sort: ``{"propertyName", "direction"}`` or a
    string ``"name"`` / ``"-name"``."""
    if not sorts:
        return None
    if not isinstance(sorts, list):
        raise bad_request("sorts must be a list")
    first = sorts[0]
    if isinstance(first, str):
        return (first[1:], True) if first.startswith("-") else (first, False)
    if isinstance(first, dict) and isinstance(first.get("propertyName"), str):
        direction = str(first.get("direction", "ASCENDING")).upper()
        return first["propertyName"], direction == "DESCENDING"
    raise bad_request("a sort is {propertyName, direction} or a property name")


def routes(fake: HubSpotFake) -> list[Route]:
    store, registry = fake.store, fake.registry

    async def search(request: Request) -> Response:
        kind = object_type(request)
        body = await json_body(request)
        groups = compile_groups(registry, kind, body.get("filterGroups"))
        sort = sort_spec(body.get("sorts"))
        query = str(body.get("query") or "").strip().lower()
        limit = bounded_int(body.get("limit"), "limit", SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX)
        after_raw = str(body.get("after") or "0")
        if not after_raw.isdigit():
            raise bad_request(f"after must be an offset from paging.next.after, got {after_raw!r}")
        after = int(after_raw)
        cap = fake.settings.search_result_cap
        if after >= cap:
            raise bad_request(
                f"Search results are limited to {cap}; after={after} pages past them. Narrow "
                "the query (for example by hs_object_id or a modification date range)."
            )
        properties = string_list(body.get("properties"), "properties")
        t, wall = store.now(), store.wall()
        matched: list[tuple[str, Version]] = []
        histories = store.histories[kind]
        for number in store.order[kind]:
            history = histories[str(number)]
            version = history.searchable_at(t, wall)
            if version is None or version.archived:
                continue
            props = version.props
            if groups and not any(all(test(props) for test in group) for group in groups):
                continue
            if query and not _query_matches(kind, props, query):
                continue
            matched.append((history.id, version))
        if sort is not None:
            name, descending = sort
            typed = Typed(registry.type_of(kind, name))
            present = [(typed.stored(v.props.get(name)), i, v) for i, v in matched]
            have = [row for row in present if row[0] is not None]
            have.sort(key=lambda row: row[0], reverse=descending)  # stable: ties by id
            missing = [(i, v) for value, i, v in present if value is None]
            matched = [(i, v) for _, i, v in have] + missing
        page = matched[after : min(after + limit, cap)]
        results = [
            fake.render.obj(kind, Found(histories[i], v), t, properties=properties) for i, v in page
        ]
        out: dict[str, Any] = {"total": len(matched), "results": results}
        if after + limit < len(matched):
            out["paging"] = {"next": {"after": str(after + limit)}}
        return json_response(out)

    return [fake.route("/crm/v3/objects/{object_type}/search", search, ["POST"])]


def _query_matches(kind: str, props: Props, query: str) -> bool:
    for name in QUERY_PROPERTIES[kind]:
        value = props.get(name, "").lower()
        if not value:
            continue
        if value.startswith(query) or any(t.startswith(query) for t in _TOKEN.split(value) if t):
            return True
    return False
