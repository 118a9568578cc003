"""The fake's object store: the world's versions plus everything written through the API,
read as of any moment.

An object's state at clock T is its latest version with ``created <= T`` (ties by ordinal).
An API write adds a version at the clock's moment. A write that only sets fields (metadata,
contact details, descriptions) is also kept as a `Patch`, so the world's later versions of
the object keep those fields; a write that changes the object's story (cancelling or
reshaping a subscription, refunding a charge, deleting a customer) ends the world's script
for it: its later world versions and events are no longer served.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

import orjson

from revstack.sandbox.fakes.stripe.asof import ADJUSTED_KINDS, TimeDependentFields
from revstack.sandbox.fakes.stripe.world_index import (
    EVENT_OBJECT,
    FINAL,
    OVERLAY,
    SILENT,
    EventRecord,
    KindIndex,
    Patch,
    Record,
    Version,
    WorldIndex,
)
from revstack.sandbox.world.ids import stripe_id

Json = dict[str, Any]

#: API-written versions and events sort after every world ordinal of the same second.
_API_ORDINAL_BASE = 1 << 63


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def get(self, key: tuple[int, int]) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: tuple[int, int], value: bytes) -> None:
        self._items[key] = value
        if len(self._items) > self.size:
            self._items.popitem(last=False)


def dig(obj: Any, path: str) -> Any:
    """The value at a dotted path (``parent.subscription_details.subscription``), or None."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


class StripeStore:
    """World versions and API writes, served as of a moment."""

    def __init__(self, index: WorldIndex, *, cache_size: int = 50_000, seed: int = 0) -> None:
        self.records = index.records
        self.events = index.events
        self.kinds = index.kinds
        self.event_index = index.event_index
        self._texts = {
            EVENT_OBJECT: index.event_payloads,
            SILENT: index.silent_payloads,
            FINAL: index.final_payloads,
        }
        self._overlay: list[bytes] = []
        self._cache = _LRU(cache_size)
        self._ordinal = _API_ORDINAL_BASE
        self._attrs: dict[tuple[str, str], Any] = {}
        self._related: dict[tuple[str, str], dict[Any, list[str]]] = {}
        self.rng = random.Random(f"revstack-fake-stripe-{seed}")
        self.fresh_cards: dict[str, Any] = {}
        """Payment methods made from Stripe's test cards (``pm_card_visa``) by API writes,
        by id: a `cards.PaymentCard` each (payment methods are not served)."""
        redemptions: dict[str, list[int]] = {}
        for record in self.records.values():
            if record.kind == "discount":
                first = self.version_dict(record.versions[0])
                coupon = dig(first, "source.coupon")
                if coupon:
                    redemptions.setdefault(coupon, []).append(record.created)
        for times in redemptions.values():
            times.sort()
        self.time = TimeDependentFields(index.finalizations, redemptions)

    # --- reading -------------------------------------------------------------------------

    def get(self, object_id: str, kind: str | None = None) -> Record | None:
        record = self.records.get(object_id)
        if record is None or (kind is not None and record.kind != kind):
            return None
        return record

    def index(self, kind: str) -> KindIndex:
        index = self.kinds.get(kind)
        if index is None:
            index = self.kinds[kind] = KindIndex()
        return index

    def current(self, record: Record, at: int, wall_before: float | None = None) -> Version | None:
        """The version in force at `at`; `wall_before` hides API writes made after that
        wall-clock time (what search has not indexed yet)."""
        for version in reversed(record.versions):
            if version.ts > at:
                continue
            if version.wall is None:
                if record.script_end is not None and version.key > record.script_end:
                    continue
            elif wall_before is not None and version.wall > wall_before:
                continue
            return version
        return None

    def version_bytes(self, version: Version) -> bytes:
        if version.source == OVERLAY:
            return self._overlay[version.row]
        if version.source != EVENT_OBJECT:
            return self._texts[version.source].get(version.row)
        key = (version.source, version.row)
        cached = self._cache.get(key)
        if cached is None:
            event = orjson.loads(self._texts[EVENT_OBJECT].get(version.row))
            cached = orjson.dumps(event["data"]["object"])
            self._cache.put(key, cached)
        return cached

    def version_dict(self, version: Version) -> Json:
        result: Json = orjson.loads(self.version_bytes(version))
        return result

    def _patches_for(
        self, record: Record, key: tuple[int, int], wall_before: float | None
    ) -> list[Patch]:
        return [
            patch
            for patch in record.patches
            if patch.key < key and (wall_before is None or patch.wall <= wall_before)
        ]

    def render(
        self,
        record: Record,
        at: int,
        *,
        wall_before: float | None = None,
        listable: bool = False,
    ) -> bytes | Json | None:
        """The object as of `at`: cached JSON bytes when nothing needs changing, else a dict
        with patches and time-dependent fields applied. ``None`` when it does not exist (or,
        with `listable`, when it is deleted)."""
        version = self.current(record, at, wall_before)
        if version is None or (listable and version.deleted):
            return None
        patches = []
        if record.patches and version.wall is None:
            patches = self._patches_for(record, version.key, wall_before)
        if not patches and (version.deleted or record.kind not in ADJUSTED_KINDS):
            return self.version_bytes(version)
        obj = self.version_dict(version)
        self._apply(obj, patches)
        if not version.deleted:
            self.time.adjust(record.kind, obj, at)
        return obj

    def state(self, record: Record, at: int, *, wall_before: float | None = None) -> Json | None:
        rendered = self.render(record, at, wall_before=wall_before)
        if rendered is None or isinstance(rendered, dict):
            return rendered
        result: Json = orjson.loads(rendered)
        return result

    def exists(self, record: Record, at: int, wall_before: float | None = None) -> bool:
        version = self.current(record, at, wall_before)
        return version is not None and not version.deleted

    @staticmethod
    def _apply(obj: Json, patches: list[Patch]) -> None:
        for patch in patches:
            obj.update(patch.fields)
            if patch.metadata is not None:
                obj["metadata"] = patch.metadata.apply(obj.get("metadata"))

    def attr(self, record: Record, path: str) -> Any:
        """A field that never changes once the object exists (its charge, its invoice...)."""
        key = (record.id, path)
        if key not in self._attrs:
            self._attrs[key] = dig(self.version_dict(record.versions[0]), path)
        return self._attrs[key]

    def related(self, kind: str, path: str, value: Any) -> list[str]:
        """Ids of the objects of `kind` whose immutable field `path` equals `value`, oldest
        first (a charge's refunds, a payout's balance transactions...)."""
        key = (kind, path)
        table = self._related.get(key)
        if table is None:
            table = {}
            for object_id in self.index(kind).ids:
                record = self.records[object_id]
                table.setdefault(self.attr(record, path), []).append(object_id)
            self._related[key] = table
        return table.get(value, [])

    def refunds_of(self, charge_id: str) -> list[str]:
        return self.related("refund", "charge", charge_id)

    def event_visible(self, event: EventRecord) -> bool:
        record = self.records.get(event.object_id)
        return not (
            not event.api
            and record is not None
            and record.script_end is not None
            and event.key > record.script_end
        )

    def event_bytes(self, event: EventRecord) -> bytes:
        if event.api:
            return self._overlay[event.row]
        raw = self._texts[EVENT_OBJECT].get(event.row)
        record = self.records.get(event.object_id)
        if record is None or not record.patches:
            return raw
        patches = self._patches_for(record, event.key, None)
        if not patches:
            return raw
        payload = orjson.loads(raw)
        self._apply(payload["data"]["object"], patches)
        return orjson.dumps(payload)

    # --- writing -------------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 24) -> str:
        while True:
            candidate = stripe_id(self.rng, prefix, length)
            if candidate not in self.records and candidate not in self.events:
                return candidate

    def _next_key(self, at: int) -> tuple[int, int]:
        self._ordinal += 1
        return (at, self._ordinal)

    def _store(self, obj: Json) -> int:
        self._overlay.append(orjson.dumps(obj))
        return len(self._overlay) - 1

    def add_object(self, obj: Json, at: int, wall: float) -> Record:
        """A new object written through the API at `at`."""
        ts, ordinal = self._next_key(at)
        kind = obj["object"]
        customer = obj["id"] if kind == "customer" else obj.get("customer")
        if not isinstance(customer, str):
            customer = None
        version = Version(ts, ordinal, OVERLAY, self._store(obj), wall)
        record = Record(kind, obj["id"], ts, customer, [version])
        self.records[record.id] = record
        self.index(kind).insert((ts, record.id), record.id)
        for (related_kind, path), table in self._related.items():
            if related_kind == kind:
                table.setdefault(self.attr(record, path), []).append(record.id)
        return record

    def add_version(
        self,
        record: Record,
        obj: Json,
        at: int,
        wall: float,
        *,
        deleted: bool = False,
        patch: tuple[Json, Any] | None = None,
        end_script: bool = False,
    ) -> Version:
        """A new state of `record` written through the API. `patch` is (fields, metadata
        change) to keep on the world's later versions; `end_script` hides them instead."""
        ts, ordinal = self._next_key(at)
        version = Version(ts, ordinal, OVERLAY, self._store(obj), wall, deleted)
        record.add(version)
        if end_script or deleted:
            if record.script_end is None:
                record.script_end = version.key
        elif patch is not None:
            record.patches.append(Patch(version.key, wall, patch[0], patch[1]))
        return version

    def remove_object(self, record: Record) -> None:
        """Undo `add_object` (a write that failed before answering)."""
        self.records.pop(record.id, None)
        self.index(record.kind).remove((record.created, record.id))
        for (kind, path), table in self._related.items():
            if kind == record.kind:
                ids = table.get(self.attr(record, path), [])
                if record.id in ids:
                    ids.remove(record.id)

    def remove_version(self, record: Record, version: Version, script_end: Any) -> None:
        """Undo `add_version`."""
        if version in record.versions:
            record.versions.remove(version)
        record.patches = [p for p in record.patches if p.key != version.key]
        record.script_end = script_end

    def remove_event(self, event: EventRecord) -> None:
        self.events.pop(event.id, None)
        self.event_index.remove(event.key)

    def add_event(self, event: Json, object_id: str, at: int) -> EventRecord:
        ts, ordinal = self._next_key(at)
        event["created"] = ts
        record = EventRecord(
            event["id"], event["type"], ts, ordinal, object_id, OVERLAY, self._store(event)
        )
        self.events[record.id] = record
        self.event_index.insert(record.key, record.id)
        return record
