"""The CRM side of the world: HubSpot for every customer and prospect, Salesforce for the
sales-led customers and some prospects, and the identity truth that ties them to Stripe.

The billing simulation decides a customer's life; `simulate_customer_crm` tells it from the
CRMs' point of view (first touch at ``signup_intent_at``, won deal at ``created``, workspace
ids mapped late, contact edits echoing the Stripe ones). Every entity draws from its own
streams, so the output does not depend on the order entities are simulated in.
"""

from __future__ import annotations

import pathlib
import random

import orjson
import pyarrow as pa

from revstack.sandbox.world import hubspot_sim, salesforce_sim
from revstack.sandbox.world.crm_common import (
    DAY_MS,
    HOUR_MS,
    EntityPlan,
    PersonPlan,
    customer_facts,
    uniform_ms,
)
from revstack.sandbox.world.names import Company, Person, company_for, person_at
from revstack.sandbox.world.rng import chance, stream, weighted
from revstack.sandbox.world.salesforce_schema import schema_document
from revstack.sandbox.world.story import OWNER_COUNT, CustomerStory, Window
from revstack.sandbox.world.tables import Sink, Table

__all__ = [
    "IDENTITY",
    "TABLES",
    "simulate_crm_static",
    "simulate_customer_crm",
    "simulate_prospect_crm",
    "write_crm_metadata",
]

IDENTITY = Table(
    "truth/identity",
    pa.schema(
        [
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("entity_index", pa.int32(), nullable=False),
            pa.field("hubspot_company_id", pa.string(), nullable=False),
            pa.field("hubspot_contact_id", pa.string()),
            pa.field("salesforce_account_id", pa.string()),
            pa.field("salesforce_contact_id", pa.string()),
            pa.field("billing_email_domain_matches", pa.bool_(), nullable=False),
        ]
    ),
    ("customer_id",),
    "Which CRM records are each Stripe customer, as of the world's end: the HubSpot company "
    "and billing contact (the merge winner if it was merged), the Salesforce account and "
    "billing contact (the merge master if merged; null for self-serve customers).",
)
TABLES: list[Table] = [*hubspot_sim.TABLES, *salesforce_sim.TABLES, IDENTITY]

_OTHER_CONTACTS = {"0": 0.35, "1": 0.30, "2": 0.20, "3": 0.10, "4": 0.05}
_PROSPECT_CURRENCIES = {"usd": 0.6, "eur": 0.3, "jpy": 0.1}
_SALES_CYCLE_FLOOR_MS = 60_000


def simulate_customer_crm(story: CustomerStory, window: Window, seed: int, sink: Sink) -> None:
    """HubSpot (and, for sales-led customers, Salesforce) records of one customer, and its
    identity truth row."""
    plan = _customer_plan(story, window, seed)
    hubspot = hubspot_sim.simulate(plan, window, seed, sink)
    if hubspot is None:
        return
    salesforce = None
    if plan.facts is not None and plan.facts.sales_led:
        salesforce = salesforce_sim.simulate(plan, window, seed, sink)
    sink.add(
        IDENTITY,
        {
            "customer_id": story.customer_id,
            "entity_index": story.entity_index,
            "hubspot_company_id": hubspot.company_id,
            "hubspot_contact_id": hubspot.contact_id or None,
            "salesforce_account_id": salesforce.account_id if salesforce else None,
            "salesforce_contact_id": salesforce.contact_id if salesforce else None,
            "billing_email_domain_matches": _domain(story.billing_email)
            == story.company.domain.lower(),
        },
    )


def simulate_prospect_crm(entity_index: int, window: Window, seed: int, sink: Sink) -> None:
    """CRM records of a company that never buys (HubSpot always, Salesforce for some)."""
    plan, in_salesforce = _prospect_plan(entity_index, window, seed)
    hubspot_sim.simulate(plan, window, seed, sink)
    if in_salesforce:
        salesforce_sim.simulate(plan, window, seed, sink)


def simulate_crm_static(window: Window, seed: int, sink: Sink) -> None:
    """Records that belong to no company: HubSpot owners, Salesforce users and price book."""
    sink.extend(hubspot_sim.OWNERS, hubspot_sim.owner_rows(window, seed))
    for name, rows in salesforce_sim.static_rows(window, seed).items():
        sink.extend(salesforce_sim.SF_TABLES[name], rows)


def write_crm_metadata(root: pathlib.Path, window: Window) -> None:
    """``hubspot/pipelines.json`` and ``salesforce/schema.json`` under the world directory."""
    documents = {
        root / "hubspot" / "pipelines.json": hubspot_sim.pipelines_document(window),
        root / "salesforce" / "schema.json": schema_document(window),
    }
    for path, document in documents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


def _domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _customer_plan(story: CustomerStory, window: Window, seed: int) -> EntityPlan:
    """The customer's people and timeline. A sales-led customer's first touch is moved to a
    minute before sign-up at the latest, so its deal has room to exist."""
    end_ms = window.end * 1000
    facts = customer_facts(story, window, seed)
    first = story.signup_intent_at * 1000
    if facts.sales_led:
        first = min(first, facts.created_ms - _SALES_CYCLE_FLOOR_MS)
    rng = stream(seed, "crm-people", story.entity_index)
    billing = PersonPlan(story.billing_contact, first + uniform_ms(rng, 1000, 3000), True)
    people = [billing]
    used = {story.billing_contact.email.lower()}
    for _ in range(int(weighted(rng, _OTHER_CONTACTS))):
        if chance(rng, 0.5) and facts.created_ms > first:
            created = uniform_ms(rng, first + HOUR_MS, facts.created_ms)
        else:
            created = uniform_ms(rng, max(first, facts.created_ms) + HOUR_MS, end_ms)
        people.append(PersonPlan(_new_person(rng, story.company, used), created, False))
    people[1:] = sorted(people[1:], key=lambda p: p.created_ms)
    return EntityPlan(
        entity_index=story.entity_index,
        company=story.company,
        currency=story.currency,
        owner_index=story.owner_index,
        first_touch_ms=first,
        people=people,
        customer_id=story.customer_id,
        facts=facts,
    )


def _prospect_plan(entity_index: int, window: Window, seed: int) -> tuple[EntityPlan, bool]:
    """A prospect's company, people and first touch; whether it is also in Salesforce."""
    rng = stream(seed, "crm-prospect", entity_index)
    currency = weighted(rng, _PROSPECT_CURRENCIES)
    company = company_for(entity_index, rng, currency)
    owner = rng.randrange(OWNER_COUNT)
    start_ms, end_ms = window.start * 1000, window.end * 1000
    first = uniform_ms(rng, start_ms, max(start_ms + 1, end_ms - DAY_MS))
    used: set[str] = set()
    people = [
        PersonPlan(_new_person(rng, company, used), first + uniform_ms(rng, 1000, 3000), True)
    ]
    for _ in range(int(weighted(rng, _OTHER_CONTACTS))):
        people.append(
            PersonPlan(
                _new_person(rng, company, used),
                first + uniform_ms(rng, HOUR_MS, 180 * DAY_MS),
                False,
            )
        )
    people[1:] = sorted(people[1:], key=lambda p: p.created_ms)
    in_salesforce = chance(rng, salesforce_sim.PROSPECT_IN_SALESFORCE)
    plan = EntityPlan(entity_index, company, currency, owner, first, people)
    return plan, in_salesforce


def _new_person(rng: random.Random, company: Company, used: set[str]) -> Person:
    """A person at `company` whose email no earlier contact of the company has."""
    while True:
        person = person_at(rng, company, free_mail=chance(rng, 0.05))
        if person.email.lower() not in used:
            used.add(person.email.lower())
            return person
