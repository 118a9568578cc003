"""Bridges from served JSON back to the world's billing records, so objects written through
the API are rendered by the world's own renderers (`stripe_render`) and share its shapes."""

from __future__ import annotations

from typing import Any

from revstack.sandbox.world import stripe_render
from revstack.sandbox.world.catalog import CouponSpec, PriceSpec
from revstack.sandbox.world.stripe_model import Card, CouponObj, Customer, PriceObj, ProductObj

Json = dict[str, Any]


def test_card(payment_method: str) -> Card:
    """The card an API-created customer pays with when it has no payment method of its own
    (Stripe's test Visa)."""
    return Card(payment_method, "visa", "4242", 12, 2034, "US", "FakeVisa4242Fp00", "credit")


def shaped(resource: str, values: Json) -> Json:
    """An object with the keys of Stripe's example `resource`, in its order, then `values`."""
    obj: Json = dict.fromkeys(stripe_render.fixtures()[resource])
    obj.update(values)
    return obj


def card_from(customer: Json, charge: Json | None, fallback_pm: str) -> Card:
    """The card a customer pays with: from its last charge when it has one."""
    details = ((charge or {}).get("payment_method_details") or {}).get("card")
    payment_method = (customer.get("invoice_settings") or {}).get(
        "default_payment_method"
    ) or fallback_pm
    if details:
        return Card(
            payment_method=payment_method,
            brand=details["brand"],
            last4=details["last4"],
            exp_month=details["exp_month"],
            exp_year=details["exp_year"],
            country=details["country"],
            fingerprint=details["fingerprint"],
            funding=details["funding"],
        )
    return test_card(payment_method)


def customer_model(customer: Json, card: Card, next_invoice_sequence: int) -> Customer:
    return Customer(
        id=customer["id"],
        created=customer["created"],
        email=customer.get("email") or "",
        name=customer.get("name") or "",
        phone=customer.get("phone") or "",
        country=(customer.get("address") or {}).get("country") or "US",
        invoice_prefix=customer.get("invoice_prefix") or "FAKE0000",
        card=card,
        currency=customer.get("currency"),
        metadata=dict(customer.get("metadata") or {}),
        delinquent=bool(customer.get("delinquent")),
        next_invoice_sequence=next_invoice_sequence,
    )


def product_model(product: Json) -> ProductObj:
    return ProductObj(
        id=product["id"],
        key=(product.get("metadata") or {}).get("tier", ""),
        name=product.get("name") or "",
        description=product.get("description") or "",
        created=product["created"],
        default_price=product.get("default_price"),
    )


def price_model(price: Json, product: Json) -> PriceObj:
    recurring = price.get("recurring") or {}
    spec = PriceSpec(
        key=price.get("lookup_key") or "",
        tier=(product.get("metadata") or {}).get("tier", ""),
        currency=price["currency"],
        interval=recurring.get("interval") or "month",
        interval_count=recurring.get("interval_count") or 1,
        unit_amount=price.get("unit_amount") or 0,
    )
    return PriceObj(
        id=price["id"], spec=spec, product=product_model(product), created=price["created"]
    )


def coupon_model(coupon: Json) -> CouponObj:
    spec = CouponSpec(
        id=coupon["id"],
        name=coupon.get("name") or coupon["id"],
        duration=coupon["duration"],
        duration_in_months=coupon.get("duration_in_months"),
        percent_off=coupon.get("percent_off"),
        amount_off=coupon.get("amount_off"),
        currency=coupon.get("currency"),
    )
    return CouponObj(
        spec=spec, created=coupon["created"], times_redeemed=coupon.get("times_redeemed") or 0
    )
