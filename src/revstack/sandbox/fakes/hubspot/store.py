"""The fake's records: the world's versions plus the API's writes, read as of the sandbox clock.

A record exists at T when it has a version at or before T; it is archived when that version
is. A contact merged away answers with the record it was merged into, as in HubSpot. Writes
happen at ``clock.now_ms()`` with change source ``INTEGRATION`` and the app id as source id.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from revstack.sandbox.fakes.clock import SandboxClock
from revstack.sandbox.fakes.hubspot.records import History, Version
from revstack.sandbox.fakes.hubspot.settings import (
    ASSOCIATION_TYPE_IDS,
    MODIFIED_PROPERTY,
    OBJECT_TYPES,
    OTHER_INTEGRATION_APP_ID,
    HubSpotFakeSettings,
)
from revstack.sandbox.fakes.hubspot.world import Link, WorldData
from revstack.sandbox.world.crm_common import hs_time

WriteListener = Callable[[str, History, Version, str], None]
"""Called after every API write with (object type, record, new version, action), where action
is ``creation``, ``propertyChange`` or ``deletion``."""


@dataclass(frozen=True)
class Found:
    history: History
    version: Version


class Store:
    def __init__(
        self,
        world: WorldData,
        clock: SandboxClock,
        settings: Callable[[], HubSpotFakeSettings],
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.settings = settings
        self.wall = wall
        self.histories = world.histories
        self.order: dict[str, list[int]] = {
            kind: sorted(int(record_id) for record_id in world.histories[kind])
            for kind in OBJECT_TYPES
        }
        self._next_id = {
            kind: (self.order[kind][-1] + 1 if self.order[kind] else 1) for kind in OBJECT_TYPES
        }
        self.links: dict[tuple[str, str], list[Link]] = {}
        for link in world.links:
            self.links.setdefault((link.from_type, link.from_id), []).append(link)
        self.owner_users = {owner["id"]: owner["userId"] for owner in world.owners}
        self.listeners: list[WriteListener] = []

    # --- reading ------------------------------------------------------------------------------

    def now(self) -> int:
        return self.clock.now_ms()

    def get(self, kind: str, record_id: str, t: int, *, follow_merges: bool = True) -> Found | None:
        """The record at `t` (archived or not); a merged-away record answers with its winner."""
        for _ in range(16):
            history = self.histories[kind].get(record_id)
            version = history.at(t) if history is not None else None
            if history is None or version is None:
                return None
            if version.merged_into is None or not follow_merges:
                return Found(history, version)
            record_id = version.merged_into
        return None

    def live(self, kind: str, record_id: str, t: int) -> Found | None:
        found = self.get(kind, record_id, t)
        return found if found is not None and not found.version.archived else None

    def scan(self, kind: str, t: int, *, after: int = 0) -> Iterator[Found]:
        """Records existing at `t` in id order, from id `after` on (merged-away ones skipped)."""
        histories = self.histories[kind]
        order = self.order[kind]
        for number in order[bisect_left(order, after) :]:
            history = histories[str(number)]
            version = history.at(t)
            if version is not None and not version.merged:
                yield Found(history, version)

    def find(self, kind: str, name: str, value: str, t: int) -> Found | None:
        """The live record whose `name` equals `value` (case-insensitive) at `t`."""
        if name == "hs_object_id":
            return self.live(kind, value, t)
        wanted = value.strip().lower()
        for found in self.scan(kind, t):
            if not found.version.archived and found.version.props.get(name, "").lower() == wanted:
                return found
        return None

    def values(self, kind: str, name: str, t: int) -> dict[str, str]:
        """Lower-cased value of `name` -> id, over live records at `t`."""
        index: dict[str, str] = {}
        for found in self.scan(kind, t):
            value = found.version.props.get(name)
            if value and not found.version.archived:
                index.setdefault(value.lower(), found.history.id)
        return index

    def source_id(self, version: Version) -> str | None:
        """Who made a change, as HubSpot reports it (``userId:N`` for people, an app id for
        integrations)."""
        if version.source_id is not None:
            return version.source_id
        if version.source == "INTEGRATION":
            return OTHER_INTEGRATION_APP_ID
        if version.source == "CRM_UI":
            user = self.owner_users.get(version.props.get("hubspot_owner_id", ""))
            return f"userId:{user}" if user is not None else None
        return None

    def links_at(self, kind: str, record_id: str, to_kind: str, t: int) -> list[Link]:
        links = self.links.get((kind, record_id), [])
        alive = [link for link in links if link.to_type == to_kind and link.alive(t)]
        seen: dict[str, Link] = {}
        for link in alive:
            seen.setdefault(link.to_id, link)
        return sorted(seen.values(), key=lambda link: int(link.to_id))

    # --- writing ------------------------------------------------------------------------------

    def _version(
        self, t: int, archived: bool, props: dict[str, str], changed: list[str]
    ) -> Version:
        settings = self.settings()
        return Version(
            t,
            archived,
            props,
            tuple(changed),
            "INTEGRATION",
            str(settings.app_id),
            overlay=True,
            searchable_at=self.wall() + settings.search_index_lag_s,
        )

    def _notify(self, kind: str, history: History, version: Version, action: str) -> None:
        for listener in self.listeners:
            listener(kind, history, version, action)

    def create(self, kind: str, props: dict[str, str]) -> Found:
        t = self.now()
        record_id = str(self._next_id[kind])
        self._next_id[kind] += 1
        stamp = hs_time(t)
        values = {name: value for name, value in props.items() if value != ""}
        values.setdefault("createdate", stamp)
        values["hs_object_id"] = record_id
        values[MODIFIED_PROPERTY[kind]] = stamp
        history = History(kind, record_id, t, MODIFIED_PROPERTY[kind])
        version = self._version(
            t, False, values, [n for n in values if n != MODIFIED_PROPERTY[kind]]
        )
        history.insert(version)
        self.histories[kind][record_id] = history
        self.order[kind].append(int(record_id))
        self._notify(kind, history, version, "creation")
        return Found(history, version)

    def update(self, kind: str, found: Found, changes: dict[str, str]) -> Found:
        """Apply changes to a live record; no new version when nothing changes."""
        t = self.now()
        current = found.history.at(t) or found.version
        props = dict(current.props)
        changed = []
        for name, value in changes.items():
            if props.get(name, "") == value:
                continue
            changed.append(name)
            if value == "":
                props.pop(name, None)
            else:
                props[name] = value
        if not changed:
            return Found(found.history, current)
        props[MODIFIED_PROPERTY[kind]] = hs_time(t)
        version = self._version(t, False, props, changed)
        found.history.insert(version)
        self._notify(kind, found.history, version, "propertyChange")
        return Found(found.history, version)

    def archive(self, kind: str, found: Found) -> None:
        """Archive a record and end its associations; the world's later changes to it are
        dropped."""
        t = self.now()
        current = found.history.at(t) or found.version
        props = dict(current.props)
        props[MODIFIED_PROPERTY[kind]] = hs_time(t)
        version = self._version(t, True, props, [])
        found.history.insert(version, drop_later=True)
        for link in self.links.get((kind, found.history.id), []):
            if link.alive(t):
                self.dissociate(kind, found.history.id, link.to_type, link.to_id)
        self._notify(kind, found.history, version, "deletion")

    def associate(self, kind: str, record_id: str, to_kind: str, to_id: str) -> list[Link]:
        """The default association both ways, from now on (kept if it exists)."""
        t = self.now()
        made = []
        for a_kind, a_id, b_kind, b_id in (
            (kind, record_id, to_kind, to_id),
            (to_kind, to_id, kind, record_id),
        ):
            links = self.links.setdefault((a_kind, a_id), [])
            existing = next(
                (
                    link
                    for link in links
                    if link.to_type == b_kind and link.to_id == b_id and link.alive(t)
                ),
                None,
            )
            if existing is None:
                type_id = ASSOCIATION_TYPE_IDS[(a_kind, b_kind)]
                existing = Link(a_kind, a_id, b_kind, b_id, type_id, t, None)
                links.append(existing)
            made.append(existing)
        return made

    def dissociate(self, kind: str, record_id: str, to_kind: str, to_id: str) -> None:
        t = self.now()
        for a_kind, a_id, b_kind, b_id in (
            (kind, record_id, to_kind, to_id),
            (to_kind, to_id, kind, record_id),
        ):
            for link in self.links.get((a_kind, a_id), []):
                if link.to_type == b_kind and link.to_id == b_id and link.alive(t):
                    link.removed = t
