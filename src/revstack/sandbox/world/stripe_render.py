"""Stripe-shaped JSON for the billing simulation's records.

Every object starts from the key set of Stripe's own example object of its type
(`revstack/sandbox/data/stripe_fixtures.json`, from the public stripe/openapi repository), so
field names and nesting are the real ones; fields the simulation has no use for are null, as
Stripe returns unset fields. `as_of` renders time-dependent fields (balance transaction status)
as they stood at that moment.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from revstack.sandbox.world.stripe_model import (
    BalanceTransaction,
    Card,
    Charge,
    CouponObj,
    Customer,
    Discount,
    Dispute,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    PaymentIntent,
    Payout,
    PriceObj,
    ProductObj,
    Refund,
    Subscription,
)

API_VERSION = "2026-10-28.endive"
ACCOUNT_COUNTRY = "US"
ACCOUNT_NAME = "Northwind Software Inc"

Json = dict[str, Any]


@cache
def fixtures() -> dict[str, Json]:
    """Stripe's example object per resource type."""
    text = resources.files("revstack.sandbox.data").joinpath("stripe_fixtures.json").read_text()
    data: dict[str, Json] = json.loads(text)["resources"]
    return data


@cache
def _keys(resource: str) -> tuple[str, ...]:
    return tuple(fixtures()[resource])


def _blank(resource: str) -> Json:
    """A dict with the resource's keys in Stripe's order, every value null."""
    return dict.fromkeys(_keys(resource))


#: Fields real Stripe returns only in some states, absent from the example objects.
CONDITIONAL_FIELDS = {"refund": frozenset({"failure_balance_transaction", "failure_reason"})}


@cache
def _allowed(resource: str) -> frozenset[str]:
    return frozenset(_keys(resource)) | CONDITIONAL_FIELDS.get(resource, frozenset())


def _fill(resource: str, values: Json) -> Json:
    if not values.keys() <= _allowed(resource):
        unknown = sorted(set(values) - _allowed(resource))
        raise KeyError(f"{resource} has no field(s) {unknown}")
    obj = _blank(resource)
    obj.update(values)
    return obj


_EMPTY_ADDRESS: Json = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}


def product(obj: ProductObj) -> Json:
    return _fill(
        "product",
        {
            "active": True,
            "created": obj.created,
            "default_price": obj.default_price,
            "description": obj.description,
            "id": obj.id,
            "images": [],
            "livemode": False,
            "marketing_features": [],
            "metadata": {"tier": obj.key},
            "name": obj.name,
            "object": "product",
            "package_dimensions": None,
            "shippable": None,
            "statement_descriptor": None,
            "tax_code": None,
            "unit_label": "seat",
            "updated": obj.created,
            "url": None,
            "type": "service",
        },
    )


def price(obj: PriceObj, as_of: int) -> Json:
    spec = obj.spec
    return _fill(
        "price",
        {
            "active": obj.retired_at is None or as_of < obj.retired_at,
            "billing_scheme": "per_unit",
            "created": obj.created,
            "currency": spec.currency,
            "custom_unit_amount": None,
            "id": obj.id,
            "livemode": False,
            "lookup_key": spec.key,
            "metadata": {},
            "nickname": None,
            "object": "price",
            "product": obj.product.id,
            "recurring": {
                "interval": spec.interval,
                "interval_count": spec.interval_count,
                "meter": None,
                "usage_type": "licensed",
                "trial_period_days": None,
            },
            "tax_behavior": "exclusive",
            "tiers_mode": None,
            "transform_quantity": None,
            "type": "recurring",
            "unit_amount": spec.unit_amount,
            "unit_amount_decimal": str(spec.unit_amount),
        },
    )


def coupon(obj: CouponObj) -> Json:
    spec = obj.spec
    return _fill(
        "coupon",
        {
            "amount_off": spec.amount_off,
            "created": obj.created,
            "currency": spec.currency,
            "duration": spec.duration,
            "duration_in_months": spec.duration_in_months,
            "id": spec.id,
            "livemode": False,
            "max_redemptions": None,
            "metadata": {},
            "name": spec.name,
            "object": "coupon",
            "percent_off": spec.percent_off,
            "redeem_by": None,
            "times_redeemed": obj.times_redeemed,
            "valid": True,
        },
    )


def discount(obj: Discount) -> Json:
    return _fill(
        "discount",
        {
            "checkout_session": None,
            "customer": obj.customer,
            "end": obj.end,
            "id": obj.id,
            "invoice": None,
            "invoice_item": None,
            "object": "discount",
            "promotion_code": None,
            "start": obj.start,
            "subscription": obj.subscription,
            "subscription_item": None,
            "source": {"coupon": obj.coupon.spec.id, "type": "coupon"},
        },
    )


def customer(obj: Customer) -> Json:
    return _fill(
        "customer",
        {
            "address": {**_EMPTY_ADDRESS, "country": obj.country},
            "balance": 0,
            "created": obj.created,
            "currency": obj.currency,
            "default_source": None,
            "delinquent": obj.delinquent,
            "description": None,
            "discount": None,
            "email": obj.email,
            "id": obj.id,
            "invoice_prefix": obj.invoice_prefix,
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": obj.card.payment_method,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": dict(obj.metadata),
            "name": obj.name,
            "next_invoice_sequence": obj.next_invoice_sequence,
            "object": "customer",
            "phone": obj.phone,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        },
    )


def subscription_item(sub: Subscription, as_of: int) -> Json:
    return _fill(
        "subscription_item",
        {
            "created": sub.item_created,
            "discounts": [],
            "id": sub.item_id,
            "metadata": {},
            "object": "subscription_item",
            "price": price(sub.price, as_of),
            "quantity": sub.quantity,
            "subscription": sub.id,
            "tax_rates": [],
            "current_period_end": sub.current_period_end,
            "current_period_start": sub.current_period_start,
        },
    )


def subscription(sub: Subscription, as_of: int) -> Json:
    return _fill(
        "subscription",
        {
            "application": None,
            "application_fee_percent": None,
            "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
            "billing_cycle_anchor": sub.billing_cycle_anchor,
            "billing_cycle_anchor_config": None,
            "cancel_at": sub.cancel_at,
            "canceled_at": sub.canceled_at,
            "cancellation_details": {
                "comment": None,
                "feedback": sub.cancellation_feedback,
                "reason": sub.cancellation_reason,
            },
            "collection_method": "charge_automatically",
            "created": sub.created,
            "currency": sub.price.spec.currency,
            "customer": sub.customer,
            "days_until_due": None,
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [sub.discount.id] if sub.discount else [],
            "ended_at": sub.ended_at,
            "id": sub.id,
            "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
            "items": {
                "data": [subscription_item(sub, as_of)],
                "has_more": False,
                "object": "list",
                "url": f"/v1/subscription_items?subscription={sub.id}",
            },
            "latest_invoice": sub.latest_invoice,
            "livemode": False,
            "metadata": {"workspace_id": sub.workspace_id},
            "next_pending_invoice_item_invoice": None,
            "object": "subscription",
            "on_behalf_of": None,
            "pause_collection": None,
            "payment_settings": {
                "payment_method_options": None,
                "payment_method_types": None,
                "save_default_payment_method": "off",
            },
            "pending_invoice_item_interval": None,
            "pending_setup_intent": None,
            "pending_update": None,
            "schedule": None,
            "start_date": sub.created,
            "status": sub.status,
            "test_clock": None,
            "transfer_data": None,
            "trial_end": sub.trial_end,
            "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
            "trial_start": sub.trial_start,
            "cancel_at_period_end": sub.cancel_at_period_end,
            "billing_thresholds": None,
            "billing_mode": {"type": "classic"},
        },
    )


def invoice_line(line: InvoiceLine, invoice: Invoice) -> Json:
    return _fill(
        "line_item",
        {
            "amount": line.amount,
            "currency": invoice.currency,
            "description": line.description,
            "discount_amounts": (
                [{"amount": line.discount_amount, "discount": invoice.discount.id}]
                if invoice.discount is not None and line.discount_amount
                else []
            ),
            "discountable": True,
            "discounts": [],
            "id": line.id,
            "invoice": invoice.id,
            "livemode": False,
            "metadata": {},
            "object": "line_item",
            "period": {"end": line.period_end, "start": line.period_start},
            "quantity": line.quantity,
            "subscription": invoice.subscription,
            "pretax_credit_amounts": [],
            "taxes": [],
            "parent": {
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": line.proration,
                    "proration_details": {"credited_items": None},
                    "subscription": invoice.subscription,
                    "subscription_item": line.subscription_item,
                },
                "type": "subscription_item_details",
            },
            "pricing": {
                "price_details": {"price": line.price.id, "product": line.price.product.id},
                "type": "price_details",
                "unit_amount_decimal": str(line.price.spec.unit_amount),
            },
            "subtotal": line.amount,
        },
    )


def invoice(inv: Invoice) -> Json:
    total = inv.total
    paid = inv.amount_paid
    remaining = 0 if inv.status in ("paid", "void") else total
    discount_total = (
        [{"amount": inv.discount_total, "discount": inv.discount.id}]
        if inv.discount is not None and inv.discount_total
        else []
    )
    return _fill(
        "invoice",
        {
            "account_country": ACCOUNT_COUNTRY,
            "account_name": ACCOUNT_NAME,
            "account_tax_ids": None,
            "amount_due": total,
            "amount_paid": paid,
            "amount_remaining": remaining,
            "amount_shipping": 0,
            "application": None,
            "attempt_count": inv.attempt_count,
            "attempted": inv.attempt_count > 0,
            "auto_advance": inv.status in ("draft", "open"),
            "automatic_tax": {
                "enabled": False,
                "liability": None,
                "status": None,
                "disabled_reason": None,
                "provider": None,
            },
            "billing_reason": inv.billing_reason,
            "collection_method": "charge_automatically",
            "created": inv.created,
            "currency": inv.currency,
            "custom_fields": None,
            "customer": inv.customer.id,
            "customer_address": {**_EMPTY_ADDRESS, "country": inv.customer.country},
            "customer_email": inv.customer_email,
            "customer_name": inv.customer_name,
            "customer_phone": inv.customer_phone,
            "customer_shipping": None,
            "customer_tax_exempt": "none",
            "customer_tax_ids": [],
            "default_payment_method": None,
            "default_source": None,
            "default_tax_rates": [],
            "description": None,
            "discounts": [inv.discount.id] if inv.discount is not None else [],
            "due_date": None,
            "effective_at": inv.finalized_at,
            "ending_balance": 0 if inv.finalized_at is not None else None,
            "footer": None,
            "from_invoice": None,
            "hosted_invoice_url": None,
            "id": inv.id,
            "invoice_pdf": None,
            "issuer": {"type": "self"},
            "last_finalization_error": None,
            "latest_revision": None,
            "lines": {
                "data": [invoice_line(line, inv) for line in inv.lines],
                "has_more": False,
                "object": "list",
                "url": f"/v1/invoices/{inv.id}/lines",
            },
            "livemode": False,
            "metadata": {},
            "next_payment_attempt": inv.next_payment_attempt,
            "number": inv.number if inv.finalized_at is not None else None,
            "object": "invoice",
            "on_behalf_of": None,
            "payment_settings": {
                "default_mandate": None,
                "payment_method_options": None,
                "payment_method_types": None,
            },
            "period_end": inv.period_end,
            "period_start": inv.period_start,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "receipt_number": None,
            "rendering": None,
            "shipping_cost": None,
            "shipping_details": None,
            "starting_balance": 0,
            "statement_descriptor": None,
            "status": inv.status,
            "status_transitions": {
                "finalized_at": inv.finalized_at,
                "marked_uncollectible_at": inv.marked_uncollectible_at,
                "paid_at": inv.paid_at,
                "voided_at": inv.voided_at,
            },
            "subtotal": inv.subtotal,
            "subtotal_excluding_tax": inv.subtotal,
            "test_clock": None,
            "total": total,
            "total_discount_amounts": discount_total,
            "total_excluding_tax": total,
            "webhooks_delivered_at": inv.created,
            "automatically_finalizes_at": None,
            "total_pretax_credit_amounts": [],
            "total_taxes": [],
            "amount_overpaid": 0,
            "parent": {
                "quote_details": None,
                "subscription_details": {"metadata": {}, "subscription": inv.subscription},
                "type": "subscription_details",
            },
        },
    )


def invoice_payment(obj: InvoicePayment) -> Json:
    return _fill(
        "invoice_payment",
        {
            "amount_paid": obj.amount_requested if obj.status == "paid" else None,
            "amount_requested": obj.amount_requested,
            "created": obj.created,
            "currency": obj.currency,
            "id": obj.id,
            "invoice": obj.invoice,
            "is_default": True,
            "livemode": False,
            "object": "invoice_payment",
            "payment": {"payment_intent": obj.payment_intent, "type": "payment_intent"},
            "status": obj.status,
            "status_transitions": {"canceled_at": None, "paid_at": obj.paid_at},
        },
    )


def payment_intent(obj: PaymentIntent) -> Json:
    error = None
    if obj.last_error_code is not None and obj.status != "succeeded":
        error = {
            "code": "card_declined",
            "decline_code": obj.last_error_code,
            "message": obj.last_error_message,
            "type": "card_error",
            "charge": obj.latest_charge,
        }
    return _fill(
        "payment_intent",
        {
            "amount": obj.amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": obj.amount_received,
            "application": None,
            "application_fee_amount": None,
            "automatic_payment_methods": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic",
            "client_secret": f"{obj.id}_secret_{obj.id[-12:][::-1]}",
            "confirmation_method": "automatic",
            "created": obj.created,
            "currency": obj.currency,
            "customer": obj.customer,
            "description": obj.description,
            "id": obj.id,
            "last_payment_error": error,
            "latest_charge": obj.latest_charge,
            "livemode": False,
            "metadata": {},
            "next_action": None,
            "object": "payment_intent",
            "on_behalf_of": None,
            "payment_method": obj.payment_method,
            "payment_method_configuration_details": None,
            "payment_method_options": {},
            "payment_method_types": ["card"],
            "processing": None,
            "receipt_email": None,
            "review": None,
            "setup_future_usage": "off_session",
            "shipping": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": obj.status,
            "transfer_data": None,
            "transfer_group": None,
            "source": None,
            "excluded_payment_method_types": None,
        },
    )


def _card_details(card: Card, amount: int) -> Json:
    return {
        "card": {
            "amount_authorized": amount,
            "brand": card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": "pass",
                "cvc_check": None,
            },
            "country": card.country,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "fingerprint": card.fingerprint,
            "funding": card.funding,
            "last4": card.last4,
            "network": card.brand,
            "three_d_secure": None,
            "wallet": None,
        },
        "type": "card",
    }


def charge(obj: Charge) -> Json:
    succeeded = obj.status == "succeeded"
    rendered = _fill(
        "charge",
        {
            "amount": obj.amount,
            "amount_captured": obj.amount if succeeded else 0,
            "amount_refunded": obj.amount_refunded,
            "application": None,
            "application_fee": None,
            "application_fee_amount": None,
            "balance_transaction": obj.balance_transaction.id if obj.balance_transaction else None,
            "billing_details": {
                "address": {**_EMPTY_ADDRESS, "country": obj.customer.country},
                "email": obj.billing_email,
                "name": obj.billing_name,
                "phone": None,
                "tax_id": None,
            },
            "calculated_statement_descriptor": "NORTHWIND SOFTWARE",
            "captured": succeeded,
            "created": obj.created,
            "currency": obj.currency,
            "customer": obj.customer.id,
            "description": obj.description,
            "disputed": obj.disputed,
            "failure_balance_transaction": None,
            "failure_code": obj.failure_code,
            "failure_message": obj.failure_message,
            "fraud_details": {},
            "id": obj.id,
            "livemode": False,
            "metadata": {},
            "object": "charge",
            "on_behalf_of": None,
            "outcome": {
                "advice_code": None,
                "network_advice_code": None,
                "network_decline_code": None,
                "network_status": "approved_by_network" if succeeded else "declined_by_network",
                "reason": None if succeeded else obj.failure_code,
                "seller_message": "Payment complete." if succeeded else "The bank declined.",
                "type": "authorized" if succeeded else "issuer_declined",
            },
            "paid": succeeded,
            "payment_intent": obj.payment_intent,
            "payment_method": obj.card.payment_method,
            "payment_method_details": _card_details(obj.card, obj.amount),
            "receipt_email": None,
            "receipt_number": None,
            "receipt_url": None,
            "refunded": succeeded and obj.amount_refunded == obj.amount,
            "review": None,
            "shipping": None,
            "source_transfer": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": obj.status,
            "transfer_data": None,
            "transfer_group": None,
        },
    )
    # Since API version 2022-11-15 charges include `refunds` only when expanded.
    del rendered["refunds"]
    return rendered


def balance_transaction(obj: BalanceTransaction, as_of: int) -> Json:
    fee_details = []
    if obj.fee:
        fee_details.append(
            {
                "amount": obj.fee,
                "application": None,
                "currency": obj.currency,
                "description": "Dispute fee"
                if obj.type == "adjustment"
                else "Stripe processing fees",
                "type": "stripe_fee",
            }
        )
    return _fill(
        "balance_transaction",
        {
            "amount": obj.amount,
            "available_on": obj.available_on,
            "created": obj.created,
            "currency": obj.currency,
            "description": obj.description,
            "exchange_rate": None,
            "fee": obj.fee,
            "fee_details": fee_details,
            "id": obj.id,
            "net": obj.net,
            "object": "balance_transaction",
            "reporting_category": obj.reporting_category,
            "source": obj.source,
            "status": "available" if obj.available_on <= as_of else "pending",
            "type": obj.type,
            "balance_type": "payments",
        },
    )


def refund(obj: Refund) -> Json:
    failure: Json = {}
    if obj.failure_balance_transaction is not None:
        failure = {
            "failure_balance_transaction": obj.failure_balance_transaction.id,
            "failure_reason": obj.failure_reason,
        }
    return _fill(
        "refund",
        {
            "amount": obj.amount,
            "balance_transaction": obj.balance_transaction.id,
            "charge": obj.charge.id,
            "created": obj.created,
            "currency": obj.charge.currency,
            "destination_details": {"card": {"type": "refund"}, "type": "card"},
            "id": obj.id,
            "metadata": {},
            "object": "refund",
            "payment_intent": obj.charge.payment_intent,
            "reason": obj.reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": obj.status,
            "transfer_reversal": None,
            "customer": obj.charge.customer.id,
            "payment_method": obj.charge.card.payment_method,
            **failure,
        },
    )


def dispute(obj: Dispute, as_of: int) -> Json:
    return _fill(
        "dispute",
        {
            "amount": obj.amount,
            "balance_transactions": [
                balance_transaction(bt, as_of) for bt in obj.balance_transactions
            ],
            "charge": obj.charge.id,
            "created": obj.created,
            "currency": obj.charge.currency,
            "evidence": None,
            "evidence_details": {
                "due_by": obj.due_by,
                "has_evidence": obj.has_evidence,
                "past_due": obj.past_due,
                "submission_count": obj.submission_count,
                "enhanced_eligibility": {},
            },
            "id": obj.id,
            "is_charge_refundable": obj.inquiry,
            "livemode": False,
            "metadata": {},
            "object": "dispute",
            "payment_intent": obj.charge.payment_intent,
            "payment_method_details": {
                "card": {
                    "brand": obj.charge.card.brand,
                    "case_type": "inquiry" if obj.inquiry else "chargeback",
                    "network_reason_code": obj.network_reason_code,
                },
                "type": "card",
            },
            "reason": obj.reason,
            "status": obj.status,
            "enhanced_eligibility_types": [],
        },
    )


def payout(obj: Payout, as_of: int) -> Json:
    return _fill(
        "payout",
        {
            "amount": obj.amount,
            "application_fee": None,
            "application_fee_amount": None,
            "arrival_date": obj.arrival_date,
            "automatic": True,
            "balance_transaction": obj.balance_transaction.id,
            "created": obj.created,
            "currency": obj.currency,
            "description": "STRIPE PAYOUT",
            "destination": obj.destination,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "id": obj.id,
            "livemode": False,
            "metadata": {},
            "method": "standard",
            "object": "payout",
            "original_payout": None,
            "reconciliation_status": "completed" if obj.arrival_date <= as_of else "not_applicable",
            "reversed_by": None,
            "source_type": "card",
            "statement_descriptor": None,
            "status": "paid" if obj.arrival_date <= as_of else "in_transit",
            "type": "bank_account",
        },
    )


def event(
    event_id: str,
    event_type: str,
    created: int,
    data_object: Json,
    previous_attributes: Json | None,
    request_id: str | None,
    idempotency_key: str | None,
) -> Json:
    data: Json = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return _fill(
        "event",
        {
            "api_version": API_VERSION,
            "created": created,
            "data": data,
            "id": event_id,
            "livemode": False,
            "object": "event",
            "pending_webhooks": 1,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": event_type,
        },
    )


def previous_attributes(before: Json, after: Json) -> Json:
    """The fields of `before` that differ in `after`, as Stripe reports them on ``*.updated``:
    nested objects narrowed to their changed keys, arrays and scalars given whole, and keys the
    update added given as null."""
    changed: Json = {}
    for key, old in before.items():
        new = after.get(key)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed[key] = previous_attributes(old, new)
        else:
            changed[key] = old
    for key in after.keys() - before.keys():
        changed[key] = None
    return changed
