"""``POST /v1/invoiceitems``: a pending invoice item for a customer, or an item added to one
of its draft invoices (whose lines and totals follow)."""

from __future__ import annotations

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.charging import currency_of
from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.forms import Params
from revstack.sandbox.fakes.stripe.http import Api, Call
from revstack.sandbox.fakes.stripe.invoicing import line_for, pricing, settle
from revstack.sandbox.fakes.stripe.models import shaped
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers, not_supported

CREATE = (
    "customer",
    "amount",
    "currency",
    "pricing",
    "quantity",
    "description",
    "metadata",
    "invoice",
    "subscription",
    "period",
    "discountable",
    "price_data",
    "unit_amount_decimal",
    "expand",
)


def _period(params: Params, at: int) -> Json:
    period = params.hash("period")
    if period is None:
        return {"end": at, "start": at}
    period.check(("start", "end"))
    start = period.integer("start", required=True, minimum=0) or 0
    end = period.integer("end", required=True, minimum=0) or 0
    if end < start:
        raise StripeRequestError("The period end must not be before its start.", param="period")
    return {"end": end, "start": start}


class ItemWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        return [api.route("/v1/invoiceitems", self.create, "POST")]

    def create(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(CREATE)
        for name in ("price_data", "unit_amount_decimal"):
            if name in params:
                raise not_supported(name, f"invoice items priced with {name}")
        customer_id = params.string("customer", required=True) or ""
        amount = params.integer("amount")
        price_id = None
        if (given := params.hash("pricing")) is not None:
            given.check(("price",))
            price_id = given.string("price", required=True)
        if (amount is None) == (price_id is None):
            raise StripeRequestError(
                "You must specify exactly one of `amount` or `pricing[price]`.", param="amount"
            )
        quantity = params.integer("quantity", minimum=0)
        if amount is not None and quantity is not None:
            raise not_supported("quantity", "a quantity with `amount` (use pricing[price])")
        currency = currency_of(params, required=False)
        metadata = params.metadata()
        write = self.begin(call)
        self.find("customer", customer_id, write.at, "customer")
        invoice_record, invoice = None, None
        if (invoice_id := params.string("invoice") or None) is not None:
            invoice_record, invoice = self.find("invoice", invoice_id, write.at, "invoice")
            self._check_invoice(invoice, customer_id)
        price = self._price(write, price_id) if price_id is not None else None
        currency = self._currency(currency, price, invoice)
        subscription = self._subscription(write, params.string("subscription"), customer_id)
        unit = price["unit_amount"] if price is not None else None
        item = shaped(
            "invoiceitem",
            {
                "amount": amount if amount is not None else (unit or 0) * (quantity or 1),
                "currency": currency,
                "customer": customer_id,
                "date": write.at,
                "description": params.string("description") or self._name(write, price),
                "discountable": params.boolean("discountable") is not False,
                "discounts": [],
                "id": self.store.new_id("ii"),
                "invoice": invoice["id"] if invoice is not None else None,
                "livemode": False,
                "metadata": metadata.apply({}) if metadata else {},
                "object": "invoiceitem",
                "period": _period(params, write.at),
                "proration": False,
                "quantity": quantity if quantity is not None else 1,
                "tax_rates": [],
                "test_clock": None,
                "parent": subscription,
                "pricing": pricing(price),
                "customer_account": None,
            },
        )
        item.update(net_amount=item["amount"], quantity_decimal=str(item["quantity"]))
        record = write.create(item)
        write.emit("invoiceitem.created", item)
        if invoice_record is not None and invoice is not None:
            after = {**invoice, "lines": {**invoice["lines"]}}
            after["lines"]["data"] = [*invoice["lines"]["data"], line_for(write, item)]
            settle(after)
            write.update(invoice_record, after, end_script=True)
            write.emit_update("invoice.updated", invoice, after)
        return self.respond(write, record)

    @staticmethod
    def _check_invoice(invoice: Json, customer_id: str) -> None:
        if invoice["status"] != "draft":
            raise StripeRequestError(
                f"Invoice {invoice['id']} is {invoice['status']}: items can only be added to "
                "draft invoices.",
                code="invoice_not_editable",
                param="invoice",
                saved=True,
            )
        if invoice["customer"] != customer_id:
            raise StripeRequestError(
                f"Invoice {invoice['id']} belongs to another customer.", param="invoice"
            )

    def _price(self, write: Write, price_id: str) -> Json:
        _, price = self.find("price", price_id, write.at, "pricing[price]")
        if price.get("type") != "one_time":
            raise StripeRequestError(
                "The price specified is set to `type=recurring` but this field only accepts "
                f"prices with `type=one_time`: {price_id}",
                param="pricing[price]",
            )
        if not price.get("active", True):
            raise StripeRequestError(
                f"The price specified is inactive. This field only accepts active prices: "
                f"{price_id}",
                param="pricing[price]",
            )
        return price

    def _name(self, write: Write, price: Json | None) -> str | None:
        if price is None:
            return None
        record = self.store.get(price["product"], "product")
        product = self.store.state(record, write.at) if record is not None else None
        return (product or {}).get("name")

    @staticmethod
    def _currency(currency: str | None, price: Json | None, invoice: Json | None) -> str:
        implied = [c for c in ((price or {}).get("currency"), (invoice or {}).get("currency")) if c]
        chosen = currency or (implied[0] if implied else None)
        if chosen is None:
            raise StripeRequestError(
                "Missing required param: currency.", code="parameter_missing", param="currency"
            )
        for other in implied:
            if other != chosen:
                raise StripeRequestError(
                    f"The currency of this invoice item ({chosen}) must match {other}.",
                    param="currency",
                )
        return chosen

    def _subscription(self, write: Write, sub_id: str | None, customer_id: str) -> Json | None:
        if not sub_id:
            return None
        _, sub = self.find("subscription", sub_id, write.at, "subscription")
        if sub["customer"] != customer_id:
            raise StripeRequestError(
                f"The subscription {sub_id} does not belong to {customer_id}.",
                param="subscription",
            )
        return {"subscription_details": {"subscription": sub_id}, "type": "subscription_details"}
