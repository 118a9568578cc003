"""One HubSpot record's versions, and what it looks like at a moment.

World versions hold the full property map as of their time; API writes insert overlay versions
at the sandbox clock's time. Inserting a write *rebases* the record's later world versions:
each keeps only the properties it changed, on top of the write, so a property the world
changes later still changes then, and one it does not change keeps the written value.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import orjson

from revstack.sandbox.world.crm_common import hs_time


class Version:
    """One state of a record. Properties and changed names are parsed on first use."""

    __slots__ = (
        "_changed",
        "_props",
        "archived",
        "dropped",
        "merged_into",
        "overlay",
        "searchable_at",
        "source",
        "source_id",
        "t",
    )

    def __init__(
        self,
        t: int,
        archived: bool,
        props: dict[str, str] | str,
        changed: tuple[str, ...] | str,
        source: str,
        source_id: str | None = None,
        merged_into: str | None = None,
        *,
        overlay: bool = False,
        searchable_at: float = 0.0,
    ) -> None:
        self.t = t
        self.archived = archived
        self._props: dict[str, str] | str = props
        self._changed: tuple[str, ...] | str = changed
        self.source = source
        self.source_id = source_id
        self.merged_into = merged_into
        self.overlay = overlay
        self.searchable_at = searchable_at
        self.dropped = False

    @property
    def props(self) -> dict[str, str]:
        if isinstance(self._props, str):
            self._props = _load_dict(self._props)
        return self._props

    @props.setter
    def props(self, value: dict[str, str]) -> None:
        self._props = value

    @property
    def changed(self) -> tuple[str, ...]:
        if isinstance(self._changed, str):
            self._changed = tuple(orjson.loads(self._changed))
        return self._changed

    @property
    def merged(self) -> bool:
        return self.merged_into is not None


def _load_dict(raw: str) -> dict[str, str]:
    data: Any = orjson.loads(raw)
    return {str(key): str(value) for key, value in data.items() if value is not None}


class History:
    """Every version of one record, in time order (same-time versions in write order)."""

    __slots__ = ("created_ms", "id", "kind", "modified", "times", "versions")

    def __init__(self, kind: str, record_id: str, created_ms: int, modified: str) -> None:
        self.kind = kind
        self.id = record_id
        self.created_ms = created_ms
        self.modified = modified
        """The property holding the last-modified time (`lastmodifieddate` for contacts)."""
        self.times: list[int] = []
        self.versions: list[Version] = []

    def append(self, version: Version) -> None:
        """Add a world version (they arrive in order)."""
        self.times.append(version.t)
        self.versions.append(version)

    def at(self, t: int) -> Version | None:
        """The version in force at `t` (None: the record does not exist yet)."""
        index = bisect_right(self.times, t)
        return self.versions[index - 1] if index else None

    def searchable_at(self, t: int, wall: float) -> Version | None:
        """The version search sees at `t`: API writes become visible `searchable_at` (wall)."""
        index = bisect_right(self.times, t)
        while index:
            version = self.versions[index - 1]
            if not version.overlay or version.searchable_at <= wall:
                return version
            index -= 1
        return None

    def upto(self, t: int) -> list[Version]:
        return self.versions[: bisect_right(self.times, t)]

    def later_than(self, t: int) -> list[Version]:
        return self.versions[bisect_right(self.times, t) :]

    def insert(self, version: Version, *, drop_later: bool = False) -> None:
        """Insert an API write at its time; rebase later versions on it, or drop them
        (`drop_later`: after an archive the world's later changes are lost)."""
        index = bisect_right(self.times, version.t)
        later = self.versions[index:]
        del self.times[index:]
        del self.versions[index:]
        self.times.append(version.t)
        self.versions.append(version)
        if drop_later:
            for dropped in later:
                dropped.dropped = True
            return
        previous = version
        for world in later:
            props = dict(previous.props)
            own = world.props
            for name in world.changed:
                if name in own:
                    props[name] = own[name]
                else:
                    props.pop(name, None)
            props[self.modified] = own.get(self.modified, hs_time(world.t))
            world.props = props
            self.times.append(world.t)
            self.versions.append(world)
            previous = world
