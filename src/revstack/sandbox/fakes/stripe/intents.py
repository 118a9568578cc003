"""Payment intents written through the API: the object as Stripe shapes it, one confirmation
attempt (a charge that succeeds or is declined) and cancellation. Shared by the
``/v1/payment_intents`` routes and by invoice payment."""

from __future__ import annotations

from dataclasses import dataclass

from revstack.sandbox.fakes.stripe.cards import PaymentCard, card_error, last_payment_error
from revstack.sandbox.fakes.stripe.charging import Attempt, charge_card, open_dispute
from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.store import Json, StripeStore
from revstack.sandbox.fakes.stripe.world_index import Record
from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.stripe_model import PaymentIntent

CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
RETURN_URL_NEEDED = (
    "A `return_url` must be specified because this Payment Intent is configured to "
    "automatically accept the payment methods enabled in the Dashboard, some of which may "
    "require a full page redirect to succeed. If you do not want to accept redirect-based "
    "payment methods, set `automatic_payment_methods[enabled]` to `true` and "
    "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and "
    "Payment Intents."
)


@dataclass(frozen=True)
class IntentFields:
    """What a new payment intent is made of."""

    amount: int
    currency: str
    customer: str | None
    description: str | None
    metadata: dict[str, str]
    receipt_email: str | None = None
    payment_method: str | None = None
    automatic_payment_methods: Json | None = None
    payment_method_types: tuple[str, ...] = ("card",)
    setup_future_usage: str | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None


def new_intent(store: StripeStore, at: int, fields: IntentFields) -> Json:
    model = PaymentIntent(
        id=store.new_id("pi"),
        created=at,
        amount=fields.amount,
        currency=fields.currency,
        customer=fields.customer or "",
        description=fields.description or "",
        payment_method=fields.payment_method or "",
        status="requires_confirmation" if fields.payment_method else "requires_payment_method",
    )
    obj = render.payment_intent(model)
    obj.update(
        customer=fields.customer,
        description=fields.description,
        payment_method=fields.payment_method,
        metadata=dict(fields.metadata),
        receipt_email=fields.receipt_email,
        automatic_payment_methods=fields.automatic_payment_methods,
        payment_method_types=list(fields.payment_method_types),
        setup_future_usage=fields.setup_future_usage,
        statement_descriptor=fields.statement_descriptor,
        statement_descriptor_suffix=fields.statement_descriptor_suffix,
    )
    return obj


def unexpected_state(message: str) -> StripeRequestError:
    return StripeRequestError(message, code="payment_intent_unexpected_state", saved=True)


def check_confirmable(intent: Json) -> None:
    status = intent["status"]
    if status == "succeeded":
        raise unexpected_state(
            "You cannot confirm this PaymentIntent because it has already succeeded after "
            "being previously confirmed."
        )
    if status not in CONFIRMABLE:
        raise unexpected_state(
            f"You cannot confirm this PaymentIntent because it has a status of {status}. Only "
            "a PaymentIntent with one of the following statuses may be confirmed: "
            "requires_confirmation, requires_action, requires_payment_method."
        )


def check_return_url(automatic: Json | None, return_url: str | None) -> None:
    """Stripe refuses to confirm an intent open to redirecting payment methods without a
    ``return_url``."""
    redirects = bool(automatic and automatic.get("enabled"))
    if redirects and return_url is None and (automatic or {}).get("allow_redirects") != "never":
        raise StripeRequestError(RETURN_URL_NEEDED, param="return_url")


def missing_payment_method(customer: str | None) -> StripeRequestError:
    if customer:
        message = (
            "You cannot confirm this PaymentIntent because it's missing a payment method. To "
            f"confirm the PaymentIntent with {customer}, specify a payment method attached to "
            "this customer along with the customer ID."
        )
    else:
        message = (
            "You cannot confirm this PaymentIntent because it's missing a payment method. You "
            "can either update the PaymentIntent with a payment method and then confirm it "
            "again, or confirm it again directly with a payment method."
        )
    return StripeRequestError(message, code="payment_intent_unexpected_state")


def attempt_payment(
    write: Write, record: Record, intent: Json, payment: PaymentCard, customer: Json | None
) -> tuple[Json, Attempt]:
    """Confirm `intent` with `payment`: the charge, then ``payment_intent.succeeded`` or
    ``payment_intent.payment_failed``. Returns the intent as left and the attempt."""
    attempt = charge_card(
        write,
        amount=intent["amount"],
        currency=intent["currency"],
        customer=customer,
        payment=payment,
        payment_intent=intent["id"],
        description=intent.get("description"),
        metadata=intent.get("metadata"),
        receipt_email=intent.get("receipt_email"),
    )
    after = {**intent, "latest_charge": attempt.charge["id"]}
    if attempt.succeeded:
        after.update(
            status="succeeded",
            amount_received=intent["amount"],
            payment_method=payment.card.payment_method,
            last_payment_error=None,
        )
    else:
        assert payment.decline is not None
        after.update(
            status="requires_payment_method",
            payment_method=None,
            last_payment_error=last_payment_error(payment.decline, attempt.charge["id"]),
        )
    write.update(record, after, end_script=True)
    write.emit(
        "payment_intent.succeeded" if attempt.succeeded else "payment_intent.payment_failed",
        after,
    )
    return after, attempt


def after_attempt(write: Write, attempt: Attempt, payment: PaymentCard, **extra: object) -> None:
    """End a confirmation: a declined card commits what happened and answers Stripe's 402;
    a disputing test card opens its dispute."""
    if payment.decline is not None:
        write.commit()
        raise card_error(payment.decline, attempt.charge["id"], **extra)
    if payment.dispute is not None:
        open_dispute(write, attempt, payment.dispute)


def cancel_intent(write: Write, record: Record, intent: Json, reason: str | None) -> Json:
    after = {
        **intent,
        "status": "canceled",
        "canceled_at": write.at,
        "cancellation_reason": reason,
    }
    write.update(record, after, end_script=True)
    write.emit("payment_intent.canceled", after)
    return after


def invoice_of(store: StripeStore, intent_id: str) -> str | None:
    """The invoice a payment intent was created for (None for a standalone one)."""
    for payment_id in store.related("invoice_payment", "payment.payment_intent", intent_id):
        invoice = store.attr(store.records[payment_id], "invoice")
        if isinstance(invoice, str):
            return invoice
    return None
