"""``/v1/invoices`` and ``/v1/invoiceitems``: drafts and their items, finalizing, paying,
voiding and marking uncollectible. Totals always follow the lines (`invoicing.settle`)."""

from __future__ import annotations

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.cards import PaymentCard, customer_card, default_card
from revstack.sandbox.fakes.stripe.charging import currency_of
from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.http import Api, Call
from revstack.sandbox.fakes.stripe.intents import after_attempt
from revstack.sandbox.fakes.stripe.invoicing import (
    InvoiceFlow,
    NewInvoice,
    line_for,
    new_invoice,
    settle,
)
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers

DAY = 86_400
CREATE = (
    "customer",
    "auto_advance",
    "collection_method",
    "days_until_due",
    "due_date",
    "description",
    "footer",
    "metadata",
    "currency",
    "subscription",
    "pending_invoice_items_behavior",
    "expand",
)
PAY = (
    "forgive",
    "mandate",
    "off_session",
    "paid_out_of_band",
    "payment_method",
    "source",
    "expand",
)


def _refuse(message: str, code: str | None = None) -> StripeRequestError:
    return StripeRequestError(message, code=code, saved=True)


class InvoiceWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        return [
            api.route("/v1/invoices", self.create, "POST"),
            api.route("/v1/invoices/{id}/finalize", self.finalize, "POST"),
            api.route("/v1/invoices/{id}/pay", self.pay, "POST"),
            api.route("/v1/invoices/{id}/void", self.void, "POST"),
            api.route("/v1/invoices/{id}/mark_uncollectible", self.mark_uncollectible, "POST"),
        ]

    def create(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(CREATE)
        customer_id = params.string("customer", required=True) or ""
        method = params.enum("collection_method", ("charge_automatically", "send_invoice"))
        method = method or "charge_automatically"
        days = params.integer("days_until_due", minimum=0)
        due_date = params.integer("due_date", minimum=0)
        if method == "send_invoice" and days is None and due_date is None:
            raise StripeRequestError(
                "Invoices with collection_method=send_invoice need days_until_due or due_date.",
                code="parameter_missing",
                param="days_until_due",
            )
        if method == "charge_automatically" and (days is not None or due_date is not None):
            raise StripeRequestError(
                "days_until_due and due_date can only be set when collection_method is "
                "send_invoice.",
                param="days_until_due" if days is not None else "due_date",
            )
        behaviour = params.enum("pending_invoice_items_behavior", ("exclude", "include"))
        currency = currency_of(params, required=False)
        metadata = params.metadata()
        write = self.begin(call)
        _, customer = self.find("customer", customer_id, write.at, "customer")
        subscription = params.string("subscription") or None
        if subscription is not None:
            _, sub = self.find("subscription", subscription, write.at, "subscription")
            if sub["customer"] != customer_id:
                raise StripeRequestError(
                    f"The subscription {subscription} does not belong to {customer_id}.",
                    param="subscription",
                )
        spec = NewInvoice(
            customer=customer,
            currency=currency or customer.get("currency") or "usd",
            collection_method=method,
            auto_advance=bool(params.boolean("auto_advance")),
            description=params.string("description") or None,
            footer=params.string("footer") or None,
            metadata=metadata.apply({}) if metadata else {},
            due_date=due_date,
            subscription=subscription,
        )
        invoice = new_invoice(write, spec)
        if days is not None:
            invoice["due_date"] = write.at + days * DAY
        if behaviour == "include":
            self._take_pending(write, invoice, subscription)
        record = write.create(invoice)
        write.emit("invoice.created", invoice)
        return self.respond(write, record)

    def _take_pending(self, write: Write, invoice: Json, subscription: str | None) -> None:
        """Move the customer's pending invoice items (of the invoice's currency and, when
        given, subscription) onto the new invoice."""
        index = self.store.index("invoiceitem")
        for item_id in list(index.ids):
            record = self.store.records[item_id]
            if record.customer != invoice["customer"]:
                continue
            item = self.store.state(record, write.at)
            if item is None or item.get("invoice") or item["currency"] != invoice["currency"]:
                continue
            details = (item.get("parent") or {}).get("subscription_details") or {}
            if subscription is not None and details.get("subscription") != subscription:
                continue
            item = {**item, "invoice": invoice["id"]}
            write.update(record, item)
            invoice["lines"]["data"].append(line_for(write, item))
        settle(invoice)

    def finalize(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(("auto_advance", "expand"))
        auto_advance = params.boolean("auto_advance")
        write = self.begin(call)
        record, invoice = self.find("invoice", call.path("id"), write.at)
        if invoice["status"] != "draft":
            raise _refuse(
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                "invoice_not_editable",
            )
        InvoiceFlow(write).finalize(record, invoice, auto_advance)
        return self.respond(write, record)

    def pay(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(PAY)
        params.boolean("forgive")
        params.boolean("off_session")
        params.string("mandate")
        out_of_band = bool(params.boolean("paid_out_of_band"))
        pm = params.string("payment_method") or None
        source = params.string("source") or None
        write = self.begin(call)
        record, invoice = self.find("invoice", call.path("id"), write.at)
        flow = InvoiceFlow(write)
        if invoice["status"] == "draft":
            invoice = flow.finalize(record, invoice)
            if invoice["status"] == "paid":
                return self.respond(write, record)
        status = invoice["status"]
        if status == "paid":
            raise _refuse("Invoice is already paid.")
        if status not in ("open", "uncollectible"):
            raise _refuse(f"You cannot pay an invoice whose status is {status}.")
        if out_of_band:
            flow.paid_out_of_band(record, invoice)
            return self.respond(write, record)
        _, customer = self.find("customer", invoice["customer"], write.at, "customer")
        payment = self._payment_card(write, invoice, customer, pm, source)
        intent, attempt = flow.pay(record, invoice, payment, customer)
        after_attempt(write, attempt, payment, payment_intent=intent)
        return self.respond(write, record)

    def _payment_card(
        self, write: Write, invoice: Json, customer: Json, pm: str | None, source: str | None
    ) -> PaymentCard:
        if pm is not None:
            return customer_card(self.store, write.at, pm, customer, "payment_method")
        if source is not None:
            return customer_card(self.store, write.at, source, customer, "source")
        if invoice.get("default_payment_method"):
            pm = invoice["default_payment_method"]
            return customer_card(self.store, write.at, pm, customer, "payment_method")
        return default_card(self.store, write.at, customer)

    def void(self, call: Call) -> tuple[int, bytes]:
        call.params.check(("expand",))
        write = self.begin(call)
        record, before = self.find("invoice", call.path("id"), write.at)
        if before["status"] not in ("open", "uncollectible"):
            hint = " (delete a draft instead)" if before["status"] == "draft" else ""
            raise _refuse(
                "You can only void an open or uncollectible invoice; this one is "
                f"{before['status']}{hint}.",
                "invoice_not_editable",
            )
        after = {**before, "status": "void", "auto_advance": False, "next_payment_attempt": None}
        after["status_transitions"] = {**before["status_transitions"], "voided_at": write.at}
        settle(after)
        write.update(record, after, end_script=True)
        write.emit("invoice.voided", after)
        InvoiceFlow(write).release(after, "void_invoice")
        return self.respond(write, record)

    def mark_uncollectible(self, call: Call) -> tuple[int, bytes]:
        call.params.check(("expand",))
        write = self.begin(call)
        record, before = self.find("invoice", call.path("id"), write.at)
        if before["status"] != "open":
            raise _refuse(
                f"You can only mark an open invoice as uncollectible; this one is "
                f"{before['status']}.",
                "invoice_not_editable",
            )
        after = {**before, "status": "uncollectible", "next_payment_attempt": None}
        after["status_transitions"] = {
            **before["status_transitions"],
            "marked_uncollectible_at": write.at,
        }
        write.update(record, after, end_script=True)
        write.emit("invoice.marked_uncollectible", after)
        return self.respond(write, record)
