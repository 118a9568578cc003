"""Salesforce as the sales team's CRM: what happens to each account, its contacts and
opportunities (stages, line items, contract terms, renewals, duplicates and merges, soft and
hard deletes), planned as events that `salesforce_records.Ledger` applies; plus the static
users and price book.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from revstack.sandbox.world.catalog import PRICE_BY_KEY, PRODUCTS, TIERS
from revstack.sandbox.world.clock import add_months
from revstack.sandbox.world.crm_common import (
    DAY_MS,
    HOUR_MS,
    INTEGRATION_USER,
    MINUTE_MS,
    EntityPlan,
    drift_times,
    major_units,
    open_deal_update_times,
    poisson,
    prospect_amount_minor,
    round_money,
    sales_reps,
    salesforce_user_id,
    sf_date,
    sf_datetime,
    uniform_ms,
)
from revstack.sandbox.world.ids import PER_ENTITY, SF_PREFIX, salesforce_id, sf_record_id
from revstack.sandbox.world.names import JOB_TITLES, Person, phone_for
from revstack.sandbox.world.rng import chance, stream, weighted
from revstack.sandbox.world.salesforce_records import (
    OBJECTS,
    SF_TABLES,
    TABLES,
    EventLog,
    Key,
    Ledger,
)
from revstack.sandbox.world.story import OWNER_COUNT, Window
from revstack.sandbox.world.tables import Sink

__all__ = [
    "OBJECTS",
    "OPPORTUNITY_STAGES",
    "SF_TABLES",
    "TABLES",
    "SalesforceIds",
    "pricebook2_id",
    "pricebook_entry_id",
    "product2_id",
    "simulate",
    "static_rows",
]

#: (StageName, Probability, ForecastCategory, ForecastCategoryName, IsClosed, IsWon)
OPPORTUNITY_STAGES = (
    ("Prospecting", 10, "Pipeline", "Pipeline", False, False),
    ("Qualification", 10, "Pipeline", "Pipeline", False, False),
    ("Needs Analysis", 20, "Pipeline", "Pipeline", False, False),
    ("Value Proposition", 50, "Pipeline", "Pipeline", False, False),
    ("Proposal/Price Quote", 75, "BestCase", "Best Case", False, False),
    ("Negotiation/Review", 90, "Forecast", "Commit", False, False),
    ("Closed Won", 100, "Closed", "Closed", True, True),
    ("Closed Lost", 0, "Omitted", "Omitted", True, False),
)
_OPEN = [s[0] for s in OPPORTUNITY_STAGES if not s[4]]
_STAGE = {s[0]: s for s in OPPORTUNITY_STAGES}
_CURRENCIES = ("USD", "EUR", "JPY")
_INDUSTRY = {
    "COMPUTER_SOFTWARE": "Technology",
    "FINANCIAL_SERVICES": "Finance",
    "MARKETING_AND_ADVERTISING": "Communications",
    "HOSPITAL_HEALTH_CARE": "Healthcare",
    "RETAIL": "Retail",
    "EDUCATION_MANAGEMENT": "Education",
    "LOGISTICS_AND_SUPPLY_CHAIN": "Transportation",
    "MEDIA_PRODUCTION": "Media",
}
_COUNTRY = {
    "US": "United States",
    "CA": "Canada",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "ES": "Spain",
    "JP": "Japan",
}
_LEAD_SOURCES = {
    "Web": 0.45,
    "Phone Inquiry": 0.1,
    "Partner Referral": 0.2,
    "Purchased List": 0.1,
    "Other": 0.15,
}
_NEXT_STEPS = (
    "Send order form",
    "Security questionnaire",
    "Legal review",
    "Procurement approval",
    "Exec sponsor call",
    "Confirm seats and start date",
    "Technical validation",
)
_FORECAST_NOTES = (
    "Champion confident, waiting on budget",
    "Slipping to next quarter",
    "Verbal commit received",
    "Competitive deal, discount requested",
    "Upside if procurement is fast",
)
_LOSS_REASONS = ("Price", "Competitor", "No Decision", "Timing")

#: Rates of the events the simulation injects (per record unless said otherwise).
PROSPECT_IN_SALESFORCE = 0.40
ACCOUNT_DUPLICATE = 0.03
DUPLICATE_MASTER_IS_ORIGINAL = 0.7
CONTACT_DUPLICATE = 0.03
CONTACT_SOFT_DELETE = 0.04
"""Per non-primary contact."""
CONTACT_HARD_DELETE = 0.012
PROSPECT_ACCOUNT_SOFT_DELETE = 0.05
PROSPECT_ACCOUNT_HARD_DELETE = 0.02
PROSPECT_OPPORTUNITY_SOFT_DELETE = 0.04
UNDELETE = 0.35
PURGE_AFTER_RECYCLE_BIN = 0.3
"""Of soft-deleted records not undeleted: purged when the 15-day recycle bin empties."""
RECYCLE_BIN_MS = 15 * DAY_MS
OPEN_OPPORTUNITY_UPDATES_PER_DAY = 0.04
STRIPE_ID_ON_ACCOUNT = 0.6
STRIPE_CHANGE_MIRRORED = 0.3
EDITS_PER_YEAR = 0.3
_YEAR_MS = 365 * DAY_MS

# --- static records ----------------------------------------------------------------------------


def product2_id(tier: str) -> str:
    return salesforce_id(SF_PREFIX["Product2"], 1 + TIERS.index(tier))


def pricebook2_id() -> str:
    return salesforce_id(SF_PREFIX["Pricebook2"], 1)


def pricebook_entry_id(tier: str, currency: str) -> str:
    number = 1 + TIERS.index(tier) * len(_CURRENCIES) + _CURRENCIES.index(currency.upper())
    return salesforce_id(SF_PREFIX["PricebookEntry"], number)


def _list_price(tier: str, currency: str) -> float:
    """Annual list price per seat, major units."""
    spec = PRICE_BY_KEY[f"{tier}_year_{currency.lower()}"]
    return major_units(spec.unit_amount, currency.lower())


def static_rows(window: Window, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Users (the reps and the integration user), products and the standard price book."""
    created_ms = (window.start - 730 * 86_400) * 1000
    admin = salesforce_user_id(INTEGRATION_USER)
    rows: dict[str, list[dict[str, Any]]] = {
        "User": [],
        "Product2": [],
        "Pricebook2": [],
        "PricebookEntry": [],
    }

    def add(sobject: str, fields: dict[str, Any], at: int) -> None:
        stamp = sf_datetime(at)
        fields.update(
            {
                "CreatedDate": stamp,
                "CreatedById": admin,
                "LastModifiedDate": stamp,
                "LastModifiedById": admin,
                "SystemModstamp": stamp,
            }
        )
        rows[sobject].append(
            {
                "Id": fields["Id"],
                "version": 1,
                "system_modstamp": at,
                "op": "upsert",
                "fields": orjson.dumps(fields).decode(),
                "entity_index": None,
            }
        )

    people = [
        (rep.index, rep.first_name, rep.last_name, rep.email, "Account Executive", rep.team)
        for rep in sales_reps(seed)
    ]
    people.append(
        (
            INTEGRATION_USER,
            "Integration",
            "User",
            "integration@inkwell-saas.example",
            "Integration",
            "IT",
        )
    )
    for index, first, last, email, title, department in people:
        add(
            "User",
            {
                "Id": salesforce_user_id(index),
                "Username": email,
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": email,
                "Alias": (first[0] + last)[:8].lower(),
                "IsActive": True,
                "UserType": "Standard",
                "Title": title,
                "Department": department,
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
                "DefaultCurrencyIsoCode": "USD",
            },
            created_ms + index * 7 * DAY_MS,
        )
    add(
        "Pricebook2",
        {
            "Id": pricebook2_id(),
            "IsDeleted": False,
            "Name": "Standard Price Book",
            "IsActive": True,
            "IsStandard": True,
            "Description": "Per-seat annual list prices",
        },
        created_ms + DAY_MS,
    )
    for product in PRODUCTS:
        add(
            "Product2",
            {
                "Id": product2_id(product.key),
                "IsDeleted": False,
                "Name": product.name,
                "ProductCode": product.key.upper(),
                "Description": product.description,
                "Family": "Subscription",
                "IsActive": True,
            },
            created_ms + DAY_MS,
        )
        for currency in _CURRENCIES:
            add(
                "PricebookEntry",
                {
                    "Id": pricebook_entry_id(product.key, currency),
                    "IsDeleted": False,
                    "Name": product.name,
                    "Pricebook2Id": pricebook2_id(),
                    "Product2Id": product2_id(product.key),
                    "ProductCode": product.key.upper(),
                    "UnitPrice": _list_price(product.key, currency),
                    "IsActive": True,
                    "UseStandardPrice": False,
                    "CurrencyIsoCode": currency,
                },
                created_ms + 2 * DAY_MS,
            )
    return rows


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SalesforceIds:
    account_id: str
    """The company's account, or the master it was merged into."""
    contact_id: str | None
    """The billing contact, or the master it was merged into."""


@dataclass
class _Context:
    plan: EntityPlan
    rng: random.Random
    events: EventLog
    end_ms: int
    addition_ms: int
    rep: int
    account_id: str
    contacts: int = 0
    """Contact ordinals used so far."""
    opportunities: int = 0
    contract_numbers: list[int] = field(default_factory=list)


def simulate(plan: EntityPlan, window: Window, seed: int, sink: Sink) -> SalesforceIds | None:
    """Write one entity's Salesforce records; the ids the truth table needs."""
    end_ms = window.end * 1000
    rng = stream(seed, "crm-salesforce", plan.entity_index)
    _, addition_ms = drift_times(window)
    ctx = _Context(
        plan,
        rng,
        EventLog(),
        end_ms,
        addition_ms,
        plan.owner_index,
        sf_record_id("Account", plan.entity_index, 0),
    )
    created = _plan_account(ctx)
    if created >= end_ms:
        return None
    _plan_contacts(ctx, created)
    _plan_opportunities(ctx, created)
    if plan.facts is None:
        _plan_prospect_deletes(ctx, created)
    ledger = Ledger(plan.entity_index, end_ms, addition_ms)
    ledger.run(ctx.events.events)
    ledger.flush(sink)
    account = ledger.resolve(ctx.account_id)
    if account is None:
        return None
    contact = ledger.resolve(sf_record_id("Contact", plan.entity_index, 0))
    return SalesforceIds(account.id, contact.id if contact else None)


def _edit_times(rng: random.Random, start_ms: int, end_ms: int) -> list[int]:
    if end_ms <= start_ms:
        return []
    count = poisson(rng, EDITS_PER_YEAR * (end_ms - start_ms) / _YEAR_MS)
    return sorted(uniform_ms(rng, start_ms + 1000, end_ms) for _ in range(count))


def _segment(employees: int) -> str:
    if employees < 100:
        return "SMB"
    return "Mid-Market" if employees < 1000 else "Enterprise"


def _website(rng: random.Random, domain: str) -> str:
    return weighted(rng, {f"https://www.{domain}": 0.5, f"www.{domain}": 0.3, domain: 0.2})


def _account_fields(ctx: _Context, name: str, website: str | None) -> dict[str, Any]:
    company = ctx.plan.company
    rng = ctx.rng
    industry = _INDUSTRY.get(company.industry) if chance(rng, 0.85) else None
    country = (
        _COUNTRY.get(company.country, company.country) if chance(rng, 0.8) else company.country
    )
    return {
        "Name": name,
        "Type": "Prospect",
        "Industry": industry,
        "Website": website,
        "BillingCountry": country,
        "NumberOfEmployees": company.employees,
        "AnnualRevenue": float(company.employees * rng.randrange(80, 250) * 1000),
        "AccountSource": weighted(rng, _LEAD_SOURCES),
        "CurrencyIsoCode": ctx.plan.currency.upper(),
        "OwnerId": salesforce_user_id(ctx.rep),
        "Segment__c": _segment(company.employees),
        "Stripe_Customer_Id__c": None,
    }


def _plan_account(ctx: _Context) -> int:
    """The account's events; its creation time."""
    plan, rng, events = ctx.plan, ctx.rng, ctx.events
    facts = plan.facts
    first = plan.first_touch_ms
    key = ("Account", 0)
    if facts is None:
        created = first + uniform_ms(rng, HOUR_MS, 20 * DAY_MS)
    else:
        created = first + uniform_ms(rng, MINUTE_MS, 2 * DAY_MS)
        created = min(created, facts.created_ms - 10_000)
    created -= created % 1000
    if created >= ctx.end_ms:
        return created
    company = plan.company
    events.add(
        created,
        key,
        "create",
        _account_fields(ctx, company.name, _website(rng, company.domain)),
        ctx.rep,
    )
    if facts is not None:
        became = facts.created_ms + uniform_ms(rng, 0, 2 * DAY_MS)
        events.add(became, key, "update", {"Type": "Customer - Direct"}, ctx.rep, follow=True)
        last = became
        for churned, back in facts.churns:
            last = max(last + HOUR_MS, churned + uniform_ms(rng, DAY_MS, 20 * DAY_MS))
            events.add(last, key, "update", {"Type": "Former Customer"}, ctx.rep, follow=True)
            if back is not None:
                last = max(last + HOUR_MS, back + uniform_ms(rng, HOUR_MS, 5 * DAY_MS))
                events.add(last, key, "update", {"Type": "Customer - Direct"}, ctx.rep, follow=True)
        if plan.customer_id and chance(rng, STRIPE_ID_ON_ACCOUNT):
            t = facts.created_ms + uniform_ms(rng, 10 * MINUTE_MS, 5 * DAY_MS)
            events.add(
                t,
                key,
                "update",
                {"Stripe_Customer_Id__c": plan.customer_id},
                INTEGRATION_USER,
                follow=True,
            )
    employees = company.employees
    rep = ctx.rep
    for t in _edit_times(rng, created, ctx.end_ms):
        what = weighted(
            rng, {"NumberOfEmployees": 0.5, "OwnerId": 0.2, "Website": 0.15, "AnnualRevenue": 0.15}
        )
        changes: dict[str, Any]
        if what == "NumberOfEmployees":
            employees = max(2, int(employees * (0.8 + 0.6 * rng.random())))
            changes = {what: employees, "Segment__c": _segment(employees)}
        elif what == "OwnerId":
            rep = (rep + 1 + rng.randrange(OWNER_COUNT - 1)) % OWNER_COUNT
            changes = {what: salesforce_user_id(rep)}
        elif what == "Website":
            changes = {what: _website(rng, company.domain)}
        else:
            changes = {what: float(employees * rng.randrange(80, 250) * 1000)}
        events.add(t, key, "update", changes, INTEGRATION_USER if chance(rng, 0.2) else rep)
    if chance(rng, ACCOUNT_DUPLICATE):
        _plan_duplicate_account(ctx, created)
    return created


def _plan_duplicate_account(ctx: _Context, original_created: int) -> None:
    plan, rng, events = ctx.plan, ctx.rng, ctx.events
    created = original_created + uniform_ms(rng, 7 * DAY_MS, 200 * DAY_MS)
    name = plan.company.name.rsplit(" ", 1)[0] if chance(rng, 0.5) else plan.company.name.upper()
    website = None if chance(rng, 0.5) else plan.company.domain
    key = ("Account", 1)
    events.add(created, key, "create", _account_fields(ctx, name, website), ctx.rep)
    if chance(rng, 0.5):
        person = plan.people[rng.randrange(len(plan.people))].person
        ordinal = _next_contact(ctx)
        if ordinal is not None:
            events.add(
                created + uniform_ms(rng, MINUTE_MS, 3 * DAY_MS),
                ("Contact", ordinal),
                "create",
                _contact_fields(ctx, person, sf_record_id("Account", plan.entity_index, 1)),
                ctx.rep,
            )
    merged = created + uniform_ms(rng, 4 * DAY_MS, 60 * DAY_MS)
    if chance(rng, DUPLICATE_MASTER_IS_ORIGINAL):
        events.add(merged, key, "merge", {}, ctx.rep, other=("Account", 0))
    else:
        events.add(merged, ("Account", 0), "merge", {}, ctx.rep, follow=True, other=key)


def _next_contact(ctx: _Context) -> int | None:
    if ctx.contacts >= PER_ENTITY:
        return None
    ctx.contacts += 1
    return ctx.contacts - 1


def _contact_fields(ctx: _Context, person: Person, account_id: str) -> dict[str, Any]:
    return {
        "AccountId": account_id,
        "FirstName": person.first_name,
        "LastName": person.last_name,
        "Name": person.full_name,
        "Email": person.email,
        "Phone": person.phone,
        "Title": person.title,
        "MailingCountry": _COUNTRY.get(ctx.plan.company.country, ctx.plan.company.country),
        "LeadSource": weighted(ctx.rng, _LEAD_SOURCES),
        "OwnerId": salesforce_user_id(ctx.rep),
        "CurrencyIsoCode": ctx.plan.currency.upper(),
    }


def _plan_contacts(ctx: _Context, account_created: int) -> None:
    plan, rng, events = ctx.plan, ctx.rng, ctx.events
    facts = plan.facts
    chosen = [p for p in plan.people if p.primary or chance(rng, 0.5)]
    for person_plan in chosen:
        ordinal = _next_contact(ctx)
        if ordinal is None:
            return
        key = ("Contact", ordinal)
        lag = (
            uniform_ms(rng, MINUTE_MS, DAY_MS)
            if person_plan.primary
            else uniform_ms(rng, HOUR_MS, 10 * DAY_MS)
        )
        created = max(person_plan.created_ms, account_created) + lag
        events.add(
            created,
            key,
            "create",
            _contact_fields(ctx, person_plan.person, ctx.account_id),
            ctx.rep,
        )
        for t in _edit_times(rng, created, ctx.end_ms):
            if chance(rng, 0.5):
                changes = {"Phone": phone_for(rng, plan.company.country)}
            else:
                changes = {"Title": rng.choice(JOB_TITLES)}
            events.add(t, key, "update", changes, ctx.rep, follow=True)
        if person_plan.primary and facts is not None:
            for ts, name, new in facts.billing_changes:
                if chance(rng, STRIPE_CHANGE_MIRRORED):
                    events.add(
                        ts + uniform_ms(rng, 0, 20 * DAY_MS),
                        key,
                        "update",
                        _contact_change(name, new),
                        ctx.rep,
                        follow=True,
                    )
        if chance(rng, CONTACT_DUPLICATE):
            _plan_duplicate_contact(ctx, key, person_plan.person, created)
        elif not person_plan.primary:
            _plan_removal(ctx, key, created, CONTACT_SOFT_DELETE, CONTACT_HARD_DELETE)


def _contact_change(name: str, value: str) -> dict[str, Any]:
    if name == "name":
        first, _, last = value.partition(" ")
        return {"FirstName": first, "LastName": last}
    return {"Email" if name == "email" else "Phone": value}


def _plan_duplicate_contact(ctx: _Context, original: Key, person: Person, created: int) -> None:
    rng, events = ctx.rng, ctx.events
    ordinal = _next_contact(ctx)
    if ordinal is None:
        return
    key = ("Contact", ordinal)
    dup_created = created + uniform_ms(rng, DAY_MS, 90 * DAY_MS)
    email = person.email if chance(rng, 0.5) else person.email.upper()
    duplicate = Person(person.first_name, person.last_name, email, person.phone, person.title)
    events.add(dup_created, key, "create", _contact_fields(ctx, duplicate, ctx.account_id), ctx.rep)
    merged = dup_created + uniform_ms(rng, HOUR_MS, 45 * DAY_MS)
    if chance(rng, DUPLICATE_MASTER_IS_ORIGINAL):
        events.add(merged, key, "merge", {}, ctx.rep, other=original)
    else:
        events.add(merged, original, "merge", {}, ctx.rep, follow=True, other=key)


def _plan_removal(ctx: _Context, key: Key, created: int, soft: float, hard: float) -> None:
    """Maybe a soft delete (then an undelete, or a purge when the recycle bin empties), or a
    hard delete."""
    rng, events = ctx.rng, ctx.events
    draw = rng.random()
    if draw < soft:
        t = uniform_ms(rng, created + HOUR_MS, ctx.end_ms)
        events.add(t, key, "delete", {}, ctx.rep)
        if chance(rng, UNDELETE):
            events.add(t + uniform_ms(rng, HOUR_MS, 14 * DAY_MS), key, "undelete", {}, ctx.rep)
        elif chance(rng, PURGE_AFTER_RECYCLE_BIN):
            events.add(t + RECYCLE_BIN_MS, key, "purge", {}, INTEGRATION_USER)
    elif draw < soft + hard:
        events.add(
            uniform_ms(rng, created + HOUR_MS, ctx.end_ms), key, "purge", {}, INTEGRATION_USER
        )


def _stage_fields(stage: str) -> dict[str, Any]:
    _, probability, category, category_name, closed, won = _STAGE[stage]
    return {
        "StageName": stage,
        "Probability": float(probability),
        "ForecastCategory": category,
        "ForecastCategoryName": category_name,
        "IsClosed": closed,
        "IsWon": won,
    }


def _money(minor: int, currency: str) -> float:
    return round_money(major_units(minor, currency), currency)


def _opportunity_fields(
    ctx: _Context, name: str, kind: str, amount: float | None, close_ms: int
) -> dict[str, Any]:
    fields = {
        "AccountId": ctx.account_id,
        "Name": name,
        "Type": kind,
        "LeadSource": "Existing Customer"
        if kind != "New Business"
        else weighted(ctx.rng, _LEAD_SOURCES),
        "Amount": amount,
        "ExpectedRevenue": None,
        "CloseDate": sf_date(close_ms),
        "NextStep": None,
        "Loss_Reason__c": None,
        "CurrencyIsoCode": ctx.plan.currency.upper(),
        "Pricebook2Id": pricebook2_id(),
        "HasOpportunityLineItem": False,
        "OwnerId": salesforce_user_id(ctx.rep),
    }
    fields.update(_stage_fields(_OPEN[0]))
    return fields


def _plan_opportunities(ctx: _Context, account_created: int) -> None:
    plan, rng = ctx.plan, ctx.rng
    facts = plan.facts
    name = plan.company.name
    if facts is None:
        count = weighted(rng, {"0": 0.3, "1": 0.55, "2": 0.15})
        start = account_created
        for index in range(int(count)):
            start += uniform_ms(rng, DAY_MS, 90 * DAY_MS)
            amount = _money(prospect_amount_minor(rng, plan.currency), plan.currency)
            _plan_open_opportunity(
                ctx, start, amount, f"{name} - {'New Business' if index == 0 else 'Pilot'}"
            )
        return
    start = plan.first_touch_ms + int(
        (facts.created_ms - plan.first_touch_ms) * (0.2 + 0.3 * rng.random())
    )
    start = min(max(start, account_created + 1000), facts.created_ms - 5000)
    _plan_won_opportunity(
        ctx,
        start,
        facts.created_ms,
        facts.acv_minor,
        facts.tier,
        facts.seats,
        f"{name} - New Business",
        "New Business",
        facts.frequency,
    )
    for upsell in facts.upsells[:20]:
        start = max(
            facts.created_ms + HOUR_MS, upsell.ts_ms - uniform_ms(rng, 5 * DAY_MS, 45 * DAY_MS)
        )
        start = min(start, upsell.ts_ms - 5000)
        _plan_won_opportunity(
            ctx,
            start,
            upsell.ts_ms,
            upsell.amount_minor,
            upsell.tier,
            upsell.seats,
            f"{name} - Upsell ({upsell.tier})",
            "Existing Business",
            upsell.frequency,
        )
    for renewal in facts.renewals:
        start = max(
            facts.created_ms + DAY_MS, renewal.at_ms - uniform_ms(rng, 60 * DAY_MS, 90 * DAY_MS)
        )
        title = f"{name} - Renewal {sf_date(renewal.at_ms)[:4]}"
        if renewal.won:
            _plan_won_opportunity(
                ctx,
                start,
                renewal.at_ms,
                renewal.amount_minor,
                renewal.tier,
                renewal.seats,
                title,
                "Renewal",
                "Annual",
            )
        elif renewal.lost_at_ms > start + DAY_MS:
            _plan_lost_renewal(
                ctx, start, renewal.lost_at_ms, _money(renewal.amount_minor, plan.currency), title
            )


def _next_opportunity(ctx: _Context) -> int | None:
    if ctx.opportunities >= PER_ENTITY:
        return None
    ctx.opportunities += 1
    return ctx.opportunities - 1


def _plan_open_updates(ctx: _Context, key: Key, start: int, end: int, amount: float | None) -> None:
    rng = ctx.rng
    for t in open_deal_update_times(rng, start, end, OPEN_OPPORTUNITY_UPDATES_PER_DAY):
        changes: dict[str, Any] = {}
        draw = rng.random()
        if amount is not None and draw < 0.4:
            changes["Amount"] = round_money(amount * (0.8 + 0.5 * rng.random()), ctx.plan.currency)
        if 0.25 < draw < 0.65:
            changes["CloseDate"] = sf_date(t + uniform_ms(rng, 3 * DAY_MS, 60 * DAY_MS))
        if draw > 0.5 or not changes:
            changes["NextStep"] = rng.choice(_NEXT_STEPS)
        if t >= ctx.addition_ms and chance(rng, 0.3):
            changes["Forecast_Notes__c"] = rng.choice(_FORECAST_NOTES)
        ctx.events.add(t, key, "update", changes, ctx.rep)


def _stage_walk(ctx: _Context, key: Key, start: int, end: int) -> None:
    """Open stages after the first at sorted times strictly inside (start, end)."""
    rng = ctx.rng
    later = [s for s in _OPEN[1:] if chance(rng, 0.85)]
    if end - start <= (len(later) + 1) * 1000:
        return
    times = sorted(start + 1000 + int(rng.random() * (end - start - 2000)) for _ in later)
    for t, stage in zip(times, later, strict=True):
        ctx.events.add(t, key, "update", _stage_fields(stage), ctx.rep)


def _plan_won_opportunity(
    ctx: _Context,
    start: int,
    close: int,
    amount_minor: int,
    tier: str,
    seats: int,
    title: str,
    kind: str,
    frequency: str,
) -> None:
    """An opportunity closed won exactly at `close`, with its line item and contract terms."""
    ordinal = _next_opportunity(ctx)
    if ordinal is None:
        return
    plan, rng, events = ctx.plan, ctx.rng, ctx.events
    currency = plan.currency
    tier = tier if tier in TIERS else "pro"
    key = ("Opportunity", ordinal)
    opportunity_id = sf_record_id("Opportunity", plan.entity_index, ordinal)
    amount = _money(amount_minor, currency)
    estimate = round_money(amount * (0.8 + 0.5 * rng.random()), currency)
    expected_close = start + uniform_ms(rng, 20 * DAY_MS, 90 * DAY_MS)
    events.add(
        start,
        key,
        "create",
        _opportunity_fields(ctx, title, kind, estimate, expected_close),
        ctx.rep,
    )
    _stage_walk(ctx, key, start, close)
    line_at = max(start + 1000, close - uniform_ms(rng, 10 * MINUTE_MS, 2 * DAY_MS))
    if line_at >= close:
        line_at = close - 1000
    _plan_open_updates(ctx, key, start + 1000, line_at - 1000, estimate)
    quantity = max(1, seats)
    unit = round_money(amount / quantity, currency)
    total = round_money(unit * quantity, currency)
    product = next(p for p in PRODUCTS if p.key == tier)
    events.add(
        line_at,
        ("OpportunityLineItem", ordinal),
        "create",
        {
            "OpportunityId": opportunity_id,
            "PricebookEntryId": pricebook_entry_id(tier, currency),
            "Product2Id": product2_id(tier),
            "Name": f"{title} {product.name}",
            "ProductCode": tier.upper(),
            "Quantity": float(quantity),
            "ListPrice": _list_price(tier, currency),
            "UnitPrice": unit,
            "TotalPrice": total,
            "ServiceDate": sf_date(close),
            "CurrencyIsoCode": currency.upper(),
        },
        ctx.rep,
    )
    events.add(line_at, key, "update", {"Amount": total, "HasOpportunityLineItem": True}, ctx.rep)
    won = _stage_fields("Closed Won")
    won["CloseDate"] = sf_date(close)
    events.add(close, key, "update", won, ctx.rep)
    term = "12" if kind == "Renewal" else weighted(rng, {"12": 0.7, "24": 0.2, "36": 0.1})
    number = plan.entity_index * PER_ENTITY + ordinal + 1
    events.add(
        close + uniform_ms(rng, HOUR_MS, 3 * DAY_MS),
        ("Contract_Terms__c", ordinal),
        "create",
        {
            "Name": f"CT-{number:05d}",
            "OwnerId": salesforce_user_id(ctx.rep),
            "Account__c": ctx.account_id,
            "Opportunity__c": opportunity_id,
            "Start_Date__c": sf_date(close),
            "End_Date__c": sf_date(add_months(close // 1000, int(term)) * 1000 - DAY_MS),
            "Term_Months__c": float(term),
            "Billing_Frequency__c": frequency,
            "Auto_Renew__c": chance(rng, 0.8),
            "CurrencyIsoCode": currency.upper(),
        },
        ctx.rep,
    )


def _plan_lost_renewal(ctx: _Context, start: int, lost_at: int, amount: float, title: str) -> None:
    ordinal = _next_opportunity(ctx)
    if ordinal is None:
        return
    key = ("Opportunity", ordinal)
    ctx.events.add(
        start, key, "create", _opportunity_fields(ctx, title, "Renewal", amount, lost_at), ctx.rep
    )
    _plan_open_updates(ctx, key, start + 1000, lost_at - 1000, amount)
    lost = _stage_fields("Closed Lost")
    lost["CloseDate"] = sf_date(lost_at)
    lost["Loss_Reason__c"] = "Churned"
    ctx.events.add(lost_at, key, "update", lost, ctx.rep)


def _plan_open_opportunity(ctx: _Context, start: int, amount: float, title: str) -> None:
    """A prospect's opportunity: it stalls, then is lost or is still open at the world's end."""
    if start >= ctx.end_ms:
        return
    ordinal = _next_opportunity(ctx)
    if ordinal is None:
        return
    rng, events = ctx.rng, ctx.events
    key = ("Opportunity", ordinal)
    events.add(
        start,
        key,
        "create",
        _opportunity_fields(
            ctx, title, "New Business", amount, start + uniform_ms(rng, 20 * DAY_MS, 120 * DAY_MS)
        ),
        ctx.rep,
    )
    t = start
    for stage in _OPEN[1 : 1 + rng.randrange(len(_OPEN))]:
        t += uniform_ms(rng, 2 * DAY_MS, 30 * DAY_MS)
        events.add(t, key, "update", _stage_fields(stage), ctx.rep)
    closed = t + uniform_ms(rng, 3 * DAY_MS, 90 * DAY_MS) if chance(rng, 0.55) else ctx.end_ms
    _plan_open_updates(ctx, key, start + 1000, min(closed, ctx.end_ms) - 1000, amount)
    if closed < ctx.end_ms:
        lost = _stage_fields("Closed Lost")
        lost["CloseDate"] = sf_date(closed)
        lost["Loss_Reason__c"] = rng.choice(_LOSS_REASONS)
        events.add(closed, key, "update", lost, ctx.rep)
    _plan_removal(ctx, key, start, PROSPECT_OPPORTUNITY_SOFT_DELETE, 0.0)


def _plan_prospect_deletes(ctx: _Context, created: int) -> None:
    _plan_removal(
        ctx, ("Account", 0), created, PROSPECT_ACCOUNT_SOFT_DELETE, PROSPECT_ACCOUNT_HARD_DELETE
    )
