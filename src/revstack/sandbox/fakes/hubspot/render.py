"""A record as the CRM v3 object endpoints return it: ``{id, properties, createdAt, updatedAt,
archived}`` with only the requested properties (or the defaults), optionally property history
and associations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from revstack.sandbox.fakes.hubspot.properties import PropertyRegistry
from revstack.sandbox.fakes.hubspot.settings import DEFAULT_PROPERTIES, SINGULAR
from revstack.sandbox.fakes.hubspot.store import Found, Store
from revstack.sandbox.world.crm_common import hs_time


class Renderer:
    def __init__(self, store: Store, registry: PropertyRegistry) -> None:
        self.store = store
        self.registry = registry

    def obj(
        self,
        kind: str,
        found: Found,
        t: int,
        *,
        properties: Sequence[str] = (),
        with_history: Sequence[str] = (),
        associations: Sequence[str] = (),
        upsert_new: bool | None = None,
    ) -> dict[str, Any]:
        version = found.version
        names = properties or DEFAULT_PROPERTIES[kind]
        values = version.props
        out: dict[str, Any] = {
            "id": found.history.id,
            "properties": {
                name: values.get(name) for name in names if self.registry.exists(kind, name)
            },
            "createdAt": hs_time(found.history.created_ms),
            "updatedAt": hs_time(version.t),
            "archived": version.archived,
        }
        if version.archived:
            out["archivedAt"] = hs_time(version.t)
        if with_history:
            out["propertiesWithHistory"] = self.history(kind, found, t, with_history)
        if associations:
            linked = self.associations(kind, found.history.id, t, associations)
            if linked:
                out["associations"] = linked
        if upsert_new is not None:
            out["new"] = upsert_new
        return out

    def history(
        self, kind: str, found: Found, t: int, names: Sequence[str]
    ) -> dict[str, list[dict[str, Any]]]:
        wanted = [name for name in names if self.registry.exists(kind, name)]
        history: dict[str, list[dict[str, Any]]] = {name: [] for name in wanted}
        for version in reversed(found.history.upto(t)):
            changed = set(version.changed)
            for name in wanted:
                if name in changed or (name == found.history.modified and version.changed):
                    entry: dict[str, Any] = {
                        "value": version.props.get(name, ""),
                        "timestamp": hs_time(version.t),
                        "sourceType": version.source,
                    }
                    source_id = self.store.source_id(version)
                    if source_id is not None:
                        entry["sourceId"] = source_id
                    history[name].append(entry)
        return history

    def associations(
        self, kind: str, record_id: str, t: int, to_kinds: Sequence[str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for to_kind in to_kinds:
            links = self.store.links_at(kind, record_id, to_kind, t)
            if links:
                label = f"{SINGULAR[kind]}_to_{SINGULAR[to_kind]}"
                out[to_kind] = {"results": [{"id": link.to_id, "type": label} for link in links]}
        return out
