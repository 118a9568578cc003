"""The CRM simulation: determinism, internal consistency, coherence with the customer story,
schema drift, quarter-end bursts and the rates of merges, archives and deletes."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from revstack.sandbox.world import crm, hubspot_records, salesforce_records
from revstack.sandbox.world.catalog import PRICE_BY_KEY
from revstack.sandbox.world.clock import DAY, HOUR, add_months, iso_ms, to_ts
from revstack.sandbox.world.ids import hubspot_id, sf_record_id, workspace_id
from revstack.sandbox.world.names import company_for, person_at
from revstack.sandbox.world.story import (
    OWNER_COUNT,
    CustomerStory,
    FieldChange,
    PlanSpan,
    TierChange,
    Window,
    WorkspaceStory,
)
from revstack.sandbox.world.stripe_catalog import StripeCatalog
from revstack.sandbox.world.tables import Sink

# --- hand-built stories (the billing simulation's stand-in) ----------------------------------

SEED = 7
WINDOW = Window(to_ts(dt.date(2025, 5, 1)), to_ts(dt.date(2026, 11, 1)))
_CATALOG = StripeCatalog(SEED, WINDOW)
_UPGRADE = {"starter": "pro", "pro": "enterprise", "enterprise": "enterprise"}


def _monthly_mrr(tier: str, interval: str, currency: str, seats: int) -> int:
    price = PRICE_BY_KEY[f"{tier}_{interval}_{currency}"]
    per_month = price.unit_amount // 12 if interval == "year" else price.unit_amount
    return per_month * seats


def make_story(
    entity_index: int,
    window: Window = WINDOW,
    *,
    channel: str | None = None,
    yearly: bool | None = None,
) -> CustomerStory:
    """A customer whose life is drawn from `entity_index` alone."""
    rng = random.Random(entity_index * 7_919 + 17)
    currency = rng.choice(("usd", "usd", "eur", "jpy"))
    company = company_for(entity_index, rng, currency)
    contact = person_at(rng, company)
    channel = channel or ("sales_led" if rng.random() < 0.4 else "self_serve")
    created = rng.randrange(window.start + DAY, window.end - 10 * DAY)
    if channel == "sales_led":
        intent = created - rng.randrange(14 * DAY, 120 * DAY)
    else:
        intent = created - (rng.randrange(0, 10 * DAY) if rng.random() < 0.7 else 0)
    billing_email = rng.choice(
        (contact.email, contact.email, f"billing@{company.domain}", "ap.team@gmail.com")
    )
    story = CustomerStory(
        entity_index=entity_index,
        customer_id=f"cus_test{entity_index:08d}",
        created=created,
        currency=currency,
        channel=channel,
        company=company,
        billing_contact=contact,
        billing_email=billing_email,
        owner_index=rng.randrange(OWNER_COUNT),
        signup_intent_at=intent,
    )
    mrr_by_ws: list[list[tuple[int, int]]] = []
    for ordinal in range(rng.choice((1, 1, 1, 2, 3))):
        ws_created = created + (
            rng.randrange(60, HOUR) if ordinal == 0 else rng.randrange(DAY, 200 * DAY)
        )
        if ws_created >= window.end:
            continue
        ws = WorkspaceStory(
            workspace_id(entity_index, ordinal), story.customer_id, entity_index, ws_created
        )
        is_yearly = yearly if yearly is not None else rng.random() < 0.35
        interval = "year" if is_yearly else "month"
        tier = rng.choice(("starter", "pro", "pro", "enterprise"))
        seats = rng.randrange(2, 40)
        changes: list[tuple[int, str, str, int]] = [(ws_created, "new", tier, seats)]
        t = ws_created
        while rng.random() < 0.5:
            t += rng.randrange(20 * DAY, 200 * DAY)
            if t >= window.end:
                break
            kind = rng.choice(("upgrade", "seats_up", "seats_up", "seats_down", "churn"))
            if kind == "churn":
                changes.append((t, "churn", "free", 0))
                if rng.random() < 0.3:
                    t += rng.randrange(10 * DAY, 90 * DAY)
                    if t < window.end:
                        changes.append((t, "reactivation", tier, seats))
                        continue
                break
            if kind == "upgrade":
                tier = _UPGRADE[tier]
            elif kind == "seats_up":
                seats += rng.randrange(1, 10)
            else:
                seats = max(1, seats - rng.randrange(1, 5))
            changes.append((t, kind, tier, seats))
        prev_tier, prev_seats, prev_mrr = "free", 0, 0
        history: list[tuple[int, int]] = []
        for index, (ts, kind, new_tier, new_seats) in enumerate(changes):
            end = changes[index + 1][0] if index + 1 < len(changes) else window.end
            if new_tier == "free":
                mrr, span = 0, PlanSpan(ts, end, "free", None, None, "none", 0, 0)
            else:
                mrr = _monthly_mrr(new_tier, interval, currency, new_seats)
                key = f"{new_tier}_{interval}_{currency}"
                product_id = _CATALOG.products[new_tier].id
                price_id = _CATALOG.prices[key].id
                span = PlanSpan(ts, end, new_tier, product_id, price_id, "active", new_seats, mrr)
            ws.spans.append(span)
            story.tier_changes.append(
                TierChange(
                    ts,
                    ws.workspace_id,
                    kind,
                    prev_tier,
                    new_tier,
                    prev_seats,
                    new_seats,
                    prev_mrr,
                    mrr,
                )
            )
            history.append((ts, mrr))
            prev_tier, prev_seats, prev_mrr = new_tier, new_seats, mrr
        if is_yearly and ws.spans[-1].tier != "free":
            # Renew yearly subscriptions on their anniversaries (same terms).
            last = ws.spans[-1]
            anniversary = add_months(ws.spans[0].start, 12)
            if last.start < anniversary < last.end:
                ws.spans[-1] = replace(last, end=anniversary)
                ws.spans.append(replace(last, start=anniversary))
        story.workspaces.append(ws)
        mrr_by_ws.append(history)
    story.tier_changes.sort(key=lambda c: c.ts)
    story.mrr_changes = _customer_mrr(mrr_by_ws)
    for field in rng.sample(("email", "phone", "name"), rng.choice((0, 0, 1, 2))):
        ts = rng.randrange(created + HOUR, window.end + 30 * DAY)
        new = {
            "email": f"finance@{company.domain}",
            "phone": "+1 555 010 0199",
            "name": f"{contact.first_name} {contact.last_name}-Novak",
        }[field]
        story.stripe_changes.append(FieldChange(ts, field, "", new))
    story.stripe_changes.sort(key=lambda c: c.ts)
    return story


def _customer_mrr(per_workspace: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    moments = sorted({ts for history in per_workspace for ts, _ in history})
    result = []
    for ts in moments:
        total = 0
        for history in per_workspace:
            current = 0
            for when, mrr in history:
                if when <= ts:
                    current = mrr
            total += current
        if not result or result[-1][1] != total:
            result.append((ts, total))
    return result


# --- the world under test -------------------------------------------------------------------

CUSTOMERS = 600
PROSPECTS = 400
END_MS = WINDOW.end * 1000
HS_OBJECTS = ("companies", "contacts", "deals")
SF_ENTITY_OBJECTS = (
    "Account",
    "Contact",
    "Opportunity",
    "OpportunityLineItem",
    "OpportunityHistory",
    "Contract_Terms__c",
)
SF_SYSTEM = {"LastModifiedDate", "LastModifiedById", "SystemModstamp", "ExpectedRevenue"}


def _ms(value: Any) -> int:
    """A timestamp column value (datetime) as Unix ms."""
    return int(value.timestamp() * 1000)


@dataclass
class World:
    stories: list[CustomerStory]
    tables: dict[str, pa.Table]
    rows: dict[str, list[dict[str, Any]]]
    """Rows with `properties`/`fields`/`changed` parsed and timestamps as Unix ms."""

    def versions(self, path: str, key: str = "id") -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.rows[path]:
            grouped[row[key]].append(row)
        return grouped


def _simulate(
    customers: list[CustomerStory],
    prospects: list[int],
    seed: int = SEED,
    window: Window = WINDOW,
) -> dict[str, pa.Table]:
    sink = Sink()
    crm.simulate_crm_static(window, seed, sink)
    for story in customers:
        crm.simulate_customer_crm(story, window, seed, sink)
    for index in prospects:
        crm.simulate_prospect_crm(index, window, seed, sink)
    return {table.path: sink.drain(table) for table in crm.TABLES}


def _parse(tables: dict[str, pa.Table]) -> dict[str, list[dict[str, Any]]]:
    parsed = {}
    for path, table in tables.items():
        rows = table.to_pylist()
        for row in rows:
            for name in ("properties", "fields", "changed", "teams"):
                if name in row:
                    row[name] = orjson.loads(row[name])
            for name in ("updated_at", "created_at", "removed_at", "system_modstamp"):
                if row.get(name) is not None:
                    row[name] = _ms(row[name])
        parsed[path] = rows
    return parsed


@pytest.fixture(scope="module")
def world() -> World:
    stories = [make_story(i) for i in range(CUSTOMERS)]
    tables = _simulate(stories, list(range(CUSTOMERS, CUSTOMERS + PROSPECTS)))
    return World(stories, tables, _parse(tables))


# --- determinism -----------------------------------------------------------------------------


def test_same_inputs_give_identical_rows_in_any_order() -> None:
    stories = [make_story(i) for i in range(40)]
    prospects = list(range(40, 80))
    first = _simulate(stories, prospects)
    again = _simulate(stories, prospects)
    backwards = _simulate(stories[::-1], prospects[::-1])
    for path in first:
        assert first[path].equals(again[path]), path
        assert first[path].equals(backwards[path]), path
    other_seed = _simulate(stories, prospects, seed=SEED + 1)
    assert not first["hubspot/contacts"].equals(other_seed["hubspot/contacts"])


def test_rows_match_the_table_schemas(world: World) -> None:
    for table in crm.TABLES:
        assert world.tables[table.path].schema.equals(table.schema), table.path
        assert world.tables[table.path].num_rows > 0, table.path


# --- internal consistency --------------------------------------------------------------------


def test_hubspot_versions_are_contiguous_and_strictly_increasing(world: World) -> None:
    for obj in HS_OBJECTS:
        for record_id, versions in world.versions(f"hubspot/{obj}").items():
            assert [v["version"] for v in versions] == list(range(1, len(versions) + 1))
            times = [v["updated_at"] for v in versions]
            assert all(a < b for a, b in pairwise(times)), record_id
            assert {v["created_at"] for v in versions} == {times[0]}
            assert len({v["entity_index"] for v in versions}) == 1


def test_salesforce_versions_are_contiguous_increasing_whole_seconds(world: World) -> None:
    for obj in SF_ENTITY_OBJECTS:
        for record_id, versions in world.versions(f"salesforce/{obj}", "Id").items():
            assert [v["version"] for v in versions] == list(range(1, len(versions) + 1))
            times = [v["system_modstamp"] for v in versions]
            assert all(a < b for a, b in pairwise(times)), record_id
            assert all(t % 1000 == 0 for t in times)
            assert all(v["fields"]["Id"] == record_id for v in versions)
            assert len({v["entity_index"] for v in versions}) == 1


def test_hubspot_system_properties_follow_the_version(world: World) -> None:
    modified = {
        "companies": "hs_lastmodifieddate",
        "contacts": "lastmodifieddate",
        "deals": "hs_lastmodifieddate",
    }
    for obj in HS_OBJECTS:
        for row in world.rows[f"hubspot/{obj}"]:
            props = row["properties"]
            assert props[modified[obj]] == iso_ms(row["updated_at"])
            assert props["createdate"] == iso_ms(row["created_at"])
            assert props["hs_object_id"] == row["id"]
            assert all(isinstance(value, str) for value in props.values())


def test_changed_lists_exactly_the_properties_that_changed(world: World) -> None:
    ignore = {"hs_lastmodifieddate", "lastmodifieddate"}
    for obj in HS_OBJECTS:
        for versions in world.versions(f"hubspot/{obj}").values():
            assert set(versions[0]["changed"]) == set(versions[0]["properties"]) - ignore
            for before, after in pairwise(versions):
                old, new = before["properties"], after["properties"]
                really = {k for k in set(old) | set(new) if old.get(k) != new.get(k)} - ignore
                assert set(after["changed"]) == really, (after["id"], after["version"])
                if not after["changed"]:
                    # Only archive, restore and merge versions change nothing.
                    assert after["archived"] != before["archived"]


def test_ids_belong_to_one_entity_and_never_collide(world: World) -> None:
    owner: dict[str, int] = {}
    for path, rows in world.rows.items():
        key = "Id" if path.startswith("salesforce/") else "id"
        if path in ("hubspot/associations", "truth/identity"):
            continue
        for row in rows:
            record_id = row[key]
            entity = row.get("entity_index")
            assert owner.setdefault(record_id, entity) == entity, (path, record_id)
    history = world.versions("salesforce/OpportunityHistory", "Id")
    assert all(len(versions) == 1 for versions in history.values())


def test_associations_point_to_live_existing_records(world: World) -> None:
    created: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for obj in HS_OBJECTS:
        for row in world.rows[f"hubspot/{obj}"]:
            created[row["id"]] = row["created_at"]
            kinds[row["id"]] = obj
    types = {
        ("contacts", "companies"): 1,
        ("companies", "contacts"): 2,
        ("deals", "contacts"): 3,
        ("contacts", "deals"): 4,
        ("deals", "companies"): 5,
        ("companies", "deals"): 6,
    }
    open_pairs = set()
    ever = set()
    for row in world.rows["hubspot/associations"]:
        ever.add((row["from_id"], row["to_id"]))
        assert kinds[row["from_id"]] == row["from_type"]
        assert kinds[row["to_id"]] == row["to_type"]
        assert row["association_type_id"] == types[(row["from_type"], row["to_type"])]
        assert row["created_at"] >= max(created[row["from_id"]], created[row["to_id"]])
        assert row["removed_at"] is None or row["removed_at"] >= row["created_at"]
        if row["removed_at"] is None:
            open_pairs.add((row["from_id"], row["to_id"]))
    assert all((b, a) in open_pairs for a, b in open_pairs)
    contacts = world.versions("hubspot/contacts")
    deals = world.versions("hubspot/deals")
    for a, b in open_pairs:
        for record_id in (a, b):
            last = (contacts.get(record_id) or deals.get(record_id) or [None])[-1]
            if last is not None:
                assert not last["archived"], record_id
    # Every deal was associated with its company when created.
    deals_with_company = {a for a, b in ever if kinds[a] == "deals" and kinds[b] == "companies"}
    assert deals_with_company == set(deals)
    companies = world.versions("hubspot/companies")
    for _, b in open_pairs:
        if kinds[b] == "companies":
            assert not companies[b][-1]["archived"]


def test_archived_or_merged_records_take_no_further_edits(world: World) -> None:
    for obj in HS_OBJECTS:
        for versions in world.versions(f"hubspot/{obj}").values():
            for before, after in pairwise(versions):
                assert before["merged_into"] is None
                if before["archived"]:
                    assert not after["archived"] and after["changed"] == []  # a restore
    for obj in SF_ENTITY_OBJECTS:
        for versions in world.versions(f"salesforce/{obj}", "Id").values():
            for before, after in pairwise(versions):
                assert before["op"] != "purge"
                if before["op"] == "delete":
                    allowed = (
                        {"purge"}
                        if before["fields"].get("MasterRecordId")
                        else {"undelete", "purge"}
                    )
                    assert after["op"] in allowed, (after["Id"], after["version"])


def test_salesforce_children_follow_their_parents(world: World) -> None:
    """Children are created after their parent exists and point at live records then."""
    first_seen: dict[str, int] = {}
    for obj in SF_ENTITY_OBJECTS:
        for versions in world.versions(f"salesforce/{obj}", "Id").values():
            first_seen[versions[0]["Id"]] = versions[0]["system_modstamp"]
    for obj, field in (
        ("Contact", "AccountId"),
        ("Opportunity", "AccountId"),
        ("OpportunityLineItem", "OpportunityId"),
        ("Contract_Terms__c", "Opportunity__c"),
    ):
        for versions in world.versions(f"salesforce/{obj}", "Id").values():
            parent = versions[0]["fields"][field]
            assert parent in first_seen, (obj, parent)
            assert first_seen[parent] <= versions[0]["system_modstamp"]


def test_opportunity_history_matches_opportunity_versions(world: World) -> None:
    history = defaultdict(list)
    for row in world.rows["salesforce/OpportunityHistory"]:
        history[row["fields"]["OpportunityId"]].append(row)
    opportunities = world.versions("salesforce/Opportunity", "Id")
    assert set(history) == set(opportunities)
    for opportunity_id, versions in opportunities.items():
        expected = []
        previous = None
        for version in versions:
            if version["op"] != "upsert":
                continue
            f = version["fields"]
            state = (f["StageName"], f["Amount"], f["CloseDate"])
            if state != previous:
                expected.append((version["system_modstamp"], *state, f["Probability"]))
                previous = state
        rows = sorted(history[opportunity_id], key=lambda r: r["system_modstamp"])
        got = [
            (
                r["system_modstamp"],
                r["fields"]["StageName"],
                r["fields"]["Amount"],
                r["fields"]["CloseDate"],
                r["fields"]["Probability"],
            )
            for r in rows
        ]
        assert got == expected, opportunity_id


def test_nothing_happens_at_or_after_the_world_end(world: World) -> None:
    for path, rows in world.rows.items():
        for row in rows:
            for name in ("updated_at", "created_at", "removed_at", "system_modstamp"):
                if row.get(name) is not None:
                    assert row[name] < END_MS, (path, name)


# --- coherence with the story ----------------------------------------------------------------


def test_sales_led_deals_close_won_exactly_at_sign_up(world: World) -> None:
    deals = world.versions("hubspot/deals")
    opportunities = world.versions("salesforce/Opportunity", "Id")
    sales_led = [s for s in world.stories if s.channel == "sales_led"]
    assert len(sales_led) > 100
    for story in sales_led:
        created = story.created * 1000
        deal = deals[hubspot_id("deals", story.entity_index, 0)]
        won = next(v for v in deal if v["properties"]["dealstage"] == "closedwon")
        assert won["updated_at"] == created
        assert won["properties"]["closedate"] == iso_ms(created)
        assert won["properties"]["hs_date_entered_closedwon"] == iso_ms(created)
        assert won["properties"]["hs_is_closed_won"] == "true"
        assert all(v["updated_at"] < created for v in deal[: deal.index(won)])
        opportunity = opportunities[sf_record_id("Opportunity", story.entity_index, 0)]
        closed = next(v for v in opportunity if v["fields"]["StageName"] == "Closed Won")
        assert closed["system_modstamp"] == created
        assert closed["fields"]["CloseDate"] == iso_ms(created)[:10]
        assert closed["fields"]["IsWon"] is True


def test_upsells_and_renewals_become_won_opportunities(world: World) -> None:
    opportunities = world.versions("salesforce/Opportunity", "Id")
    by_entity: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for versions in opportunities.values():
        by_entity[versions[-1]["entity_index"]].append(versions[-1]["fields"])
    renewals = upsells = 0
    for story in world.stories:
        if story.channel != "sales_led":
            continue
        expected = {
            c.ts * 1000
            for c in story.tier_changes
            if c.kind in ("upgrade", "seats_up") and c.ts > story.created
        }
        won_upsells = {
            o["CloseDate"]
            for o in by_entity[story.entity_index]
            if o["Type"] == "Existing Business" and o["IsWon"]
        }
        assert won_upsells == {iso_ms(t)[:10] for t in expected}
        upsells += len(won_upsells)
        renewals += sum(1 for o in by_entity[story.entity_index] if o["Type"] == "Renewal")
    assert upsells > 20 and renewals > 5
    contracts = {
        row["fields"]["Opportunity__c"]: row["fields"]
        for row in world.rows["salesforce/Contract_Terms__c"]
    }
    won = [v[-1]["fields"] for v in opportunities.values() if v[-1]["fields"]["IsWon"]]
    assert {o["Id"] for o in won} == set(contracts)
    yearly_price_ids = {p.id for p in _CATALOG.prices.values() if p.spec.interval == "year"}
    for story in world.stories:
        if story.channel != "sales_led":
            continue
        first_price = min(
            (s for ws in story.workspaces for s in ws.spans if s.price_id),
            key=lambda s: s.start,
        ).price_id
        terms = contracts[sf_record_id("Opportunity", story.entity_index, 0)]
        expected = "Annual" if first_price in yearly_price_ids else "Monthly"
        assert terms["Billing_Frequency__c"] == expected
        assert terms["Start_Date__c"] == iso_ms(story.created * 1000)[:10]
    for opportunity in won:
        if opportunity["Type"] == "Renewal":
            terms = contracts[opportunity["Id"]]
            assert (terms["Billing_Frequency__c"], terms["Term_Months__c"]) == ("Annual", 12)
    assert all(
        not versions[-1]["fields"]["IsWon"]
        for versions in opportunities.values()
        if versions[-1]["entity_index"] >= CUSTOMERS
    )


def test_customer_records_start_at_the_first_touch(world: World) -> None:
    companies = world.versions("hubspot/companies")
    contacts = world.versions("hubspot/contacts")
    for story in world.stories:
        company = companies[hubspot_id("companies", story.entity_index, 0)]
        first_touch = story.signup_intent_at * 1000
        if story.channel == "sales_led":
            first_touch = min(first_touch, story.created * 1000 - 60_000)
        assert company[0]["created_at"] == first_touch
        billing = contacts[hubspot_id("contacts", story.entity_index, 0)][0]["properties"]
        assert billing["email"] == story.billing_contact.email
        stages = [v["properties"]["lifecyclestage"] for v in company]
        assert stages[0] == "lead"
        if story.channel == "sales_led":
            assert "customer" in stages
    self_serve = {s.entity_index for s in world.stories if s.channel == "self_serve"}
    assert not any(
        v[0]["entity_index"] in self_serve for v in world.versions("hubspot/deals").values()
    )


def test_churned_customers_become_other(world: World) -> None:
    companies = world.versions("hubspot/companies")
    churned = 0
    for story in world.stories:
        mrr = [m for _, m in story.mrr_changes]
        stages = [
            v["properties"]["lifecyclestage"]
            for v in companies[hubspot_id("companies", story.entity_index, 0)]
        ]
        if mrr and mrr[-1] == 0 and any(m > 0 for m in mrr):
            last_change = story.mrr_changes[-1][0] * 1000
            if last_change < END_MS - 15 * DAY * 1000:
                churned += 1
                assert stages[-1] == "other", story.entity_index
        if "other" in stages:
            assert 0 in mrr
    assert churned > 10


def test_workspace_mapping_is_late_with_the_promised_lags(world: World) -> None:
    companies = world.versions("hubspot/companies")
    lags = []
    for story in world.stories:
        versions = companies[hubspot_id("companies", story.entity_index, 0)]
        for ws in story.workspaces:
            seen = [
                v["updated_at"]
                for v in versions
                if ws.workspace_id in v["properties"].get("workspace_ids", "").split(";")
            ]
            if seen:
                lags.append((seen[0] - ws.created * 1000) / 86_400_000)
            else:
                assert ws.created * 1000 > END_MS - 31 * DAY * 1000
    assert len(lags) > 500
    hours = sum(1 for lag in lags if lag < 1) / len(lags)
    days = sum(1 for lag in lags if 1 <= lag <= 7) / len(lags)
    weeks = sum(1 for lag in lags if lag > 7) / len(lags)
    assert 0.6 < hours < 0.8
    assert 0.18 < days < 0.32
    assert 0.02 < weeks < 0.09
    assert min(lags) >= 0.25 / 24
    assert sorted(lags)[int(len(lags) * 0.99)] <= 30


def test_stripe_contact_changes_are_mirrored_some_of_the_time(world: World) -> None:
    contacts = world.versions("hubspot/contacts")
    mirrored = total = 0
    fields = {"email": ("email",), "phone": ("phone",), "name": ("firstname", "lastname")}
    for story in world.stories:
        versions = [
            v
            for v in contacts[hubspot_id("contacts", story.entity_index, 0)]
            if not v["merged_into"]
        ]
        for change in story.stripe_changes:
            if change.ts * 1000 + 10 * DAY * 1000 >= END_MS:
                continue
            total += 1
            for version in versions:
                if version["updated_at"] < change.ts * 1000:
                    continue
                props = version["properties"]
                if change.field == "name":
                    value = f"{props['firstname']} {props['lastname']}"
                else:
                    value = props[change.field]
                if value == change.new and set(version["changed"]) & set(fields[change.field]):
                    lag = version["updated_at"] - change.ts * 1000
                    assert 0 <= lag <= 10 * DAY * 1000 + 1000
                    assert version["change_source"] == "CRM_UI"
                    mirrored += 1
                    break
    assert total > 100
    assert 0.35 < mirrored / total < 0.65


def test_independent_contact_edits_use_the_documented_sources(world: World) -> None:
    sources = defaultdict(int)
    for row in world.rows["hubspot/contacts"]:
        if row["version"] > 1 and row["changed"] and set(row["changed"]) <= {"phone", "jobtitle"}:
            sources[row["change_source"]] += 1
    assert set(sources) == {"CRM_UI", "IMPORT", "API", "INTEGRATION"}


def test_identity_truth_points_at_surviving_records(world: World) -> None:
    contacts = world.versions("hubspot/contacts")
    companies = world.versions("hubspot/companies")
    accounts = world.versions("salesforce/Account", "Id")
    sf_contacts = world.versions("salesforce/Contact", "Id")
    truth = {row["customer_id"]: row for row in world.rows["truth/identity"]}
    assert len(truth) == len(world.stories)
    for story in world.stories:
        row = truth[story.customer_id]
        assert row["hubspot_company_id"] in companies
        contact = hubspot_id("contacts", story.entity_index, 0)
        while contacts[contact][-1]["merged_into"]:
            contact = contacts[contact][-1]["merged_into"]
        assert row["hubspot_contact_id"] == contact
        domain = story.billing_email.rpartition("@")[2]
        assert row["billing_email_domain_matches"] == (domain == story.company.domain)
        if story.channel == "sales_led":
            account = sf_record_id("Account", story.entity_index, 0)
            while accounts[account][-1]["fields"]["MasterRecordId"]:
                account = accounts[account][-1]["fields"]["MasterRecordId"]
            assert row["salesforce_account_id"] == account
            final = accounts[account][-1]["fields"]
            assert not final["IsDeleted"]
            if story.created * 1000 < END_MS - 2 * DAY * 1000:
                assert final["Type"] in ("Customer - Direct", "Former Customer"), account
            sf_contact = sf_record_id("Contact", story.entity_index, 0)
            while sf_contacts[sf_contact][-1]["fields"]["MasterRecordId"]:
                sf_contact = sf_contacts[sf_contact][-1]["fields"]["MasterRecordId"]
            assert row["salesforce_contact_id"] == sf_contact
        else:
            assert row["salesforce_account_id"] is None
    assert 0 < sum(r["billing_email_domain_matches"] for r in truth.values()) < len(truth)


# --- schema drift --------------------------------------------------------------------------


def test_schema_drift_is_in_the_metadata_and_the_versions(world: World, tmp_path: Path) -> None:
    crm.write_crm_metadata(tmp_path, WINDOW)
    schema = orjson.loads((tmp_path / "salesforce" / "schema.json").read_bytes())
    (rename,) = schema["renames"]
    (addition,) = schema["additions"]
    assert (rename["object"], rename["old"], rename["new"]) == (
        "Account",
        "Segment__c",
        "Customer_Segment__c",
    )
    assert (addition["object"], addition["field"]) == ("Opportunity", "Forecast_Notes__c")
    rename_at = dt.datetime.fromisoformat(rename["at"])
    addition_at = dt.datetime.fromisoformat(addition["at"])
    span = WINDOW.end - WINDOW.start
    assert rename_at.time() == dt.time(0) and addition_at.time() == dt.time(0)
    assert abs(rename_at.timestamp() - (WINDOW.start + 0.55 * span)) <= DAY
    assert abs(addition_at.timestamp() - (WINDOW.start + 0.70 * span)) <= DAY
    for row in world.rows["salesforce/Account"]:
        assert "Segment__c" in row["fields"] and "Customer_Segment__c" not in row["fields"]
    addition_ms = int(addition_at.timestamp() * 1000)
    before = after = 0
    for row in world.rows["salesforce/Opportunity"]:
        has = "Forecast_Notes__c" in row["fields"]
        if row["system_modstamp"] < addition_ms:
            assert not has
            before += 1
        else:
            assert has
            after += 1
    assert before > 100 and after > 100
    notes = [
        r for r in world.rows["salesforce/Opportunity"] if r["fields"].get("Forecast_Notes__c")
    ]
    assert notes


def test_described_fields_cover_every_stored_field(world: World, tmp_path: Path) -> None:
    crm.write_crm_metadata(tmp_path, WINDOW)
    schema = orjson.loads((tmp_path / "salesforce" / "schema.json").read_bytes())
    for name, described in schema["objects"].items():
        names = {f["name"] for f in described["fields"]}
        stored = set()
        for row in world.rows[f"salesforce/{name}"]:
            stored |= set(row["fields"])
        assert stored == names, (name, stored ^ names)
    pipelines = orjson.loads((tmp_path / "hubspot" / "pipelines.json").read_bytes())
    (pipeline,) = pipelines["results"]
    stage_ids = [s["id"] for s in pipeline["stages"]]
    assert stage_ids[-2:] == ["closedwon", "closedlost"]
    used = {r["properties"]["dealstage"] for r in world.rows["hubspot/deals"]}
    assert used == set(stage_ids)
    assert all(s["metadata"]["isClosed"] in ("true", "false") for s in pipeline["stages"])


def test_static_records_cover_what_entities_reference(world: World) -> None:
    owners = {row["id"] for row in world.rows["hubspot/owners"]}
    assert len(owners) == OWNER_COUNT
    for obj in HS_OBJECTS:
        assert {r["properties"]["hubspot_owner_id"] for r in world.rows[f"hubspot/{obj}"]} <= owners
    users = {row["Id"] for row in world.rows["salesforce/User"]}
    assert len(users) == OWNER_COUNT + 1
    entries = {row["Id"] for row in world.rows["salesforce/PricebookEntry"]}
    products = {row["Id"] for row in world.rows["salesforce/Product2"]}
    for row in world.rows["salesforce/OpportunityLineItem"]:
        assert row["fields"]["PricebookEntryId"] in entries
        assert row["fields"]["Product2Id"] in products
    for obj in SF_ENTITY_OBJECTS:
        for row in world.rows[f"salesforce/{obj}"]:
            fields = row["fields"]
            for name in ("OwnerId", "CreatedById", "LastModifiedById"):
                assert fields.get(name, next(iter(users))) in users


# --- bursts and rates ----------------------------------------------------------------------


def _quarter_end_windows(start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    """[start, end) in ms of the last 7 days of every calendar quarter in the years touched."""
    first_year = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).year
    last_year = dt.datetime.fromtimestamp(end_ms / 1000, dt.UTC).year
    windows = []
    for year in range(first_year, last_year + 1):
        for next_month in (4, 7, 10, 13):
            quarter_end = dt.datetime(
                year + next_month // 13, (next_month - 1) % 12 + 1, 1, tzinfo=dt.UTC
            )
            end = int(quarter_end.timestamp() * 1000)
            windows.append((end - 7 * 86_400_000, end))
    return windows


def _burst_ratio(intervals: list[tuple[int, int]], updates: list[int]) -> float:
    windows = _quarter_end_windows(min(a for a, _ in intervals), END_MS)
    burst_exposure = quiet_exposure = 0
    for a, b in intervals:
        inside = sum(max(0, min(b, high) - max(a, low)) for low, high in windows)
        burst_exposure += inside
        quiet_exposure += (b - a) - inside
    burst = sum(1 for t in updates if any(low <= t < high for low, high in windows))
    quiet = len(updates) - burst
    assert burst > 50 and quiet > 50
    return (burst / burst_exposure) / (quiet / quiet_exposure)


def test_open_deals_are_updated_ten_times_as_often_at_quarter_end(world: World) -> None:
    burst_fields = {"amount", "closedate", "hs_next_step"}
    intervals, updates = [], []
    for versions in world.versions("hubspot/deals").values():
        closed = next(
            (v["updated_at"] for v in versions if v["properties"]["hs_is_closed"] == "true"), END_MS
        )
        intervals.append((versions[0]["created_at"], closed))
        updates += [
            v["updated_at"]
            for v in versions[1:]
            if v["changed"] and set(v["changed"]) <= burst_fields
        ]
    assert _burst_ratio(intervals, updates) >= 5


def test_open_opportunities_are_updated_ten_times_as_often_at_quarter_end(world: World) -> None:
    burst_fields = {"Amount", "CloseDate", "NextStep", "Forecast_Notes__c"}
    intervals, updates = [], []
    for versions in world.versions("salesforce/Opportunity", "Id").values():
        end = next(
            (
                v["system_modstamp"]
                for v in versions
                if v["fields"]["IsClosed"] or v["op"] != "upsert"
            ),
            END_MS,
        )
        intervals.append((versions[0]["system_modstamp"], end))
        for before, after in pairwise(versions):
            if after["op"] != "upsert" or after["system_modstamp"] >= end:
                continue
            changed = {k for k in after["fields"] if after["fields"][k] != before["fields"].get(k)}
            changed -= SF_SYSTEM
            if changed and changed <= burst_fields:
                updates.append(after["system_modstamp"])
    assert _burst_ratio(intervals, updates) >= 5


def _rate(count: int, total: int) -> float:
    assert total > 0
    return count / total


def test_hubspot_merges_and_archives_happen_at_sane_rates(world: World) -> None:
    contacts = world.versions("hubspot/contacts")
    merged = [vs for vs in contacts.values() if vs[-1]["merged_into"]]
    archived = [
        vs for vs in contacts.values() if any(v["archived"] and not v["merged_into"] for v in vs)
    ]
    restored = [vs for vs in archived if not vs[-1]["archived"]]
    assert 0.004 < _rate(len(merged), len(contacts)) < 0.03
    assert 0.005 < _rate(len(archived), len(contacts)) < 0.04
    assert restored and len(restored) < len(archived)
    for versions in merged:
        loser = versions[-1]
        winner = contacts[loser["merged_into"]]
        gained = [
            v
            for v in winner
            if loser["id"] in v["properties"].get("hs_merged_object_ids", "").split(";")
        ]
        assert gained and gained[0]["updated_at"] == loser["updated_at"]
        assert winner[0]["entity_index"] == loser["entity_index"]
    companies = world.versions("hubspot/companies")
    assert any(any(v["archived"] for v in vs) for vs in companies.values())


def test_salesforce_merges_and_deletes_happen_at_sane_rates(world: World) -> None:
    accounts = world.versions("salesforce/Account", "Id")
    contacts = world.versions("salesforce/Contact", "Id")
    for records, low, high in ((accounts, 0.01, 0.08), (contacts, 0.01, 0.08)):
        merged = [vs for vs in records.values() if any(v["fields"]["MasterRecordId"] for v in vs)]
        assert low < _rate(len(merged), len(records)) < high
    ops: dict[str, int] = defaultdict(int)
    for obj in ("Account", "Contact", "Opportunity"):
        for versions in world.versions(f"salesforce/{obj}", "Id").values():
            direct = [v["op"] for v in versions if not v["fields"].get("MasterRecordId")]
            for op in set(direct) - {"upsert"}:
                ops[op] += 1
    total = sum(
        len(world.versions(f"salesforce/{obj}", "Id"))
        for obj in ("Account", "Contact", "Opportunity")
    )
    assert 0.01 < _rate(ops["delete"], total) < 0.08
    assert 0 < ops["undelete"] < ops["delete"]
    assert 0.002 < _rate(ops["purge"], total) < 0.05
    # A deleted account takes its contacts and opportunities with it.
    for versions in accounts.values():
        deletes = [v for v in versions if v["op"] == "delete" and not v["fields"]["MasterRecordId"]]
        for delete in deletes:
            children = [
                vs
                for vs in (
                    *contacts.values(),
                    *world.versions("salesforce/Opportunity", "Id").values(),
                )
                if vs[0]["fields"]["AccountId"] == versions[0]["Id"]
                and vs[0]["system_modstamp"] < delete["system_modstamp"]
            ]
            for child in children:
                state = [v for v in child if v["system_modstamp"] <= delete["system_modstamp"]]
                assert state[-1]["fields"]["IsDeleted"], child[0]["Id"]


# --- the ledgers' rules, on hand-built events -------------------------------------------------


def test_hubspot_ledger_follows_merges_defers_past_archives_and_needs_a_live_company() -> None:
    company, first, second, deal = ("companies", 0), ("contacts", 0), ("contacts", 1), ("deals", 0)
    log = hubspot_records.EventLog()
    log.add(1_000, company, "create", {"name": "Acme"}, "CRM_UI")
    log.add(2_000, first, "create", {"email": "ann@acme.io"}, "FORM", links=(company,))
    log.add(3_000, second, "create", {"email": "ann99@gmail.com"}, "IMPORT", links=(company,))
    log.add(4_000, first, "merge", {}, "CRM_UI", other=second)
    log.add(5_000, first, "update", {"phone": "+1 555"}, "CRM_UI", follow=True)
    log.add(5_500, first, "update", {"phone": "+1 666"}, "CRM_UI")
    log.add(7_000, company, "archive", {}, "CRM_UI")
    log.add(8_000, company, "update", {"workspace_ids": "ws_1"}, "INTEGRATION", defer=True)
    log.add(8_500, company, "update", {"industry": "RETAIL"}, "CRM_UI")
    log.add(9_000, deal, "create", {"dealname": "Acme"}, "CRM_UI", links=(company, first))
    log.add(10_000, company, "restore", {}, "CRM_UI")
    log.add(20_000, company, "update", {"industry": "MEDIA"}, "CRM_UI")
    ledger = hubspot_records.Ledger(0, end_ms=20_000)
    ledger.run(log.events)

    contacts = ledger.rows["contacts"]
    loser = [r for r in contacts if r["id"] == contacts[0]["id"]]
    winner = [r for r in contacts if r["id"] != contacts[0]["id"]]
    assert [r["updated_at"] for r in loser] == [2_000, 4_000]
    assert loser[-1]["merged_into"] == winner[0]["id"] and loser[-1]["archived"]
    merged = orjson.loads(winner[1]["properties"])
    assert merged["hs_merged_object_ids"] == loser[0]["id"]
    assert merged["hs_additional_emails"] == "ann@acme.io"
    assert orjson.loads(winner[-1]["properties"])["phone"] == "+1 555"
    assert [r["updated_at"] for r in winner] == [3_000, 4_000, 5_000]

    rows = ledger.rows["companies"]
    assert [(r["updated_at"], r["archived"]) for r in rows] == [
        (1_000, False),
        (7_000, True),
        (10_000, False),
        (10_001, False),
    ]
    final = orjson.loads(rows[-1]["properties"])
    assert final["workspace_ids"] == "ws_1" and "industry" not in final
    assert ledger.rows["deals"] == []

    lifetimes = {
        (a["from_id"], a["to_id"], a["created_at"], a["removed_at"]) for a in ledger.associations
    }
    company_id, loser_id, winner_id = rows[0]["id"], loser[0]["id"], winner[0]["id"]
    assert (loser_id, company_id, 2_000, 4_000) in lifetimes
    assert (winner_id, company_id, 3_000, 7_000) in lifetimes
    assert (company_id, winner_id, 10_000, None) in lifetimes


def _sf_opportunity(account_id: str) -> dict[str, Any]:
    return {
        "AccountId": account_id,
        "Name": "Deal",
        "StageName": "Prospecting",
        "Probability": 10.0,
        "ForecastCategory": "Pipeline",
        "Amount": 100.0,
        "CloseDate": "2025-06-30",
    }


def test_salesforce_ledger_merges_reparent_and_deletes_cascade() -> None:
    entity = 3
    account, duplicate = ("Account", 0), ("Account", 1)
    account_id = sf_record_id("Account", entity, 0)
    duplicate_id = sf_record_id("Account", entity, 1)
    opportunity_id = sf_record_id("Opportunity", entity, 0)
    log = salesforce_records.EventLog()
    log.add(1_000, account, "create", {"Name": "Acme"}, 0)
    log.add(2_000, duplicate, "create", {"Name": "ACME"}, 0)
    contact = {"AccountId": duplicate_id, "FirstName": "Ann", "LastName": "Lee"}
    log.add(3_000, ("Contact", 0), "create", contact, 0)
    log.add(4_000, ("Opportunity", 0), "create", _sf_opportunity(account_id), 0)
    log.add(5_000, duplicate, "merge", {}, 0, other=account)
    log.add(6_000, duplicate, "update", {"Website": "acme.io"}, 0, follow=True)
    log.add(6_500, duplicate, "update", {"Website": "lost.io"}, 0)
    log.add(7_000, account, "delete", {}, 0)
    log.add(8_000, ("Opportunity", 0), "update", {"Amount": 200.0}, 0)
    log.add(9_000, account, "undelete", {}, 0)
    log.add(10_000, ("Opportunity", 0), "purge", {}, 0)
    log.add(11_000, ("OpportunityLineItem", 0), "create", {"OpportunityId": opportunity_id}, 0)
    ledger = salesforce_records.Ledger(entity, end_ms=60_000, addition_ms=60_000)
    ledger.run(log.events)

    def history(sobject: str, record_id: str) -> list[tuple[int, str, dict[str, Any]]]:
        return [
            (r["system_modstamp"], r["op"], orjson.loads(r["fields"]))
            for r in ledger.rows[sobject]
            if r["Id"] == record_id
        ]

    def ops(sobject: str, record_id: str) -> list[tuple[int, str]]:
        return [(t, op) for t, op, _ in history(sobject, record_id)]

    assert ops("Account", duplicate_id) == [(2_000, "upsert"), (5_000, "delete")]
    loser = history("Account", duplicate_id)[-1][2]
    assert loser["MasterRecordId"] == account_id and loser["IsDeleted"]
    assert ops("Account", account_id) == [
        (1_000, "upsert"),
        (5_000, "upsert"),
        (6_000, "upsert"),
        (7_000, "delete"),
        (9_000, "undelete"),
    ]
    assert history("Account", account_id)[-1][2]["Website"] == "acme.io"
    contact_id = sf_record_id("Contact", entity, 0)
    assert ops("Contact", contact_id) == [
        (3_000, "upsert"),
        (5_000, "upsert"),
        (7_000, "delete"),
        (9_000, "undelete"),
    ]
    assert history("Contact", contact_id)[1][2]["AccountId"] == account_id
    assert ops("Opportunity", opportunity_id) == [
        (4_000, "upsert"),
        (7_000, "delete"),
        (9_000, "undelete"),
        (10_000, "purge"),
    ]
    assert history("Opportunity", opportunity_id)[-1][2]["Amount"] == 100.0
    assert ledger.rows["OpportunityLineItem"] == []
    assert len(ledger.rows["OpportunityHistory"]) == 1
