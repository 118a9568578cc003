"""One card payment attempt made through the API: the charge, its balance transaction (with
the world's processing fee) when it succeeds, and ``charge.succeeded`` / ``charge.failed``;
and the dispute a ``createDispute`` test card opens afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from revstack.sandbox.fakes.stripe.billing import fee
from revstack.sandbox.fakes.stripe.cards import PaymentCard
from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.forms import Params
from revstack.sandbox.fakes.stripe.models import customer_model
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.world_index import Record
from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.behaviour import DISPUTE_FEES
from revstack.sandbox.world.clock import DAY, day_start
from revstack.sandbox.world.stripe_model import BalanceTransaction, Charge, Customer, Dispute

#: Stripe's minimum charge per currency (minor units); other currencies use 50.
MINIMUM_AMOUNTS = {"usd": 50, "eur": 50, "gbp": 30, "jpy": 50}
MAXIMUM_AMOUNT = 99_999_999


_SYMBOLS = {"usd": "$", "eur": "\u20ac", "gbp": "\u00a3", "jpy": "\u00a5"}


def _display(amount: int, currency: str) -> str:
    symbol = _SYMBOLS.get(currency, "")
    if currency == "jpy":
        return f"{symbol}{amount:,}"
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}"


def currency_of(params: Params, *, required: bool = True) -> str | None:
    value = params.string("currency", required=required)
    if value is None:
        return None
    currency = value.lower()
    if len(currency) != 3 or not currency.isalpha():
        raise StripeRequestError(f"Invalid currency: {value}", param=params.name("currency"))
    return currency


def money(params: Params) -> tuple[int, str]:
    """A payment's ``amount`` and ``currency``, within Stripe's minimum and maximum."""
    amount = params.integer("amount", required=True, minimum=1) or 0
    currency = currency_of(params) or ""
    lowest = MINIMUM_AMOUNTS.get(currency, 50)
    if amount < lowest:
        raise StripeRequestError(
            f"Amount must be at least {_display(lowest, currency)} {currency}",
            code="amount_too_small",
            param="amount",
        )
    if amount > MAXIMUM_AMOUNT:
        raise StripeRequestError(
            f"Amount must be no more than {_display(MAXIMUM_AMOUNT, currency)} {currency}",
            code="amount_too_large",
            param="amount",
        )
    return amount, currency


@dataclass
class Attempt:
    """What one attempt made: the charge (a world model and its JSON) and its record."""

    model: Charge
    charge: Json
    record: Record

    @property
    def succeeded(self) -> bool:
        return bool(self.charge["status"] == "succeeded")


def blank_evidence() -> Json:
    """A dispute's ``evidence`` before anything was given (every field null)."""
    evidence: Json = dict.fromkeys(render.fixtures()["dispute"]["evidence"])
    evidence["enhanced_evidence"] = {}
    return evidence


def _customer(customer: Json | None, payment: PaymentCard) -> Customer:
    if customer is not None:
        return customer_model(customer, payment.card, 1)
    return Customer("", 0, "", "", "", "", "", payment.card)


def charge_card(
    write: Write,
    *,
    amount: int,
    currency: str,
    customer: Json | None,
    payment: PaymentCard,
    payment_intent: str | None,
    description: str | None,
    metadata: dict[str, str] | None = None,
    receipt_email: str | None = None,
) -> Attempt:
    """Charge `payment` for `amount`: a succeeded charge with its balance transaction, or a
    failed one when the card declines. Emits the charge's event."""
    store, at = write.store, write.at
    decline = payment.decline
    attached = payment.attached and customer is not None
    model = Charge(
        id=store.new_id("ch"),
        created=at,
        amount=amount,
        currency=currency,
        customer=_customer(customer, payment),
        payment_intent=payment_intent or "",
        description=description or "",
        card=payment.card,
        status="failed" if decline else "succeeded",
        billing_email=((customer or {}).get("email") or "") if attached else "",
        billing_name=((customer or {}).get("name") or "") if attached else "",
        failure_code=decline.code if decline else None,
        failure_message=decline.message if decline else None,
    )
    if decline is None:
        model.balance_transaction = BalanceTransaction(
            id=store.new_id("txn"),
            created=at,
            amount=amount,
            fee=fee(amount, currency),
            currency=currency,
            type="charge",
            reporting_category="charge",
            source=model.id,
            available_on=day_start(at) + 2 * DAY,
            description=description,
        )
        write.create(render.balance_transaction(model.balance_transaction, at))
    charge = render.charge(model)
    charge.update(
        customer=customer["id"] if customer is not None else None,
        payment_intent=payment_intent,
        description=description,
        metadata=dict(metadata or {}),
        receipt_email=receipt_email,
    )
    if not attached:
        charge["billing_details"].update(email=None, name=None)
        charge["billing_details"]["address"]["country"] = None
    if decline is not None:
        charge["outcome"].update(
            reason=decline.decline_code,
            seller_message="The bank did not return any further details with this decline.",
        )
    record = write.create(charge)
    write.emit("charge.succeeded" if decline is None else "charge.failed", charge)
    return Attempt(model, charge, record)


def open_dispute(write: Write, attempt: Attempt, kind: str) -> None:
    """The cardholder disputes a succeeded charge (``chargeback`` withdraws the amount and
    the dispute fee at once; an ``inquiry`` withdraws nothing), as a ``createDispute`` test
    card makes Stripe do."""
    store, at, model = write.store, write.at, attempt.model
    inquiry = kind == "inquiry"
    dispute = Dispute(
        id=store.new_id("dp"),
        created=at,
        amount=model.amount,
        charge=model,
        reason="fraudulent",
        inquiry=inquiry,
        status="warning_needs_response" if inquiry else "needs_response",
        due_by=day_start(at) + 8 * DAY - 1,
        network_reason_code="10.4",
    )
    model.disputed = True
    attempt.charge = {**attempt.charge, "disputed": True}
    write.update(attempt.record, attempt.charge)
    if not inquiry:
        dispute.balance_transactions.append(
            BalanceTransaction(
                id=store.new_id("txn"),
                created=at,
                amount=-model.amount,
                fee=DISPUTE_FEES.get(model.currency, DISPUTE_FEES["usd"]),
                currency=model.currency,
                type="adjustment",
                reporting_category="dispute",
                source=dispute.id,
                available_on=at,
                description=f"Chargeback withdrawal for {model.id}",
            )
        )
        write.create(render.balance_transaction(dispute.balance_transactions[0], at))
    obj = render.dispute(dispute, at)
    obj.update(payment_intent=attempt.charge.get("payment_intent"), evidence=blank_evidence())
    write.create(obj)
    write.emit("charge.dispute.created", obj)
    if not inquiry:
        write.emit("charge.dispute.funds_withdrawn", obj)
