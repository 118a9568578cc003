"""HubSpot as the company's marketing and CRM system: what happens to each company, its
contacts and deals (lifecycle, edits, merges, archives, deal stages, late workspace mapping),
planned as events that `hubspot_records.Ledger` applies; plus the owners and the pipeline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from revstack.sandbox.world.crm_common import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    EntityPlan,
    PersonPlan,
    hs_number,
    hs_time,
    hubspot_owner_id,
    hubspot_user_id,
    major_units,
    open_deal_update_times,
    poisson,
    prospect_amount_minor,
    sales_reps,
    uniform_ms,
)
from revstack.sandbox.world.hubspot_records import (
    ASSOCIATIONS,
    COMPANIES,
    CONTACTS,
    DEALS,
    OWNERS,
    TABLES,
    EventLog,
    Key,
    Ledger,
)
from revstack.sandbox.world.ids import PER_ENTITY
from revstack.sandbox.world.names import (
    FREE_MAIL_DOMAINS,
    INDUSTRIES,
    JOB_TITLES,
    Person,
    phone_for,
)
from revstack.sandbox.world.rng import chance, stream, weighted
from revstack.sandbox.world.story import OWNER_COUNT, Window
from revstack.sandbox.world.tables import Sink

__all__ = [
    "ASSOCIATIONS",
    "COMPANIES",
    "CONTACTS",
    "DEALS",
    "OWNERS",
    "TABLES",
    "HubSpotIds",
    "owner_rows",
    "pipelines_document",
    "simulate",
    "workspace_lag_ms",
]

#: The default deal pipeline: (stage id, label, probability, closed).
DEAL_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled", 0.2, False),
    ("qualifiedtobuy", "Qualified To Buy", 0.4, False),
    ("presentationscheduled", "Presentation Scheduled", 0.6, False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8, False),
    ("contractsent", "Contract Sent", 0.9, False),
    ("closedwon", "Closed Won", 1.0, True),
    ("closedlost", "Closed Lost", 0.0, True),
)
_OPEN_STAGES = [stage for stage, _, _, closed in DEAL_STAGES if not closed]
_PROBABILITY = {stage: hs_number(p) for stage, _, p, _ in DEAL_STAGES}

#: Change sources of independent edits, and their weights.
EDIT_SOURCES = {"CRM_UI": 0.45, "IMPORT": 0.2, "API": 0.2, "INTEGRATION": 0.15}
_NEXT_STEPS = (
    "Send revised quote",
    "Security review call",
    "Legal redlines",
    "Procurement sign-off",
    "Demo for the wider team",
    "Confirm seat count",
    "Follow up with champion",
    "Pricing call with CFO",
)
_LOST_REASONS = ("Price", "Went with competitor", "No decision", "Timing", "Missing feature")

#: Rates (per record, or per year a record exists) of the events the simulation injects.
DUPLICATE_PER_COMPANY = 0.033
DUPLICATE_WINNER_IS_ORIGINAL = 0.75
CONTACT_ARCHIVE = 0.028
"""Per non-primary contact."""
CONTACT_RESTORE = 0.4
COMPANY_ARCHIVE_PROSPECT = 0.03
"""Per prospect; customers' companies are never archived."""
COMPANY_RESTORE_PROSPECT = 0.5
PROSPECT_DEAL = 0.30
OPEN_DEAL_UPDATES_PER_DAY = 0.04
STRIPE_ID_ON_COMPANY = 0.55
STRIPE_CHANGE_MIRRORED = 0.5
EDITS_PER_YEAR = 0.3
_YEAR_MS = 365 * DAY_MS
_MAX_UPSELL_DEALS = 40


def workspace_lag_ms(rng: random.Random) -> int:
    """How long after a workspace is created the CRM learns about it: mostly hours, about a
    quarter 1-7 days, about 5% 8-30 days."""
    kind = rng.random()
    if kind < 0.70:
        return uniform_ms(rng, 15 * MINUTE_MS, 24 * HOUR_MS)
    if kind < 0.95:
        return uniform_ms(rng, DAY_MS, 7 * DAY_MS)
    return uniform_ms(rng, 8 * DAY_MS, 30 * DAY_MS)


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubSpotIds:
    company_id: str
    contact_id: str
    """The billing contact, or the contact it was merged into."""


def simulate(plan: EntityPlan, window: Window, seed: int, sink: Sink) -> HubSpotIds | None:
    """Write one entity's HubSpot records; the ids the truth table needs (None if the entity
    has no HubSpot record before the world's end)."""
    end_ms = window.end * 1000
    if plan.first_touch_ms >= end_ms:
        return None
    rng = stream(seed, "crm-hubspot", plan.entity_index)
    events = EventLog()
    has_deal = plan.facts is None and chance(rng, PROSPECT_DEAL)
    stages = _lifecycle(plan, rng, end_ms, has_deal)
    _plan_company(events, plan, rng, stages, end_ms)
    _plan_contacts(events, plan, rng, stages, end_ms)
    _plan_deals(events, plan, rng, stages, end_ms, has_deal)
    ledger = Ledger(plan.entity_index, end_ms)
    ledger.run(events.events)
    ledger.flush(sink)
    company = ledger.records[("companies", 0)]
    contact = ledger.records.get(("contacts", 0))
    while contact is not None and contact.winner is not None:
        contact = contact.winner
    return HubSpotIds(company.id, contact.id if contact else "")


_Stage = tuple[int, str, str]
"""(time, lifecycle stage, change source)."""


def _lifecycle(plan: EntityPlan, rng: random.Random, end_ms: int, has_deal: bool) -> list[_Stage]:
    """The company's lifecycle stage changes after `lead` at creation, in time order."""
    first = plan.first_touch_ms
    facts = plan.facts
    stages: list[_Stage] = []
    if facts is None:
        reach = 3 if has_deal else _funnel_depth(rng, (0.6, 0.35, 0.5))
        t = first
        for stage in ("marketingqualifiedlead", "salesqualifiedlead", "opportunity")[:reach]:
            t += uniform_ms(rng, HOUR_MS, 30 * DAY_MS)
            stages.append((t, stage, "AUTOMATION"))
        return [s for s in stages if s[0] < end_ms]
    if facts.sales_led:
        span = facts.created_ms - first
        if span > 10_000:
            marks = sorted(first + 5000 + int(rng.random() * (span - 5001)) for _ in range(3))
            for t, stage in zip(
                marks, ("marketingqualifiedlead", "salesqualifiedlead", "opportunity"), strict=True
            ):
                stages.append((t, stage, "CRM_UI"))
        stages.append((facts.created_ms, "customer", "CRM_UI"))
    else:
        until = facts.customer_at_ms if facts.customer_at_ms is not None else end_ms
        if chance(rng, 0.5) and until - first > HOUR_MS:
            stages.append(
                (
                    uniform_ms(rng, first + 1, min(until, first + 30 * DAY_MS)),
                    "marketingqualifiedlead",
                    "AUTOMATION",
                )
            )
        if facts.customer_at_ms is not None:
            stages.append(
                (
                    max(first + 1, facts.customer_at_ms + uniform_ms(rng, MINUTE_MS, 6 * HOUR_MS)),
                    "customer",
                    "INTEGRATION",
                )
            )
    if facts.customer_at_ms is not None:
        last = stages[-1][0]
        for churned, back in facts.churns:
            t = max(last + HOUR_MS, churned + uniform_ms(rng, 0, 14 * DAY_MS))
            stages.append((t, "other", "AUTOMATION"))
            last = t
            if back is not None:
                t = max(last + HOUR_MS, back + uniform_ms(rng, HOUR_MS, 7 * DAY_MS))
                stages.append((t, "customer", "INTEGRATION"))
                last = t
    return [s for s in stages if s[0] < end_ms]


def _funnel_depth(rng: random.Random, pass_rates: tuple[float, ...]) -> int:
    """How many funnel steps a prospect passes, each with its rate given the previous."""
    depth = 0
    while depth < len(pass_rates) and rng.random() < pass_rates[depth]:
        depth += 1
    return depth


def _stage_at(stages: list[_Stage], t: int) -> str:
    current = "lead"
    for when, stage, _ in stages:
        if when > t:
            break
        current = stage
    return current


def _stage_update(stage: str, seen: set[str]) -> tuple[dict[str, str], tuple[str, ...]]:
    stamp = () if stage in seen else (f"hs_lifecyclestage_{stage}_date",)
    seen.add(stage)
    return {"lifecyclestage": stage}, stamp


def _plan_company(
    events: EventLog, plan: EntityPlan, rng: random.Random, stages: list[_Stage], end_ms: int
) -> None:
    key = ("companies", 0)
    company = plan.company
    facts = plan.facts
    first = plan.first_touch_ms
    if facts is None:
        source = weighted(rng, {"FORM": 0.5, "CRM_UI": 0.3, "IMPORT": 0.2})
    else:
        source = "CRM_UI" if facts.sales_led else "FORM"
    owner = plan.owner_index
    events.add(
        first,
        key,
        "create",
        {
            "name": company.name,
            "domain": company.domain,
            "industry": company.industry,
            "country": company.country,
            "numberofemployees": str(company.employees),
            "lifecyclestage": "lead",
            "hubspot_owner_id": hubspot_owner_id(owner),
        },
        source,
        stamp=("hs_lifecyclestage_lead_date",),
    )
    seen = {"lead"}
    for t, stage, stage_source in stages:
        changes, stamp = _stage_update(stage, seen)
        events.add(t, key, "update", changes, stage_source, stamp=stamp, defer=True)
    if facts is not None:
        mapped = sorted(
            (max(first + 1, created + workspace_lag_ms(rng)), order, workspace)
            for order, (workspace, created) in enumerate(facts.workspaces)
        )
        ids: list[str] = []
        for t, _, workspace in mapped:
            ids.append(workspace)
            events.add(
                t, key, "update", {"workspace_ids": ";".join(ids)}, "INTEGRATION", defer=True
            )
        if plan.customer_id and chance(rng, STRIPE_ID_ON_COMPANY):
            t = max(first + 1, facts.created_ms + uniform_ms(rng, MINUTE_MS, 2 * DAY_MS))
            events.add(
                t,
                key,
                "update",
                {"stripe_customer_id": plan.customer_id},
                "INTEGRATION",
                defer=True,
            )
    employees = company.employees
    for t in _edit_times(rng, first, end_ms):
        what = weighted(rng, {"numberofemployees": 0.6, "hubspot_owner_id": 0.25, "industry": 0.15})
        if what == "numberofemployees":
            employees = max(2, int(employees * (0.8 + 0.6 * rng.random())))
            changes = {what: str(employees)}
        elif what == "hubspot_owner_id":
            owner = (owner + 1 + rng.randrange(OWNER_COUNT - 1)) % OWNER_COUNT
            changes = {what: hubspot_owner_id(owner)}
        else:
            changes = {what: rng.choice(INDUSTRIES)}
        events.add(t, key, "update", changes, weighted(rng, EDIT_SOURCES))
    if facts is None and chance(rng, COMPANY_ARCHIVE_PROSPECT):
        t = uniform_ms(rng, first + HOUR_MS, end_ms)
        events.add(t, key, "archive", {}, "CRM_UI")
        if chance(rng, COMPANY_RESTORE_PROSPECT):
            events.add(t + uniform_ms(rng, DAY_MS, 14 * DAY_MS), key, "restore", {}, "CRM_UI")


def _edit_times(rng: random.Random, start_ms: int, end_ms: int) -> list[int]:
    if end_ms <= start_ms:
        return []
    count = poisson(rng, EDITS_PER_YEAR * (end_ms - start_ms) / _YEAR_MS)
    return sorted(uniform_ms(rng, start_ms + 1, end_ms) for _ in range(count))


def _contact_props(person_plan: PersonPlan, plan: EntityPlan, stage: str) -> dict[str, str]:
    person = person_plan.person
    return {
        "email": person.email,
        "firstname": person.first_name,
        "lastname": person.last_name,
        "phone": person.phone,
        "company": plan.company.name,
        "jobtitle": person.title,
        "lifecyclestage": stage,
        "hubspot_owner_id": hubspot_owner_id(plan.owner_index),
    }


def _plan_contacts(
    events: EventLog, plan: EntityPlan, rng: random.Random, stages: list[_Stage], end_ms: int
) -> None:
    company_key = ("companies", 0)
    facts = plan.facts
    for ordinal, person_plan in enumerate(plan.people):
        key = ("contacts", ordinal)
        created = person_plan.created_ms
        stage = "lead" if person_plan.primary else _stage_at(stages, created)
        source = "FORM" if person_plan.primary and not (facts and facts.sales_led) else "CRM_UI"
        events.add(
            created,
            key,
            "create",
            _contact_props(person_plan, plan, stage),
            source,
            stamp=(f"hs_lifecyclestage_{stage}_date",),
            links=(company_key,),
        )
        for t in _edit_times(rng, created, end_ms):
            if chance(rng, 0.5):
                changes = {"phone": phone_for(rng, plan.company.country)}
            else:
                changes = {"jobtitle": rng.choice(JOB_TITLES)}
            events.add(t, key, "update", changes, weighted(rng, EDIT_SOURCES), follow=True)
        if not person_plan.primary and chance(rng, CONTACT_ARCHIVE):
            t = uniform_ms(rng, created + HOUR_MS, end_ms)
            events.add(t, key, "archive", {}, "CRM_UI")
            if chance(rng, CONTACT_RESTORE):
                events.add(t + uniform_ms(rng, DAY_MS, 30 * DAY_MS), key, "restore", {}, "CRM_UI")
    primary = ("contacts", 0)
    seen = {"lead"}
    for t, stage, stage_source in stages:
        changes, stamp = _stage_update(stage, seen)
        events.add(
            t + uniform_ms(rng, 1000, MINUTE_MS),
            primary,
            "update",
            changes,
            stage_source,
            stamp=stamp,
            defer=True,
            follow=True,
        )
    if facts is not None:
        for ts, name, new in facts.billing_changes:
            if chance(rng, STRIPE_CHANGE_MIRRORED):
                events.add(
                    ts + uniform_ms(rng, 0, 10 * DAY_MS),
                    primary,
                    "update",
                    _contact_change(name, new),
                    "CRM_UI",
                    defer=True,
                    follow=True,
                )
    if chance(rng, DUPLICATE_PER_COMPANY):
        _plan_duplicate(events, plan, rng, end_ms)


def _contact_change(name: str, value: str) -> dict[str, str]:
    if name == "name":
        first, _, last = value.partition(" ")
        return {"firstname": first, "lastname": last}
    return {name: value}


def _plan_duplicate(events: EventLog, plan: EntityPlan, rng: random.Random, end_ms: int) -> None:
    """A second record of a known person, created later and merged into the first (or the
    first merged into it)."""
    original = 0 if chance(rng, 0.5) else rng.randrange(len(plan.people))
    source_plan = plan.people[original]
    person = source_plan.person
    if chance(rng, 0.5):
        local = f"{person.first_name}{person.last_name}{rng.randint(1, 99)}"
        email = f"{local}@{rng.choice(FREE_MAIL_DOMAINS)}"
    else:
        email = f"{person.first_name[0]}{person.last_name}@{plan.company.domain}"
    ordinal = len(plan.people)
    if ordinal >= PER_ENTITY:
        return
    created = source_plan.created_ms + uniform_ms(rng, HOUR_MS, 120 * DAY_MS)
    duplicate = PersonPlan(
        person=Person(
            person.first_name, person.last_name, email.lower(), person.phone, person.title
        ),
        created_ms=created,
        primary=False,
    )
    key = ("contacts", ordinal)
    events.add(
        created,
        key,
        "create",
        _contact_props(duplicate, plan, "lead"),
        weighted(rng, {"FORM": 0.5, "IMPORT": 0.3, "CRM_UI": 0.2}),
        stamp=("hs_lifecyclestage_lead_date",),
        links=(("companies", 0),),
    )
    merge_at = created + uniform_ms(rng, HOUR_MS, 60 * DAY_MS)
    original_key = ("contacts", original)
    if chance(rng, DUPLICATE_WINNER_IS_ORIGINAL):
        events.add(merge_at, key, "merge", {}, "CRM_UI", other=original_key)
    else:
        events.add(merge_at, original_key, "merge", {}, "CRM_UI", other=key, follow=True)


def _money(minor: int, currency: str) -> str:
    return hs_number(major_units(minor, currency))


def _plan_deals(
    events: EventLog,
    plan: EntityPlan,
    rng: random.Random,
    stages: list[_Stage],
    end_ms: int,
    has_deal: bool,
) -> None:
    facts = plan.facts
    currency = plan.currency
    name = plan.company.name
    if facts is None:
        if not has_deal:
            return
        opened = next((t for t, stage, _ in stages if stage == "opportunity"), None)
        if opened is None:
            return
        count = 2 if chance(rng, 0.2) else 1
        for ordinal in range(count):
            start = opened + ordinal * uniform_ms(rng, 30 * DAY_MS, 200 * DAY_MS)
            amount = prospect_amount_minor(rng, currency)
            _plan_prospect_deal(
                events,
                plan,
                rng,
                ordinal,
                start,
                amount,
                end_ms,
                f"{name} - {'New Business' if ordinal == 0 else 'Expansion'}",
            )
        return
    if not facts.sales_led:
        return
    opened = next((t for t, stage, _ in stages if stage == "salesqualifiedlead"), None)
    if opened is None:
        opened = plan.first_touch_ms + 1
    _plan_won_deal(
        events,
        plan,
        rng,
        0,
        opened,
        facts.created_ms,
        facts.acv_minor,
        f"{name} - New Business",
        "newbusiness",
        end_ms,
    )
    for ordinal, upsell in enumerate(facts.upsells[:_MAX_UPSELL_DEALS], start=1):
        start = max(
            facts.created_ms + HOUR_MS, upsell.ts_ms - uniform_ms(rng, 5 * DAY_MS, 45 * DAY_MS)
        )
        start = min(start, upsell.ts_ms - 2000)
        _plan_won_deal(
            events,
            plan,
            rng,
            ordinal,
            start,
            upsell.ts_ms,
            upsell.amount_minor,
            f"{name} - Upsell ({upsell.tier}, {upsell.seats} seats)",
            "existingbusiness",
            end_ms,
        )


def _deal_create(
    plan: EntityPlan,
    rng: random.Random,
    start: int,
    amount_minor: int,
    deal_name: str,
    deal_type: str,
) -> dict[str, str]:
    return {
        "dealname": deal_name,
        "pipeline": "default",
        "dealstage": _OPEN_STAGES[0],
        "hs_deal_stage_probability": _PROBABILITY[_OPEN_STAGES[0]],
        "amount": _money(amount_minor, plan.currency),
        "deal_currency_code": plan.currency.upper(),
        "closedate": hs_time(_day(start + uniform_ms(rng, 20 * DAY_MS, 90 * DAY_MS))),
        "dealtype": deal_type,
        "hubspot_owner_id": hubspot_owner_id(plan.owner_index),
        "hs_is_closed": "false",
        "hs_is_closed_won": "false",
    }


def _day(ms: int) -> int:
    return ms - ms % DAY_MS


def _open_stage_times(rng: random.Random, start: int, end: int, count: int) -> list[int]:
    """`count` sorted times strictly inside (start, end)."""
    if end - start <= count + 1:
        return []
    return sorted(start + 1 + int(rng.random() * (end - start - 2)) for _ in range(count))


def _plan_won_deal(
    events: EventLog,
    plan: EntityPlan,
    rng: random.Random,
    ordinal: int,
    start: int,
    close: int,
    amount_minor: int,
    deal_name: str,
    deal_type: str,
    end_ms: int,
) -> None:
    """A deal that moves through the pipeline and closes won exactly at `close`."""
    if ordinal >= PER_ENTITY:
        return
    key = ("deals", ordinal)
    start = min(start, close - 2000)
    estimate = int(amount_minor * (0.8 + 0.5 * rng.random()))
    events.add(
        start,
        key,
        "create",
        _deal_create(plan, rng, start, estimate, deal_name, deal_type),
        "CRM_UI",
        stamp=(f"hs_date_entered_{_OPEN_STAGES[0]}",),
        links=(("companies", 0), ("contacts", 0)),
    )
    later = [s for s in _OPEN_STAGES[1:] if chance(rng, 0.85)]
    for t, stage in zip(
        _open_stage_times(rng, start, close - 1000, len(later)), later, strict=False
    ):
        events.add(
            t,
            key,
            "update",
            {"dealstage": stage, "hs_deal_stage_probability": _PROBABILITY[stage]},
            "CRM_UI",
            stamp=(f"hs_date_entered_{stage}",),
        )
    _plan_open_updates(events, plan, rng, key, start + 1, close - 1000, amount_minor)
    events.add(
        close,
        key,
        "update",
        {
            "dealstage": "closedwon",
            "hs_deal_stage_probability": _PROBABILITY["closedwon"],
            "amount": _money(amount_minor, plan.currency),
            "closedate": hs_time(close),
            "hs_is_closed": "true",
            "hs_is_closed_won": "true",
        },
        "CRM_UI",
        stamp=("hs_date_entered_closedwon",),
    )


def _plan_prospect_deal(
    events: EventLog,
    plan: EntityPlan,
    rng: random.Random,
    ordinal: int,
    start: int,
    amount_minor: int,
    end_ms: int,
    deal_name: str,
) -> None:
    """A deal that stalls at some stage and is lost, or is still open at the world's end."""
    if start >= end_ms:
        return
    key = ("deals", ordinal)
    events.add(
        start,
        key,
        "create",
        _deal_create(plan, rng, start, amount_minor, deal_name, "newbusiness"),
        "CRM_UI",
        stamp=(f"hs_date_entered_{_OPEN_STAGES[0]}",),
        links=(("companies", 0), ("contacts", 0)),
    )
    t = start
    for stage in _OPEN_STAGES[1 : 1 + rng.randrange(len(_OPEN_STAGES))]:
        t += uniform_ms(rng, 2 * DAY_MS, 30 * DAY_MS)
        events.add(
            t,
            key,
            "update",
            {"dealstage": stage, "hs_deal_stage_probability": _PROBABILITY[stage]},
            "CRM_UI",
            stamp=(f"hs_date_entered_{stage}",),
        )
    closed = t + uniform_ms(rng, 3 * DAY_MS, 90 * DAY_MS) if chance(rng, 0.55) else end_ms
    _plan_open_updates(events, plan, rng, key, start + 1, min(closed, end_ms) - 1000, amount_minor)
    if closed < end_ms:
        events.add(
            closed,
            key,
            "update",
            {
                "dealstage": "closedlost",
                "hs_deal_stage_probability": _PROBABILITY["closedlost"],
                "hs_is_closed": "true",
                "closed_lost_reason": rng.choice(_LOST_REASONS),
            },
            "CRM_UI",
            stamp=("hs_date_entered_closedlost", "closedate"),
        )


def _plan_open_updates(
    events: EventLog,
    plan: EntityPlan,
    rng: random.Random,
    key: Key,
    start: int,
    end: int,
    amount_minor: int,
) -> None:
    """Amount, close date and next-step edits while a deal is open (busier at quarter ends)."""
    for t in open_deal_update_times(rng, start, end, OPEN_DEAL_UPDATES_PER_DAY):
        changes: dict[str, str] = {}
        draw = rng.random()
        if draw < 0.4:
            changes["amount"] = _money(
                int(amount_minor * (0.8 + 0.5 * rng.random())), plan.currency
            )
        if 0.25 < draw < 0.65:
            changes["closedate"] = hs_time(_day(t + uniform_ms(rng, 3 * DAY_MS, 60 * DAY_MS)))
        if draw > 0.5 or not changes:
            changes["hs_next_step"] = rng.choice(_NEXT_STEPS)
        events.add(t, key, "update", changes, "CRM_UI")


# --- owners ----------------------------------------------------------------------------------


def owner_rows(window: Window, seed: int) -> list[dict[str, Any]]:
    created = (window.start - 730 * 86_400) * 1000
    rows = []
    for rep in sales_reps(seed):
        rows.append(
            {
                "id": hubspot_owner_id(rep.index),
                "email": rep.email,
                "firstName": rep.first_name,
                "lastName": rep.last_name,
                "userId": hubspot_user_id(rep.index),
                "createdAt": created + rep.index * 7 * DAY_MS,
                "updatedAt": created + rep.index * 7 * DAY_MS + 3_600_000,
                "archived": False,
                "teams": orjson.dumps(
                    [
                        {
                            "id": "4021" if rep.team == "Enterprise Sales" else "4022",
                            "name": rep.team,
                            "primary": True,
                        }
                    ]
                ).decode(),
            }
        )
    return rows


def pipelines_document(window: Window) -> dict[str, Any]:
    """GET /crm/v3/pipelines/deals as HubSpot returns it for the default pipeline."""
    created = hs_time((window.start - 730 * 86_400) * 1000)
    return {
        "results": [
            {
                "id": "default",
                "label": "Sales Pipeline",
                "displayOrder": 0,
                "archived": False,
                "createdAt": created,
                "updatedAt": created,
                "stages": [
                    {
                        "id": stage,
                        "label": label,
                        "displayOrder": order,
                        "archived": False,
                        "createdAt": created,
                        "updatedAt": created,
                        "metadata": {
                            "isClosed": "true" if closed else "false",
                            "probability": f"{probability:.1f}",
                        },
                    }
                    for order, (stage, label, probability, closed) in enumerate(DEAL_STAGES)
                ],
            }
        ]
    }
