"""``POST /v1/charges``: the legacy Charges API. A test token (``tok_visa``) without a
customer, or a customer with one of its own cards as ``source``; the charge, its balance
transaction and ``charge.succeeded``, or a failed charge and a 402 ``card_error``."""

from __future__ import annotations

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.cards import (
    PaymentCard,
    card_error,
    customer_card,
    fresh_card,
    test_card_name,
)
from revstack.sandbox.fakes.stripe.charging import charge_card, money, open_dispute
from revstack.sandbox.fakes.stripe.errors import StripeRequestError, no_such
from revstack.sandbox.fakes.stripe.http import Api, Call
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers, not_supported

CREATE = (
    "amount",
    "currency",
    "customer",
    "source",
    "description",
    "metadata",
    "receipt_email",
    "capture",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "expand",
)


class ChargeWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        return [api.route("/v1/charges", self.create, "POST")]

    def create(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(CREATE)
        amount, currency = money(params)
        if params.boolean("capture") is False:
            raise not_supported("capture", "uncaptured charges")
        description = params.string("description") or None
        receipt_email = params.string("receipt_email") or None
        params.string("statement_descriptor")
        params.string("statement_descriptor_suffix")
        metadata = params.metadata()
        source = params.string("source") or None
        customer_id = params.string("customer") or None
        if source is None and customer_id is None:
            raise StripeRequestError("Must provide source or customer.")
        write = self.begin(call)
        customer = None
        if customer_id is not None:
            customer = self.find("customer", customer_id, write.at, "customer")[1]
        payment = self._source(write.at, source, customer)
        attempt = charge_card(
            write,
            amount=amount,
            currency=currency,
            customer=customer,
            payment=payment,
            payment_intent=None,
            description=description,
            metadata=metadata.apply({}) if metadata else {},
            receipt_email=receipt_email,
        )
        if payment.decline is not None:
            write.commit()
            raise card_error(payment.decline, attempt.charge["id"])
        if payment.dispute is not None:
            open_dispute(write, attempt, payment.dispute)
        return self.respond(write, attempt.record)

    def _source(self, at: int, source: str | None, customer: Json | None) -> PaymentCard:
        """The card charged: a test token when there is no customer; else one of the
        customer's own (Stripe charges a customer's default *source*, which world customers,
        paying with payment methods, do not have)."""
        if customer is None:
            assert source is not None
            name = test_card_name(source)
            if name is None:
                raise no_such("token", source, param="source", status=400)
            return fresh_card(self.store, name, "card")
        if source is None:
            raise StripeRequestError(
                "Cannot charge a customer that has no active card",
                status=402,
                type="card_error",
                code="missing",
                param="card",
                saved=True,
            )
        if test_card_name(source) is not None or source in self.store.fresh_cards:
            raise StripeRequestError(
                f"Customer {customer['id']} does not have a linked source with ID {source}.",
                code="resource_missing",
                param="source",
            )
        return customer_card(self.store, at, source, customer, "source")
