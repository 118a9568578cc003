"""``expand[]``: replacing object ids in a response by the objects, as of the clock.

Paths are dotted (``charge.balance_transaction``), at most four levels deep counting the
``data.`` that list responses require. Any field holding the id of an object the fake
serves can be expanded (real Stripe allows a documented set per object; the ids it holds are
the same). A charge's ``refunds`` appear only when expanded.
"""

from __future__ import annotations

from typing import Any

from revstack.sandbox.fakes.stripe.errors import StripeRequestError
from revstack.sandbox.fakes.stripe.store import Json, StripeStore

MAX_DEPTH = 4


def check_paths(paths: tuple[str, ...], *, listing: bool) -> list[list[str]]:
    """Split and validate expand paths (list responses: each must start with ``data.``)."""
    result = []
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_DEPTH:
            raise StripeRequestError(
                f"You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}",
                param="expand",
            )
        if any(not part for part in parts):
            raise StripeRequestError(f"Invalid expand path: {path}", param="expand")
        if listing:
            if parts[0] != "data" or len(parts) < 2:
                raise _cannot(path)
            parts = parts[1:]
        result.append(parts)
    return result


def _cannot(path: str) -> StripeRequestError:
    return StripeRequestError(f"This property cannot be expanded ({path}).", param="expand")


class Expander:
    """Expands paths in objects rendered as of `at`."""

    def __init__(self, store: StripeStore, at: int) -> None:
        self.store = store
        self.at = at

    def expand(self, obj: Json, paths: list[list[str]]) -> Json:
        for parts in paths:
            self._apply(obj, parts, ".".join(parts))
        return obj

    def _apply(self, obj: Json, parts: list[str], path: str) -> None:
        head, rest = parts[0], parts[1:]
        if head == "refunds" and obj.get("object") == "charge" and not rest:
            obj["refunds"] = self._refunds(obj)
            return
        if head not in obj:
            raise _cannot(path)
        value = obj[head]
        if not rest:
            obj[head] = self._resolve(value, path)
            return
        if isinstance(value, str):
            value = obj[head] = self._resolve(value, path)
        if isinstance(value, dict):
            if value.get("object") == "list" and rest[0] == "data":
                for item in value.get("data") or ():
                    if len(rest) > 1 and isinstance(item, dict):
                        self._apply(item, rest[1:], path)
                return
            self._apply(value, rest, path)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    self._apply(item, rest, path)

    def _resolve(self, value: Any, path: str) -> Any:
        if value is None or isinstance(value, dict):
            return value
        if isinstance(value, list):
            return [self._resolve(item, path) for item in value]
        if not isinstance(value, str):
            raise _cannot(path)
        record = self.store.get(value)
        if record is None:
            raise _cannot(path)
        state = self.store.state(record, self.at)
        if state is None:
            raise _cannot(path)
        return state

    def _refunds(self, charge: Json) -> Json:
        refunds = []
        for refund_id in self.store.refunds_of(charge["id"]):
            record = self.store.get(refund_id, "refund")
            if record is None:
                continue
            state = self.store.state(record, self.at)
            if state is not None:
                refunds.append(state)
        refunds.sort(key=lambda r: (r["created"], r["id"]), reverse=True)
        return {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "total_count": len(refunds),
            "url": f"/v1/charges/{charge['id']}/refunds",
        }
