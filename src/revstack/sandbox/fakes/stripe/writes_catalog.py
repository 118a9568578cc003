"""Writes to customers, products and prices."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.forms import MetadataChange, Params
from revstack.sandbox.fakes.stripe.http import Api, Call
from revstack.sandbox.fakes.stripe.models import product_model, test_card
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers, address, not_supported
from revstack.sandbox.world import stripe_render
from revstack.sandbox.world.catalog import PriceSpec
from revstack.sandbox.world.stripe_model import Customer, PriceObj, ProductObj

CUSTOMER_PARAMS = (
    "address",
    "description",
    "email",
    "metadata",
    "name",
    "phone",
    "preferred_locales",
    "tax_exempt",
    "expand",
)
PRODUCT_PARAMS = (
    "name",
    "active",
    "description",
    "metadata",
    "url",
    "unit_label",
    "shippable",
    "statement_descriptor",
    "tax_code",
    "images",
    "expand",
)
PRICE_CREATE = (
    "currency",
    "unit_amount",
    "product",
    "product_data",
    "recurring",
    "nickname",
    "lookup_key",
    "metadata",
    "active",
    "tax_behavior",
    "billing_scheme",
    "transfer_lookup_key",
    "expand",
)
PRICE_UPDATE = ("active", "metadata", "nickname", "lookup_key", "transfer_lookup_key", "expand")
INTERVALS = ("day", "week", "month", "year")


def _fields(params: Params, names: tuple[str, ...]) -> tuple[Json, MetadataChange | None]:
    """Top-level fields a create/update sets (strings, booleans, lists) and its metadata."""
    values: Json = {}
    for name in names:
        if name not in params or name in ("metadata", "expand"):
            continue
        if name == "address":
            values[name] = address(params)
        elif name in ("active", "shippable"):
            values[name] = params.boolean(name)
        elif name in ("preferred_locales", "images"):
            values[name] = params.strings(name) or []
        elif name == "tax_exempt":
            values[name] = params.enum(name, ("none", "exempt", "reverse"))
        else:
            values[name] = params.string(name) or None
    if "email" in values and values["email"] and "@" not in values["email"]:
        raise StripeRequestError(
            f"Invalid email address: {values['email']}", code="email_invalid", param="email"
        )
    return values, params.metadata()


def _set(obj: Json, values: Json, metadata: MetadataChange | None) -> None:
    obj.update(values)
    if metadata is not None:
        obj["metadata"] = metadata.apply(obj.get("metadata"))


class CatalogWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        return [
            api.route("/v1/customers", self.create_customer, "POST"),
            api.route("/v1/customers/{id}", self.update_customer, "POST"),
            api.route("/v1/products", self.create_product, "POST"),
            api.route("/v1/products/{id}", self.update_product, "POST"),
            api.route("/v1/prices", self.create_price, "POST"),
            api.route("/v1/prices/{id}", self.update_price, "POST"),
        ]

    # --- customers ---------------------------------------------------------------------

    def create_customer(self, call: Call) -> tuple[int, bytes]:
        call.params.check(CUSTOMER_PARAMS)
        values, metadata = _fields(call.params, CUSTOMER_PARAMS)
        write = self.begin(call)
        customer_id = self.store.new_id("cus", 14)
        model = Customer(
            id=customer_id,
            created=write.at,
            email="",
            name="",
            phone="",
            country="",
            invoice_prefix=secrets.token_hex(4).upper(),
            card=test_card(""),
        )
        obj = stripe_render.customer(model)
        obj.update(email=None, name=None, phone=None, address=None, metadata={})
        obj["invoice_settings"]["default_payment_method"] = None
        _set(obj, values, metadata)
        record = write.create(obj)
        write.emit("customer.created", obj)
        return self.respond(write, record)

    def update_customer(self, call: Call) -> tuple[int, bytes]:
        call.params.check(CUSTOMER_PARAMS)
        values, metadata = _fields(call.params, CUSTOMER_PARAMS)
        write = self.begin(call)
        record, before = self.find("customer", call.path("id"), write.at)
        if values.get("address") is not None and before.get("address"):
            values["address"] = {
                **before["address"],
                **{k: v for k, v in values["address"].items() if k in call.params.data["address"]},
            }
        after = {**before}
        _set(after, values, metadata)
        self._save_update(write, record, "customer.updated", before, after, values, metadata)
        return self.respond(write, record)

    def _save_update(
        self,
        write: Write,
        record: Any,
        event_type: str | None,
        before: Json,
        after: Json,
        values: Json,
        metadata: MetadataChange | None,
    ) -> None:
        if after == before:
            return
        write.update(record, after, patch=(values, metadata))
        if event_type is not None:
            write.emit_update(event_type, before, after)

    # --- products ----------------------------------------------------------------------

    def create_product(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check((*PRODUCT_PARAMS, "id", "default_price_data"))
        name = params.string("name", required=True) or ""
        values, metadata = _fields(params, PRODUCT_PARAMS)
        product_id = params.string("id") or None
        if product_id is not None and self.store.get(product_id) is not None:
            raise StripeRequestError(
                f"Product already exists: {product_id}",
                code="resource_already_exists",
                param="id",
            )
        write = self.begin(call)
        product_id = product_id or self.store.new_id("prod", 14)
        obj = stripe_render.product(ProductObj(product_id, "", name, "", write.at))
        obj.update(description=None, metadata={}, unit_label=None)
        _set(obj, values, metadata)
        price = None
        if (price_data := params.hash("default_price_data")) is not None:
            price_data.check(("currency", "unit_amount", "recurring", "tax_behavior"))
            price = self._price(write, price_data, obj, None)
            obj["default_price"] = price["id"]
        record = write.create(obj)
        write.emit("product.created", obj)
        if price is not None:
            write.create(price)
            write.emit("price.created", price)
        return self.respond(write, record)

    def update_product(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check((*PRODUCT_PARAMS, "default_price"))
        values, metadata = _fields(params, PRODUCT_PARAMS)
        if "name" in values and not values["name"]:
            raise StripeRequestError("You must provide a name for the product.", param="name")
        write = self.begin(call)
        record, before = self.find("product", call.path("id"), write.at)
        if (default_price := params.string("default_price")) is not None:
            _, price = self.find("price", default_price, write.at, param="default_price")
            if price["product"] != record.id:
                raise StripeRequestError(
                    "The default price must belong to this product.", param="default_price"
                )
            values["default_price"] = default_price
        after = {**before}
        _set(after, values, metadata)
        if after != before:
            after["updated"] = write.at
        self._save_update(write, record, "product.updated", before, after, values, metadata)
        return self.respond(write, record)

    # --- prices ------------------------------------------------------------------------

    def create_price(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(PRICE_CREATE)
        write = self.begin(call)
        product_id = params.string("product")
        product_data = params.hash("product_data")
        if (product_id is None) == (product_data is None):
            raise StripeRequestError(
                "You must specify either product or product_data, but not both.",
                param="product",
            )
        new_product = None
        if product_data is not None:
            product_data.check(("name", "active", "metadata", "unit_label", "tax_code"))
            name = product_data.string("name", required=True) or ""
            new_product = stripe_render.product(
                ProductObj(self.store.new_id("prod", 14), "", name, "", write.at)
            )
            new_product.update(description=None, metadata={}, unit_label=None)
            _set(new_product, *_fields(product_data, ("active", "unit_label", "tax_code")))
            product = new_product
        else:
            _, product = self.find("product", product_id or "", write.at, param="product")
        price = self._price(write, params, product, params.boolean("transfer_lookup_key"))
        if new_product is not None:
            write.create(new_product)
            write.emit("product.created", new_product)
        record = write.create(price)
        write.emit("price.created", price)
        return self.respond(write, record)

    def _price(self, write: Write, params: Params, product: Json, transfer: bool | None) -> Json:
        currency = (params.string("currency", required=True) or "").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise StripeRequestError(f"Invalid currency: {currency}", param=params.name("currency"))
        unit_amount = params.integer("unit_amount", required=True, minimum=0)
        if params.string("billing_scheme") not in (None, "per_unit"):
            raise not_supported("billing_scheme", "tiered prices")
        recurring = params.hash("recurring")
        interval, count, usage = "month", 1, "licensed"
        if recurring is not None:
            recurring.check(("interval", "interval_count", "usage_type"))
            interval = recurring.enum("interval", INTERVALS, required=True) or "month"
            count = recurring.integer("interval_count", minimum=1) or 1
            usage = recurring.enum("usage_type", ("licensed", "metered")) or "licensed"
        spec = PriceSpec("", "", currency, interval, count, unit_amount or 0)
        price_id = self.store.new_id("price")
        obj = stripe_render.price(
            PriceObj(price_id, spec, product_model(product), write.at), write.at
        )
        obj.update(lookup_key=None, tax_behavior="unspecified")
        if recurring is None:
            obj.update(type="one_time", recurring=None)
        else:
            obj["recurring"]["usage_type"] = usage
        values, metadata = _fields(params, ("nickname", "active", "tax_behavior"))
        if values.get("tax_behavior") not in (None, "exclusive", "inclusive", "unspecified"):
            raise StripeRequestError("Invalid tax_behavior.", param="tax_behavior")
        _set(obj, {k: v for k, v in values.items() if v is not None}, metadata)
        if (lookup_key := params.string("lookup_key")) is not None:
            self._claim_lookup_key(write, lookup_key, price_id, bool(transfer))
            obj["lookup_key"] = lookup_key or None
        return obj

    def _claim_lookup_key(self, write: Write, key: str, price_id: str, transfer: bool) -> None:
        if not key:
            return
        for other_id in self.store.index("price").ids:
            if other_id == price_id:
                continue
            record = self.store.records[other_id]
            state = self.store.state(record, write.at)
            if state is None or state.get("lookup_key") != key:
                continue
            if not transfer:
                raise StripeRequestError(
                    f"A price ({other_id}) already uses that lookup key.",
                    param="lookup_key",
                )
            after = {**state, "lookup_key": None}
            write.update(record, after, patch=({"lookup_key": None}, None))
            write.emit_update("price.updated", state, after)

    def update_price(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(PRICE_UPDATE)
        values, metadata = _fields(params, ("active", "nickname"))
        write = self.begin(call)
        record, before = self.find("price", call.path("id"), write.at)
        if (lookup_key := params.string("lookup_key")) is not None:
            self._claim_lookup_key(
                write, lookup_key, record.id, bool(params.boolean("transfer_lookup_key"))
            )
            values["lookup_key"] = lookup_key or None
        after = {**before}
        _set(after, values, metadata)
        self._save_update(write, record, "price.updated", before, after, values, metadata)
        return self.respond(write, record)
