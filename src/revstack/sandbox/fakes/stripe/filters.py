"""Each list endpoint's own filters (``customer``, ``status``, ``type`` ...) as predicates on
records, evaluated as of the clock."""

from __future__ import annotations

from collections.abc import Callable

from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.forms import Params
from revstack.sandbox.fakes.stripe.listing import parse_created
from revstack.sandbox.fakes.stripe.store import Json, StripeStore, dig
from revstack.sandbox.fakes.stripe.world_index import Record

Predicate = Callable[[Record], bool]

SUBSCRIPTION_STATUSES = (
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
)
INVOICE_STATUSES = ("draft", "open", "paid", "uncollectible", "void")

#: Filter parameters each kind's list accepts.
FILTER_PARAMS: dict[str, tuple[str, ...]] = {
    "customer": ("email",),
    "product": ("active", "ids", "shippable", "url"),
    "price": ("active", "currency", "product", "type", "lookup_keys", "recurring"),
    "coupon": (),
    "subscription": ("customer", "price", "status", "collection_method"),
    "invoice": ("customer", "subscription", "status", "collection_method"),
    "invoiceitem": ("customer", "invoice", "pending"),
    "invoice_payment": ("invoice", "payment", "status"),
    "payment_intent": ("customer",),
    "charge": ("customer", "payment_intent", "transfer_group"),
    "refund": ("charge", "payment_intent"),
    "dispute": ("charge", "payment_intent"),
    "balance_transaction": ("type", "source", "payout", "currency"),
    "payout": ("status", "arrival_date", "destination"),
}


def build_filters(kind: str, params: Params, store: StripeStore, at: int) -> list[Predicate]:
    """Predicates for the filters given in `params` (already checked against FILTER_PARAMS)."""
    filters: list[Predicate] = []

    def state(record: Record) -> Json:
        return store.state(record, at) or {}

    def on_state(path: str, wanted: object) -> None:
        filters.append(lambda r: dig(state(r), path) == wanted)

    def on_attr(path: str, wanted: object) -> None:
        filters.append(lambda r: store.attr(r, path) == wanted)

    if (customer := params.string("customer")) is not None and kind != "customer":
        filters.append(lambda r: r.customer == customer)
    if kind == "customer" and (email := params.string("email")) is not None:
        on_state("email", email)
    for name in ("active", "shippable"):
        if name in FILTER_PARAMS[kind] and (flag := params.boolean(name)) is not None:
            on_state(name, flag)
    if kind == "product" and (ids := params.strings("ids")) is not None:
        wanted_ids = set(ids)
        filters.append(lambda r: r.id in wanted_ids)
    if kind == "product" and (url := params.string("url")) is not None:
        on_state("url", url)
    if kind == "price":
        for name in ("currency", "product", "type"):
            if (value := params.string(name)) is not None:
                on_attr(name, value)
        if (keys := params.strings("lookup_keys")) is not None:
            wanted_keys = set(keys)
            filters.append(lambda r: state(r).get("lookup_key") in wanted_keys)
        if (recurring := params.hash("recurring")) is not None:
            recurring.check(("interval", "usage_type", "meter"))
            for name in ("interval", "usage_type"):
                if (value := recurring.string(name)) is not None:
                    on_state(f"recurring.{name}", value)
    if kind == "subscription":
        filters.append(_subscription_status(params, state))
        if (price := params.string("price")) is not None:
            filters.append(
                lambda r: any(
                    dig(item, "price.id") == price for item in dig(state(r), "items.data") or ()
                )
            )
    if kind in ("subscription", "invoice") and (method := params.string("collection_method")):
        on_state("collection_method", method)
    if kind == "invoice":
        if (subscription := params.string("subscription")) is not None:
            on_attr("parent.subscription_details.subscription", subscription)
        if (status := params.enum("status", INVOICE_STATUSES)) is not None:
            on_state("status", status)
    if kind == "invoiceitem":
        if (invoice := params.string("invoice")) is not None:
            on_state("invoice", invoice)
        if (pending := params.boolean("pending")) is not None:
            filters.append(lambda r: (state(r).get("invoice") is None) is pending)
    if kind == "invoice_payment":
        if (invoice := params.string("invoice")) is not None:
            on_attr("invoice", invoice)
        if (payment := params.hash("payment")) is not None:
            payment.check(("type", "payment_intent", "charge"))
            if (intent := payment.string("payment_intent")) is not None:
                on_attr("payment.payment_intent", intent)
        if (status := params.string("status")) is not None:
            on_state("status", status)
    if kind in ("charge", "refund", "dispute"):
        for name in ("payment_intent", "charge", "transfer_group"):
            if name in FILTER_PARAMS[kind] and (value := params.string(name)) is not None:
                on_attr(name, value)
    if kind == "balance_transaction":
        for name in ("type", "source", "currency"):
            if (value := params.string(name)) is not None:
                on_attr(name, value)
        if (payout := params.string("payout")) is not None:
            members = set(payout_members(store, payout))
            filters.append(lambda r: r.id in members)
    if kind == "payout":
        if (status := params.string("status")) is not None:
            on_state("status", status)
        if (destination := params.string("destination")) is not None:
            on_attr("destination", destination)
        if params.raw("arrival_date") is not None:
            lowest, highest = parse_created(params, "arrival_date")
            filters.append(
                lambda r: (lowest is None or state(r)["arrival_date"] >= lowest)
                and (highest is None or state(r)["arrival_date"] <= highest)
            )
    return filters


def _subscription_status(params: Params, state: Callable[[Record], Json]) -> Predicate:
    status = params.enum("status", SUBSCRIPTION_STATUSES)
    if status == "all":
        return lambda r: True
    if status is None:
        return lambda r: state(r).get("status") != "canceled"
    if status == "ended":
        return lambda r: state(r).get("status") in ("canceled", "incomplete_expired")
    return lambda r: state(r).get("status") == status


def payout_members(store: StripeStore, payout_id: str) -> list[str]:
    """The balance transactions an automatic payout paid out: the payout's own, and those of
    its currency that became available after the previous payout's day, up to its own day
    (the world pays each day's available balance, carrying negative days forward)."""
    record = store.get(payout_id, "payout")
    if record is None:
        raise StripeRequestError(f"No such payout: '{payout_id}'", param="payout")
    if record.versions[0].wall is not None:
        return []
    payout = store.version_dict(record.versions[0])
    currency, day = payout["currency"], payout["created"] - payout["created"] % 86_400
    previous = -1
    for other_id in store.index("payout").ids:
        other = store.records[other_id]
        if other.created < record.created and store.attr(other, "currency") == currency:
            previous = max(previous, other.created - other.created % 86_400)
    members = [payout["balance_transaction"]]
    for bt_id in store.index("balance_transaction").ids:
        bt = store.records[bt_id]
        if bt.versions[0].wall is not None or store.attr(bt, "currency") != currency:
            continue
        if store.attr(bt, "type") == "payout":
            continue
        available = store.attr(bt, "available_on")
        if previous < available - available % 86_400 <= day:
            members.append(bt_id)
    return members
