"""The Stripe account's products, prices and coupons: created once at the world's start."""

from __future__ import annotations

from collections import Counter

from revstack.sandbox.world import stripe_render as render
from revstack.sandbox.world.catalog import COUPONS, PRICES, PRODUCTS, PriceSpec
from revstack.sandbox.world.clock import DAY, HOUR, add_months
from revstack.sandbox.world.ids import stripe_id
from revstack.sandbox.world.rng import stream
from revstack.sandbox.world.story import Window
from revstack.sandbox.world.stripe_model import CouponObj, PriceObj, ProductObj
from revstack.sandbox.world.stripe_record import StripeRecorder
from revstack.sandbox.world.tables import Sink


class StripeCatalog:
    """Stripe objects of the price book, with ids drawn from the world seed."""

    def __init__(self, seed: int, window: Window) -> None:
        rng = stream(seed, "stripe-catalog")
        self.window = window
        self.products = {
            spec.key: ProductObj(
                id=stripe_id(rng, "prod", 14),
                key=spec.key,
                name=spec.name,
                description=spec.description,
                created=window.start,
            )
            for spec in PRODUCTS
        }
        self.prices: dict[str, PriceObj] = {}
        for spec in PRICES:
            created = window.start + HOUR
            if spec.available_from_month:
                created = add_months(window.start, spec.available_from_month) - DAY
            retired = spec.retired_from_month
            self.prices[spec.key] = PriceObj(
                id=stripe_id(rng, "price", 24),
                spec=spec,
                product=self.products[spec.tier],
                created=created,
                retired_at=add_months(window.start, retired) if retired is not None else None,
            )
        for key, product in self.products.items():
            product.default_price = self.prices[f"{key}_month_usd"].id
        self.coupons = {
            spec.id: CouponObj(spec=spec, created=window.start + 2 * HOUR) for spec in COUPONS
        }

    def price(self, spec: PriceSpec) -> PriceObj:
        return self.prices[spec.key]

    def record(self, sink: Sink, seed: int, redemptions: Counter[str]) -> None:
        """Emit the catalog's events and final states (coupons with their redemption counts)."""
        rec = StripeRecorder(sink, stream(seed, "stripe-catalog-events"), 0)
        end = self.window.end
        for product in self.products.values():
            if product.created < end:
                rec.emit("product.created", render.product(product), product.created, None)
        for price in sorted(self.prices.values(), key=lambda p: (p.created, p.spec.key)):
            if price.created >= end:
                continue
            rec.emit("price.created", render.price(price, price.created), price.created, None)
            if price.retired_at is not None and price.retired_at < end:
                rec.emit(
                    "price.updated", render.price(price, price.retired_at), price.retired_at, None
                )
        for coupon in self.coupons.values():
            coupon.times_redeemed = redemptions.get(coupon.spec.id, 0)
            if coupon.created < end:
                rec.emit(
                    "coupon.created",
                    render.coupon(CouponObj(coupon.spec, coupon.created)),
                    coupon.created,
                    None,
                )
        for product in self.products.values():
            rec.final("product", render.product(product), None)
        for price in self.prices.values():
            if price.created < end:
                rec.final("price", render.price(price, end), None)
        for coupon in self.coupons.values():
            rec.final("coupon", render.coupon(coupon), None)
