"""``/v1/payment_intents``: create (optionally confirming at once), update, confirm and
cancel. A confirmation charges the card: a success makes the charge and its balance
transaction; a decline makes a failed charge and answers Stripe's 402 ``card_error``."""

from __future__ import annotations

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.cards import PaymentCard, customer_card
from revstack.sandbox.fakes.stripe.charging import currency_of, money
from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.forms import Params
from revstack.sandbox.fakes.stripe.http import Api, Call
from revstack.sandbox.fakes.stripe.intents import (
    CANCELABLE,
    CONFIRMABLE,
    IntentFields,
    after_attempt,
    attempt_payment,
    cancel_intent,
    check_confirmable,
    check_return_url,
    invoice_of,
    missing_payment_method,
    new_intent,
    unexpected_state,
)
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.world_index import Record
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers, not_supported

TEXT_FIELDS = (
    "description",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
)
CONFIRM_OPTIONS = (
    "return_url",
    "off_session",
    "error_on_requires_action",
    "capture_method",
    "setup_future_usage",
)
CREATE = (
    "amount",
    "currency",
    "customer",
    "payment_method",
    "confirm",
    "metadata",
    "automatic_payment_methods",
    "payment_method_types",
    "confirmation_method",
    *TEXT_FIELDS,
    *CONFIRM_OPTIONS,
    "expand",
)
UPDATE = ("amount", "currency", "customer", "payment_method", "metadata", "setup_future_usage")
CONFIRM = ("payment_method", "receipt_email", *CONFIRM_OPTIONS, "expand")
CANCEL_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")


def _methods(params: Params) -> tuple[Json | None, tuple[str, ...]]:
    """``automatic_payment_methods`` (on by default, as in API versions since 2023-08-16)
    and ``payment_method_types``; only cards are served."""
    automatic = params.hash("automatic_payment_methods")
    types = params.strings("payment_method_types")
    if automatic is not None and types is not None:
        raise StripeRequestError(
            "You may only specify one of these parameters: automatic_payment_methods, "
            "payment_method_types.",
            param="automatic_payment_methods",
        )
    if types is not None:
        if types != ["card"]:
            raise not_supported("payment_method_types", "payment methods other than card")
        return None, ("card",)
    if automatic is None:
        return {"enabled": True, "allow_redirects": "always"}, ("card",)
    automatic.check(("enabled", "allow_redirects"))
    if not automatic.boolean("enabled"):
        raise StripeRequestError(
            "Missing required param: payment_method_types (or set "
            "automatic_payment_methods[enabled]=true).",
            code="parameter_missing",
            param="payment_method_types",
        )
    redirects = automatic.enum("allow_redirects", ("always", "never")) or "always"
    return {"enabled": True, "allow_redirects": redirects}, ("card",)


def _options(params: Params) -> tuple[str | None, str | None]:
    """The confirmation options (``return_url``, ``setup_future_usage``); the others are
    accepted and have no effect."""
    params.boolean("off_session")
    params.boolean("error_on_requires_action")
    if params.enum("capture_method", ("automatic", "automatic_async", "manual")) == "manual":
        raise not_supported("capture_method", "manual capture")
    usage = params.enum("setup_future_usage", ("on_session", "off_session"))
    return params.string("return_url"), usage


def _texts(params: Params) -> Json:
    return {name: params.string(name) or None for name in TEXT_FIELDS if name in params}


class IntentWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        return [
            api.route("/v1/payment_intents", self.create, "POST"),
            api.route("/v1/payment_intents/{id}", self.update, "POST"),
            api.route("/v1/payment_intents/{id}/confirm", self.confirm, "POST"),
            api.route("/v1/payment_intents/{id}/cancel", self.cancel, "POST"),
        ]

    def _customer(self, write: Write, customer_id: str | None) -> Json | None:
        if not customer_id:
            return None
        return self.find("customer", customer_id, write.at, "customer")[1]

    def _card(self, write: Write, pm: str, customer: Json | None) -> PaymentCard:
        return customer_card(self.store, write.at, pm, customer, "payment_method")

    def create(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(CREATE)
        amount, currency = money(params)
        automatic, types = _methods(params)
        confirm = bool(params.boolean("confirm"))
        return_url, usage = _options(params)
        if return_url is not None and not confirm:
            raise StripeRequestError(
                "You can only pass `return_url` when `confirm` is true.", param="return_url"
            )
        params.enum("confirmation_method", ("automatic", "manual"))
        texts = _texts(params)
        metadata = params.metadata()
        pm = params.string("payment_method") or None
        write = self.begin(call)
        customer = self._customer(write, params.string("customer"))
        payment = self._card(write, pm, customer) if pm else None
        if confirm:
            if payment is None:
                raise missing_payment_method(customer["id"] if customer else None)
            check_return_url(automatic, return_url)
        fields = IntentFields(
            amount=amount,
            currency=currency,
            customer=customer["id"] if customer else None,
            description=texts.get("description"),
            metadata=metadata.apply({}) if metadata else {},
            receipt_email=texts.get("receipt_email"),
            payment_method=payment.card.payment_method if payment else None,
            automatic_payment_methods=automatic,
            payment_method_types=types,
            setup_future_usage=usage,
            statement_descriptor=texts.get("statement_descriptor"),
            statement_descriptor_suffix=texts.get("statement_descriptor_suffix"),
        )
        intent = new_intent(self.store, write.at, fields)
        record = write.create(intent)
        write.emit("payment_intent.created", intent)
        if confirm and payment is not None:
            self._attempt(write, record, intent, payment, customer)
        return self.respond(write, record)

    def _attempt(
        self,
        write: Write,
        record: Record,
        intent: Json,
        payment: PaymentCard,
        customer: Json | None,
    ) -> None:
        after, attempt = attempt_payment(write, record, intent, payment, customer)
        after_attempt(write, attempt, payment, payment_intent=after)

    def update(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check((*UPDATE, *TEXT_FIELDS, "expand"))
        texts = _texts(params)
        metadata = params.metadata()
        amount = params.integer("amount", minimum=1)
        currency = currency_of(params, required=False)
        usage = params.enum("setup_future_usage", ("on_session", "off_session"))
        write = self.begin(call)
        record, before = self.find("payment_intent", call.path("id"), write.at)
        after = {**before, **texts}
        structural = {name for name in UPDATE if name in params and name != "metadata"}
        if structural:
            self._check_updatable(record, before, sorted(structural)[0])
            if amount is not None:
                after["amount"] = amount
            if currency is not None:
                after["currency"] = currency
            if usage is not None:
                after["setup_future_usage"] = usage
            if (customer_id := params.string("customer")) is not None:
                self._customer(write, customer_id)
                after["customer"] = customer_id or None
            if (pm := params.string("payment_method")) is not None:
                customer = self._customer(write, after.get("customer"))
                after["payment_method"] = self._card(write, pm, customer).card.payment_method
                after["status"] = "requires_confirmation"
        if metadata is not None:
            after["metadata"] = metadata.apply(before.get("metadata"))
        if after != before:
            patch = None if structural else (texts, metadata)
            write.update(record, after, patch=patch, end_script=bool(structural))
        return self.respond(write, record)

    def _check_updatable(self, record: Record, intent: Json, field: str) -> None:
        status = intent["status"]
        if status not in CONFIRMABLE:
            raise unexpected_state(
                f"This PaymentIntent's {field} could not be updated because it has a status of "
                f"{status}. You may only update the {field} of a PaymentIntent with one of the "
                "following statuses: requires_payment_method, requires_confirmation, "
                "requires_action."
            )
        if invoice_of(self.store, record.id) is not None:
            raise StripeRequestError(
                f"This PaymentIntent's {field} cannot be updated because it was created by an "
                "invoice. Update the invoice instead.",
                param=field,
                saved=True,
            )

    def confirm(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(CONFIRM)
        return_url, usage = _options(params)
        receipt_email = params.string("receipt_email")
        pm = params.string("payment_method") or None
        write = self.begin(call)
        record, intent = self.find("payment_intent", call.path("id"), write.at)
        check_confirmable(intent)
        if (invoice := invoice_of(self.store, record.id)) is not None:
            raise not_supported("id", f"confirming an invoice's payment intent (pay {invoice})")
        customer = self._customer(write, intent.get("customer"))
        payment: PaymentCard | None = None
        if pm is not None:
            payment = self._card(write, pm, customer)
        elif intent.get("payment_method"):
            held = intent["payment_method"]
            payment = self.store.fresh_cards.get(held) or self._card(write, held, customer)
        if payment is None:
            raise missing_payment_method(intent.get("customer"))
        check_return_url(intent.get("automatic_payment_methods"), return_url)
        if receipt_email is not None:
            intent["receipt_email"] = receipt_email or None
        if usage is not None:
            intent["setup_future_usage"] = usage
        self._attempt(write, record, intent, payment, customer)
        return self.respond(write, record)

    def cancel(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(("cancellation_reason", "expand"))
        reason = params.enum("cancellation_reason", CANCEL_REASONS)
        write = self.begin(call)
        record, intent = self.find("payment_intent", call.path("id"), write.at)
        status = intent["status"]
        if status not in CANCELABLE:
            raise unexpected_state(
                f"You cannot cancel this PaymentIntent because it has a status of {status}. "
                "Only a PaymentIntent with one of the following statuses may be canceled: "
                f"{', '.join(CANCELABLE)}."
            )
        if invoice_of(self.store, record.id) is not None:
            raise StripeRequestError(
                "You cannot cancel this PaymentIntent because it was created by an invoice. "
                "Void the invoice instead.",
                saved=True,
            )
        cancel_intent(write, record, intent, reason)
        return self.respond(write, record)
