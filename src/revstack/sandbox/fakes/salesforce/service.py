"""The fake org's state: the world's records and schema, the daily budget, open query cursors
and Bulk API 2.0 jobs. Loaded once, on the app's start-up (or its first request)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Generic, TypeVar

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.salesforce.budget import ApiBudget
from revstack.sandbox.fakes.salesforce.schema import Schema, parse_time_ms
from revstack.sandbox.fakes.salesforce.store import Store
from revstack.sandbox.world.generate import read_manifest
from revstack.sandbox.world.ids import salesforce_id

T = TypeVar("T")


class Registry(Generic[T]):
    """Objects under generated Salesforce ids (``01g...`` cursors, ``750...`` jobs), keeping
    the `capacity` most recently used: older ones are forgotten, as expired ones are."""

    def __init__(self, key_prefix: str, capacity: int) -> None:
        self._prefix = key_prefix
        self._capacity = capacity
        self._items: OrderedDict[str, T] = OrderedDict()
        self._next = 1
        self._lock = threading.Lock()

    def add(self, item: T) -> str:
        with self._lock:
            key = salesforce_id(self._prefix, self._next)
            self._next += 1
            self._items[key] = item
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
            return key

    def get(self, key: str) -> T | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def remove(self, key: str) -> T | None:
        with self._lock:
            return self._items.pop(key, None)

    def values(self) -> list[T]:
        with self._lock:
            return list(self._items.values())


class SalesforceService:
    def __init__(self, world_dir: Path, clock: SandboxClock) -> None:
        self.world_dir = world_dir
        self.clock = clock
        self.budget = ApiBudget(clock)
        self._store: Store | None = None
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        return self.clock.now_ms()

    @property
    def store(self) -> Store:
        """The world's records, loaded on first use."""
        with self._lock:
            if self._store is None:
                manifest = read_manifest(self.world_dir)
                base_ms = parse_time_ms(manifest["start"] + "T00:00:00+00:00")
                self._store = Store(self.world_dir, Schema.load(self.world_dir, base_ms))
            return self._store

    @property
    def schema(self) -> Schema:
        return self.store.schema
