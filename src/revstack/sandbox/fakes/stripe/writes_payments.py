"""Writes to payments: refunds, and metadata/description updates on charges and invoices
(payment intents are `writes_intents`'s)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.http import Api, Call
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers
from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.stripe_model import BalanceTransaction

REFUND_PARAMS = ("charge", "payment_intent", "amount", "reason", "metadata", "expand")
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
#: Fields a plain update may set, per resource, and the event it emits (None: no event).
SIMPLE_UPDATES: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "charges": ("charge", ("description", "metadata", "receipt_email"), "charge.updated"),
    "invoices": ("invoice", ("description", "metadata", "footer"), "invoice.updated"),
}


class PaymentWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        routes = [api.route("/v1/refunds", self.create_refund, "POST")]
        for resource in SIMPLE_UPDATES:
            routes.append(api.route(f"/v1/{resource}/{{id}}", self._simple(resource), "POST"))
        return routes

    # --- refunds -----------------------------------------------------------------------

    def create_refund(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(REFUND_PARAMS)
        charge_id = params.string("charge")
        intent_id = params.string("payment_intent")
        amount = params.integer("amount", minimum=1)
        reason = params.enum("reason", REFUND_REASONS)
        metadata = params.metadata()
        if charge_id is None and intent_id is None:
            raise StripeRequestError(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
                param="charge",
            )
        write = self.begin(call)
        if intent_id is not None:
            _, intent = self.find("payment_intent", intent_id, write.at, "payment_intent")
            if intent["status"] != "succeeded" or not intent.get("latest_charge"):
                raise StripeRequestError(
                    f"This PaymentIntent ({intent_id}) does not have a successful charge to "
                    "refund.",
                    code="charge_not_refundable",
                    param="payment_intent",
                )
            if charge_id is not None and charge_id != intent["latest_charge"]:
                raise StripeRequestError(
                    "The charge does not belong to the payment intent.", param="charge"
                )
            charge_id = intent["latest_charge"]
        assert charge_id is not None
        charge_record, charge = self.find("charge", charge_id, write.at, "charge")
        refund = self._refund(write, charge, amount, reason)
        if metadata is not None:
            refund["metadata"] = metadata.apply({})
        after = dict(charge)
        after["amount_refunded"] = charge["amount_refunded"] + refund["amount"]
        after["refunded"] = after["amount_refunded"] == charge["amount"]
        write.update(charge_record, after, end_script=True)
        record = write.create(refund)
        write.emit("charge.refunded", after)
        write.emit("refund.created", refund)
        return self.respond(write, record)

    def _refund(self, write: Write, charge: Json, amount: int | None, reason: str | None) -> Json:
        if charge["status"] != "succeeded":
            raise StripeRequestError(
                f"Charge {charge['id']} has not succeeded; it cannot be refunded.",
                code="charge_not_refundable",
                param="charge",
                saved=True,
            )
        if charge.get("disputed"):
            raise StripeRequestError(
                f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
                param="charge",
                saved=True,
            )
        refundable = charge["amount"] - charge["amount_refunded"]
        if refundable <= 0:
            raise StripeRequestError(
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
                param="charge",
                saved=True,
            )
        if amount is not None and amount > refundable:
            raise StripeRequestError(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({refundable})",
                code="amount_too_large",
                param="amount",
                saved=True,
            )
        amount = refundable if amount is None else amount
        refund_id = self.store.new_id("re")
        transaction = BalanceTransaction(
            id=self.store.new_id("txn"),
            created=write.at,
            amount=-amount,
            fee=0,
            currency=charge["currency"],
            type="refund",
            reporting_category="refund",
            source=refund_id,
            available_on=write.at,
            description="REFUND FOR CHARGE",
        )
        write.create(render.balance_transaction(transaction, write.at))
        refund: Json = dict.fromkeys(render.fixtures()["refund"])
        refund.update(
            amount=amount,
            balance_transaction=transaction.id,
            charge=charge["id"],
            created=write.at,
            currency=charge["currency"],
            destination_details={"card": {"type": "refund"}, "type": "card"},
            id=refund_id,
            metadata={},
            object="refund",
            payment_intent=charge.get("payment_intent"),
            reason=reason,
            status="succeeded",
            customer=charge.get("customer"),
            payment_method=charge.get("payment_method"),
        )
        return refund

    # --- charges, invoices ------------------------------------------------------------

    def _simple(self, resource: str) -> Callable[[Call], tuple[int, bytes]]:
        kind, fields, event_type = SIMPLE_UPDATES[resource]

        def handler(call: Call) -> tuple[int, bytes]:
            params = call.params
            params.check((*fields, "expand"))
            values = {
                name: params.string(name) or None
                for name in fields
                if name != "metadata" and name in params
            }
            metadata = params.metadata()
            write = self.begin(call)
            record, before = self.find(kind, call.path("id"), write.at)
            after = {**before, **values}
            if metadata is not None:
                after["metadata"] = metadata.apply(before.get("metadata"))
            if after != before:
                write.update(record, after, patch=(values, metadata))
                if event_type is not None:
                    write.emit_update(event_type, before, after)
            return self.respond(write, record)

        return handler
