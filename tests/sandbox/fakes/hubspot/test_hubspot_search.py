"""CRM search through hubspot-api-client: filters, sorts, totals, the result cap, the index lag
and the search endpoints' own rate limit."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from revstack.sandbox.fakes.faults import FaultProfile, RateLimit

Refusal = Callable[..., tuple[int, dict[str, Any]]]
Factory = Callable[..., Any]
"""The `hubspot` fixture: starts a fake HubSpot (see conftest.py)."""


def live_deals(world_dir: Path, at_ms: int) -> dict[str, dict[str, str]]:
    latest: dict[str, tuple[int, bool, dict[str, str]]] = {}
    for row in pq.read_table(world_dir / "hubspot" / "deals.parquet").to_pylist():
        updated = int(row["updated_at"].timestamp() * 1000)
        if updated <= at_ms and (row["id"] not in latest or row["version"] > latest[row["id"]][0]):
            latest[row["id"]] = (row["version"], row["archived"], json.loads(row["properties"]))
    return {i: props for i, (_, archived, props) in latest.items() if not archived}


def search_all(api: Any, request: dict[str, Any]) -> tuple[int, list[Any]]:
    results, after, total = [], None, 0
    while True:
        page = api.do_search({**request, "after": after} if after else request)
        total = page.total
        results.extend(page.results)
        if page.paging is None:
            return total, results
        after = page.paging.next.after


def test_filters_sorts_and_total(hubspot: Factory, world_dir: Path) -> None:
    running = hubspot()
    deals = live_deals(world_dir, running.clock.now_ms())
    api = running.client().crm.deals.search_api
    request = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "dealstage", "operator": "EQ", "value": "closedwon"},
                    {"propertyName": "amount", "operator": "GTE", "value": "10000"},
                ]
            },
            {
                "filters": [
                    {
                        "propertyName": "dealstage",
                        "operator": "IN",
                        "values": ["qualifiedtobuy", "contractsent"],
                    }
                ]
            },
        ],
        "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}],
        "properties": ["amount", "dealstage"],
        "limit": 7,
    }
    total, results = search_all(api, request)
    expected = [
        i
        for i, p in deals.items()
        if (p["dealstage"] == "closedwon" and float(p["amount"]) >= 10000)
        or p["dealstage"] in ("qualifiedtobuy", "contractsent")
    ]
    assert total == len(expected) and len(expected) > 7
    assert sorted(r.id for r in results) == sorted(expected)
    amounts = [float(r.properties["amount"]) for r in results]
    assert amounts == sorted(amounts, reverse=True)
    assert set(results[0].properties) == {"amount", "dealstage"}


def test_datetime_ranges_tokens_and_missing_properties(hubspot: Factory, world_dir: Path) -> None:
    running = hubspot()
    now = running.clock.now_ms()
    deals = live_deals(world_dir, now)
    api = running.client().crm.deals.search_api
    since = now - 30 * 86_400_000
    total, recent = search_all(
        api,
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "BETWEEN",
                            "value": str(since),
                            "highValue": str(now),
                        }
                    ]
                }
            ],
            "sorts": ["hs_lastmodifieddate"],
            "limit": 100,
        },
    )
    from revstack.sandbox.fakes.hubspot.values import parse_datetime_ms

    expected = {
        i
        for i, p in deals.items()
        if since <= (parse_datetime_ms(p["hs_lastmodifieddate"]) or 0) <= now
    }
    assert {r.id for r in recent} == expected and total == len(expected)
    stamps = [r.properties["hs_lastmodifieddate"] for r in recent]
    assert stamps == sorted(stamps)
    _, lost = search_all(
        api,
        {
            "filterGroups": [
                {"filters": [{"propertyName": "closed_lost_reason", "operator": "HAS_PROPERTY"}]}
            ],
            "limit": 100,
        },
    )
    assert {r.id for r in lost} == {i for i, p in deals.items() if p.get("closed_lost_reason")}
    _, tokens = search_all(
        api,
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "dealname",
                            "operator": "CONTAINS_TOKEN",
                            "value": "upsell",
                        }
                    ]
                }
            ],
            "limit": 100,
        },
    )
    assert {r.id for r in tokens} == {i for i, p in deals.items() if "Upsell" in p["dealname"]}


def test_paging_stops_at_the_result_cap(hubspot: Factory, refused: Refusal) -> None:
    running = hubspot()
    assert running.settings(search_result_cap=25)["search_result_cap"] == 25
    api = running.client().crm.contacts.search_api
    first = api.do_search({"limit": 20})
    assert first.total > 25 and first.paging.next.after == "20"
    second = api.do_search({"limit": 20, "after": first.paging.next.after})
    assert len(second.results) == 5  # only up to the cap
    status, body = refused(api.do_search, {"limit": 20, "after": second.paging.next.after})
    assert status == 400 and body["category"] == "VALIDATION_ERROR"
    status, _ = refused(api.do_search, {"limit": 201})
    assert status == 400


def test_api_writes_become_searchable_after_the_index_lag(hubspot: Factory) -> None:
    running = hubspot(search_index_lag_s=1.0)
    client = running.client()
    email = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "email", "operator": "EQ", "value": "lagging@example.com"}
                ]
            }
        ]
    }
    created = client.crm.contacts.basic_api.create({"properties": {"email": "lagging@example.com"}})
    assert client.crm.contacts.search_api.do_search(email).total == 0
    assert client.crm.contacts.basic_api.get_by_id(created.id).id == created.id  # reads see it
    time.sleep(1.1)
    assert client.crm.contacts.search_api.do_search(email).total == 1
    client.crm.contacts.basic_api.archive(created.id)
    assert client.crm.contacts.search_api.do_search(email).total == 1  # archive lags too
    time.sleep(1.1)
    assert client.crm.contacts.search_api.do_search(email).total == 0  # archived: not searchable


def test_search_has_its_own_rate_limit(hubspot: Factory) -> None:
    search_limit = RateLimit(name="SECONDLY", requests=5, per_seconds=1, path_pattern=".*/search")
    running = hubspot(profile=FaultProfile(rate_limits=(search_limit,)))
    client = running.client()
    outcomes = []
    for _ in range(8):
        try:
            client.crm.companies.search_api.do_search({"limit": 1})
            outcomes.append(200)
        except Exception as exc:
            outcomes.append(exc.status)  # type: ignore[attr-defined]
            body = json.loads(exc.body)  # type: ignore[attr-defined]
            assert body["policyName"] == "SECONDLY" and body["errorType"] == "RATE_LIMIT"
    assert outcomes == [200] * 5 + [429] * 3
    assert len(client.crm.companies.basic_api.get_page(limit=1).results) == 1  # other paths
