"""What a payment is made with: Stripe's test payment methods and tokens (``pm_card_visa``,
``tok_chargeDeclined`` ...), or a card a customer already paid with; and the 402
``card_error`` Stripe answers a declined card with."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from revstack.sandbox.fakes.stripe.errors import DOCS, StripeRequestError, no_such
from revstack.sandbox.fakes.stripe.models import card_from
from revstack.sandbox.fakes.stripe.store import Json, StripeStore
from revstack.sandbox.world.ids import base62
from revstack.sandbox.world.stripe_model import Card


@dataclass(frozen=True)
class Decline:
    code: str
    decline_code: str
    message: str
    param: str | None = None


GENERIC = Decline("card_declined", "generic_decline", "Your card was declined.")
DECLINES = {
    "chargeDeclined": GENERIC,
    "chargeDeclinedInsufficientFunds": Decline(
        "card_declined", "insufficient_funds", "Your card has insufficient funds."
    ),
    "chargeDeclinedLostCard": Decline("card_declined", "lost_card", GENERIC.message),
    "chargeDeclinedStolenCard": Decline("card_declined", "stolen_card", GENERIC.message),
    "chargeDeclinedExpiredCard": Decline(
        "expired_card", "expired_card", "Your card has expired.", "exp_month"
    ),
    "chargeDeclinedIncorrectCvc": Decline(
        "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect.", "cvc"
    ),
    "chargeDeclinedProcessingError": Decline(
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
}


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    funding: str = "credit"
    decline: Decline | None = None
    dispute: str | None = None
    """``chargeback`` or ``inquiry``: the payment succeeds, then the cardholder disputes it."""


_BRANDS = {
    "visa": TestCard("4242424242424242", "visa"),
    "visa_debit": TestCard("4000056655665556", "visa", "debit"),
    "mastercard": TestCard("5555555555554444", "mastercard"),
    "amex": TestCard("378282246310005", "amex"),
    "discover": TestCard("6011111111111117", "discover"),
}
_SPECIAL = {
    "chargeDeclined": "4000000000000002",
    "chargeDeclinedInsufficientFunds": "4000000000009995",
    "chargeDeclinedLostCard": "4000000000009987",
    "chargeDeclinedStolenCard": "4000000000009979",
    "chargeDeclinedExpiredCard": "4000000000000069",
    "chargeDeclinedIncorrectCvc": "4000000000000127",
    "chargeDeclinedProcessingError": "4000000000000119",
}
TEST_CARDS: dict[str, TestCard] = {
    **_BRANDS,
    **{name: TestCard(number, "visa", decline=DECLINES[name]) for name, number in _SPECIAL.items()},
    "createDispute": TestCard("4000000000000259", "visa", dispute="chargeback"),
    "createDisputeInquiry": TestCard("4000000000001976", "visa", dispute="inquiry"),
}


@dataclass(frozen=True)
class PaymentCard:
    """The card one payment attempt is made with."""

    card: Card
    decline: Decline | None = None
    dispute: str | None = None
    attached: bool = True
    """Whether the card is the customer's own (billing details come from the customer)."""


def test_card_name(identifier: str) -> str | None:
    """``visa`` for ``pm_card_visa`` or ``tok_visa``; None when not a test identifier."""
    for prefix in ("pm_card_", "tok_"):
        if identifier.startswith(prefix) and identifier[len(prefix) :] in TEST_CARDS:
            return identifier[len(prefix) :]
    return None


def _fingerprint(number: str) -> str:
    digest = int.from_bytes(hashlib.sha256(number.encode()).digest()[:12], "big")
    return base62(digest % 62**16, 16)


def fresh_card(store: StripeStore, name: str, prefix: str = "pm") -> PaymentCard:
    """A new payment method made from a test card, as Stripe makes one per use of
    ``pm_card_visa`` (or a ``card_`` from ``tok_visa``)."""
    spec = TEST_CARDS[name]
    card = Card(
        payment_method=store.new_id(prefix),
        brand=spec.brand,
        last4=spec.number[-4:],
        exp_month=12,
        exp_year=2034,
        country="US",
        fingerprint=_fingerprint(spec.number),
        funding=spec.funding,
    )
    payment = PaymentCard(card, spec.decline, spec.dispute, attached=False)
    store.fresh_cards[card.payment_method] = payment
    return payment


def _customer_charge_with(store: StripeStore, customer: str, pm: str, at: int) -> Json | None:
    """The customer's latest charge made with payment method `pm` (None if it has none)."""
    index = store.index("charge")
    for position in range(len(index) - 1, -1, -1):
        record = store.records[index.ids[position]]
        if record.customer != customer or record.created > at:
            continue
        if store.attr(record, "payment_method") == pm:
            return store.state(record, at)
    return None


def customer_card(
    store: StripeStore, at: int, pm: str, customer: Json | None, param: str
) -> PaymentCard:
    """Payment method `pm`: a test one, or a card `customer` has (its default payment
    method or one it paid with)."""
    if (name := test_card_name(pm)) is not None and pm.startswith("pm_"):
        return fresh_card(store, name)
    if pm in store.fresh_cards:
        raise _used_once(param)
    if customer is not None:
        default = (customer.get("invoice_settings") or {}).get("default_payment_method")
        charge = _customer_charge_with(store, customer["id"], pm, at)
        if charge is not None or pm == default:
            return PaymentCard(card_from({**customer, "invoice_settings": {}}, charge, pm))
    owners = {store.records[c].customer for c in store.related("charge", "payment_method", pm)}
    if not owners:
        raise no_such("PaymentMethod", pm, param=param, status=400)
    if owners == {None}:
        raise _used_once(param)
    raise StripeRequestError(
        f"The provided PaymentMethod {pm} belongs to another Customer; pass that Customer's "
        "ID as `customer` to use it.",
        param=param,
    )


def _used_once(param: str) -> StripeRequestError:
    return StripeRequestError(
        "The provided PaymentMethod was previously used with a PaymentIntent without Customer "
        "attachment, shared with a connected account without Customer attachment, or was "
        "detached from a Customer. It may not be used again. To use a PaymentMethod multiple "
        "times, you must attach it to a Customer first.",
        param=param,
    )


def default_card(store: StripeStore, at: int, customer: Json) -> PaymentCard:
    """What a customer pays an invoice with when nothing else is given: its default payment
    method (with the card of its last charge), else Stripe's test Visa."""
    default = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if default:
        return customer_card(store, at, default, customer, "payment_method")
    return fresh_card(store, "visa")


def card_error(decline: Decline, charge_id: str, **extra: object) -> StripeRequestError:
    """The 402 Stripe answers a declined card with (kept under an idempotency key)."""
    return StripeRequestError(
        decline.message,
        status=402,
        type="card_error",
        code=decline.code,
        param=decline.param,
        saved=True,
        extra={"charge": charge_id, "decline_code": decline.decline_code, **extra},
    )


def last_payment_error(decline: Decline, charge_id: str) -> Json:
    """A payment intent's ``last_payment_error`` after a declined attempt."""
    error: Json = {
        "charge": charge_id,
        "code": decline.code,
        "decline_code": decline.decline_code,
        "doc_url": DOCS + decline.code.replace("_", "-"),
        "message": decline.message,
        "type": "card_error",
    }
    if decline.param:
        error["param"] = decline.param
    return error
