"""Writes to subscriptions, and deleting a customer (which cancels its subscriptions, as Stripe
does)."""

from __future__ import annotations

from starlette.routing import Route

from revstack.sandbox.fakes.stripe.billing import NewSubscription, SubscriptionBilling
from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.events import Write
from revstack.sandbox.fakes.stripe.forms import MetadataChange, Params
from revstack.sandbox.fakes.stripe.http import Api, Call, ok
from revstack.sandbox.fakes.stripe.store import Json
from revstack.sandbox.fakes.stripe.world_index import Record
from revstack.sandbox.fakes.stripe.writes_base import WriteHandlers, not_supported

SUBSCRIPTION_CREATE = (
    "customer",
    "items",
    "trial_period_days",
    "metadata",
    "discounts",
    "payment_behavior",
    "description",
    "expand",
)
SUBSCRIPTION_UPDATE = (
    "metadata",
    "cancel_at_period_end",
    "items",
    "proration_behavior",
    "description",
    "expand",
)
ENDED = ("canceled", "incomplete_expired")
FEEDBACK = (
    "customer_service",
    "low_quality",
    "missing_features",
    "other",
    "switched_service",
    "too_complex",
    "too_expensive",
    "unused",
)


def _no_metadata() -> MetadataChange:
    return MetadataChange(clear=False, changes={})


class BillingWrites(WriteHandlers):
    def routes(self, api: Api) -> list[Route]:
        routes = [
            api.route("/v1/subscriptions", self.create_subscription, "POST"),
            api.route("/v1/subscriptions/{id}", self.update_subscription, "POST"),
            api.route("/v1/subscriptions/{id}", self.cancel_subscription, "DELETE"),
            api.route("/v1/customers/{id}", self.delete_customer, "DELETE"),
        ]
        return routes

    # --- subscriptions -----------------------------------------------------------------

    def create_subscription(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(SUBSCRIPTION_CREATE)
        customer_id = params.string("customer", required=True) or ""
        items = params.hashes("items")
        if not items:
            raise StripeRequestError(
                "Missing required param: items.", code="parameter_missing", param="items"
            )
        if len(items) > 1:
            raise not_supported("items[1]", "subscriptions with more than one item")
        items[0].check(("price", "quantity"))
        price_id = items[0].string("price", required=True) or ""
        quantity = items[0].integer("quantity", minimum=1) or 1
        trial_days = params.integer("trial_period_days", minimum=0)
        behaviour = params.enum(
            "payment_behavior", ("allow_incomplete", "error_if_incomplete", "default_incomplete")
        )
        if behaviour == "default_incomplete":
            raise not_supported("payment_behavior", "payment_behavior=default_incomplete")
        params.string("description")
        metadata = (params.metadata() or _no_metadata()).apply({})
        write = self.begin(call)
        customer, customer_state = self.find("customer", customer_id, write.at, "customer")
        _, price = self.find("price", price_id, write.at, "items[0][price]")
        if price.get("type") != "recurring" or not price.get("recurring"):
            raise StripeRequestError(
                "The price specified is set to `type=one_time` but this field only accepts "
                f"prices with `type=recurring`: {price_id}",
                param="items[0][price]",
            )
        if not price.get("active", True):
            raise StripeRequestError(
                f"The price specified is inactive. This field only accepts active prices: "
                f"{price_id}",
                param="items[0][price]",
            )
        if customer_state.get("currency") not in (None, price["currency"]):
            raise StripeRequestError(
                "You cannot combine currencies on a single customer. This customer has had a "
                "subscription, coupon, or invoice item with currency "
                f"{customer_state['currency']}",
                param="items[0][price]",
            )
        _, product = self.find("product", price["product"], write.at, "items[0][price]")
        coupon = self._coupon(params, write.at, price["currency"])
        new = NewSubscription(
            customer, customer_state, price, product, quantity, trial_days, metadata, coupon
        )
        record = SubscriptionBilling(write).create(new)
        return self.respond(write, record)

    def _coupon(self, params: Params, at: int, currency: str) -> Json | None:
        discounts = params.hashes("discounts") or []
        if not discounts:
            return None
        if len(discounts) > 1:
            raise not_supported("discounts[1]", "more than one discount")
        discounts[0].check(("coupon",))
        coupon_id = discounts[0].string("coupon", required=True) or ""
        _, coupon = self.find("coupon", coupon_id, at, "discounts[0][coupon]")
        if coupon.get("amount_off") is not None and coupon.get("currency") != currency:
            raise StripeRequestError(
                f"The coupon {coupon_id} is only valid for currency {coupon.get('currency')}.",
                param="discounts[0][coupon]",
            )
        return coupon

    def update_subscription(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(SUBSCRIPTION_UPDATE)
        behaviour = params.enum(
            "proration_behavior", ("none", "create_prorations", "always_invoice")
        )
        if behaviour not in (None, "none"):
            raise not_supported("proration_behavior", "prorations (use proration_behavior=none)")
        metadata = params.metadata()
        cancel = params.boolean("cancel_at_period_end")
        items = params.hashes("items") or []
        description = params.string("description")
        write = self.begin(call)
        record, before = self.find("subscription", call.path("id"), write.at)
        after = {**before, "items": {**before["items"], "data": list(before["items"]["data"])}}
        structural = cancel is not None or bool(items)
        if before["status"] in ENDED and structural:
            raise StripeRequestError(
                "A canceled subscription can only update its cancellation_details and metadata.",
                saved=True,
            )
        for position, item in enumerate(items):
            self._update_item(write, after, item, position)
        if cancel is not None and cancel != before["cancel_at_period_end"]:
            after["cancel_at_period_end"] = cancel
            period_end = before["items"]["data"][0]["current_period_end"]
            after["cancel_at"] = period_end if cancel else None
            after["canceled_at"] = write.at if cancel else None
            after["cancellation_details"] = {
                **before["cancellation_details"],
                "reason": "cancellation_requested" if cancel else None,
            }
        if metadata is not None:
            after["metadata"] = metadata.apply(before.get("metadata"))
        if description is not None:
            after["description"] = description or None
        if after != before:
            patch = None if structural else ({"description": after["description"]}, metadata)
            write.update(record, after, patch=patch, end_script=structural)
            write.emit_update("customer.subscription.updated", before, after)
        return self.respond(write, record)

    def _update_item(self, write: Write, sub: Json, item: Params, position: int) -> None:
        item.check(("id", "price", "quantity", "deleted"))
        item_id = item.string("id")
        data = sub["items"]["data"]
        if item_id is None or item.boolean("deleted"):
            raise not_supported(item.name("id"), "adding or deleting subscription items")
        matching = [i for i, existing in enumerate(data) if existing["id"] == item_id]
        if not matching:
            raise StripeRequestError(f"Invalid subscription item: {item_id}", param=item.name("id"))
        updated = dict(data[matching[0]])
        if (price_id := item.string("price")) is not None:
            _, price = self.find("price", price_id, write.at, item.name("price"))
            if price["currency"] != sub["currency"] or price.get("type") != "recurring":
                raise StripeRequestError(
                    "The new price must be recurring and in the subscription's currency.",
                    param=item.name("price"),
                )
            updated["price"] = price
        if (quantity := item.integer("quantity", minimum=0)) is not None:
            updated["quantity"] = quantity
        data[matching[0]] = updated

    def cancel_subscription(self, call: Call) -> tuple[int, bytes]:
        params = call.params
        params.check(("cancellation_details", "invoice_now", "prorate", "expand"))
        if params.boolean("invoice_now") or params.boolean("prorate"):
            raise not_supported("invoice_now", "final invoices or prorations on cancellation")
        details = params.hash("cancellation_details")
        feedback = comment = None
        if details is not None:
            details.check(("comment", "feedback"))
            comment = details.string("comment")
            feedback = details.enum(
                "feedback",
                FEEDBACK,
            )
        write = self.begin(call)
        record, before = self.find("subscription", call.path("id"), write.at)
        if before["status"] in ENDED:
            raise StripeRequestError(
                f"This subscription is already canceled: {record.id}", saved=True
            )
        self._cancel(write, record, before, comment, feedback)
        return self.respond(write, record)

    def _cancel(
        self,
        write: Write,
        record: Record,
        before: Json,
        comment: str | None = None,
        feedback: str | None = None,
    ) -> None:
        after = dict(before)
        after.update(status="canceled", ended_at=write.at, cancel_at_period_end=False)
        if not before.get("canceled_at") or not before.get("cancel_at_period_end"):
            after["canceled_at"] = write.at
        after["cancellation_details"] = {
            "comment": comment,
            "feedback": feedback,
            "reason": "cancellation_requested",
        }
        write.update(record, after, end_script=True)
        write.emit("customer.subscription.deleted", after)

    # --- customers ---------------------------------------------------------------------

    def delete_customer(self, call: Call) -> tuple[int, bytes]:
        call.params.check(())
        write = self.begin(call)
        record, customer = self.find("customer", call.path("id"), write.at)
        index = self.store.index("subscription")
        for position in range(len(index)):
            sub_record = self.store.records[index.ids[position]]
            if sub_record.customer != record.id:
                continue
            state = self.store.state(sub_record, write.at)
            if state is not None and state["status"] not in ENDED:
                self._cancel(write, sub_record, state)
        deleted = {"id": record.id, "object": "customer", "deleted": True}
        write.update(record, deleted, deleted=True)
        write.emit("customer.deleted", customer)
        write.commit()
        return ok(deleted)
