"""Who a simulated customer is: drawn once, before their life in Stripe begins."""

from __future__ import annotations

import math
import random

from revstack.sandbox.world.behaviour import Behaviour
from revstack.sandbox.world.clock import DAY, HOUR, to_datetime
from revstack.sandbox.world.ids import hubspot_id, sf_record_id, stripe_id
from revstack.sandbox.world.names import company_for, person_at
from revstack.sandbox.world.rng import chance, weighted
from revstack.sandbox.world.story import (
    OWNER_COUNT,
    CustomerStory,
    Window,
)
from revstack.sandbox.world.stripe_model import (
    Card,
    Customer,
)

_CARD_BRANDS = ("visa", "visa", "mastercard", "amex", "jcb")


def draw_customer(
    index: int, window: Window, behaviour: Behaviour, rng: random.Random, id_rng: random.Random
) -> tuple[Customer, CustomerStory]:
    """Who customer `index` is: company, contact, currency, channel, sign-up time, card.

    `rng` draws the customer's traits, `id_rng` its Stripe ids.
    """
    b, w = behaviour, window
    # Sign-ups grow exponentially: density proportional to exp(g x) on [0, 1).
    g = math.log(b.signup_growth)
    x = math.log1p(rng.random() * math.expm1(g)) / g
    created = w.start + 3 * HOUR + int(x * (w.end - w.start - DAY))
    currency = weighted(rng, b.currency_mix)
    channel = "sales_led" if chance(rng, b.sales_led_share) else "self_serve"
    company = company_for(index, rng, currency)
    contact = person_at(rng, company)
    if chance(rng, b.free_mail_share):
        billing_email = person_at(rng, company, free_mail=True).email
    elif chance(rng, b.billing_alias_share):
        billing_email = f"billing@{company.domain}"
    else:
        billing_email = contact.email
    lead_days = rng.randint(20, 90) if channel == "sales_led" else rng.randint(0, 14)
    intent = max(w.start, created - lead_days * DAY - rng.randrange(DAY))
    metadata: dict[str, str] = {}
    if chance(rng, b.hubspot_id_in_metadata):
        metadata["hubspot_company_id"] = hubspot_id("companies", index)
    if channel == "sales_led" and chance(rng, b.salesforce_id_in_metadata):
        metadata["salesforce_account_id"] = sf_record_id("Account", index)
    name = company.name if channel == "sales_led" or chance(rng, 0.5) else contact.full_name
    card = Card(
        payment_method=stripe_id(id_rng, "pm", 24),
        brand=rng.choice(_CARD_BRANDS),
        last4=f"{rng.randrange(10_000):04d}",
        exp_month=rng.randint(1, 12),
        exp_year=to_datetime(created).year + rng.randint(1, 5),
        country=company.country,
        fingerprint="".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop", k=16)),
        funding=rng.choice(("credit", "credit", "debit")),
    )
    customer = Customer(
        id=stripe_id(id_rng, "cus", 14),
        created=created,
        email=billing_email,
        name=name,
        phone=contact.phone,
        country=company.country,
        invoice_prefix="".join(rng.choices("0123456789ABCDEF", k=8)),
        card=card,
        metadata=metadata,
    )
    story = CustomerStory(
        entity_index=index,
        customer_id=customer.id,
        created=created,
        currency=currency,
        channel=channel,
        company=company,
        billing_contact=contact,
        billing_email=billing_email,
        owner_index=rng.randrange(OWNER_COUNT),
        signup_intent_at=intent,
        stripe_metadata=dict(metadata),
    )
    return customer, story
