"""The world's Salesforce schema as of a moment: which fields exist under which names.

``salesforce/schema.json`` lists every field that ever exists under its canonical name, plus the
drift: a `rename` serves the canonical field under its new name from ``at`` on (and no longer
under the old one); an `addition` does not exist before ``at``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from revstack.errors import WorldError

#: describe ``type`` -> the Arrow type the fake holds its values in (others are strings).
_ARROW_TYPES = {
    "boolean": pa.bool_(),
    "int": pa.int64(),
    "double": pa.float64(),
    "currency": pa.float64(),
    "percent": pa.float64(),
}


def parse_time_ms(value: str) -> int:
    """Unix ms of an ISO-8601 time such as ``2025-07-13T00:00:00.000Z``."""
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Field:
    """A field as served at some moment."""

    name: str
    """The name the API uses for it now."""
    canonical: str
    """The column holding its values (the name in the world's version rows)."""
    type: str
    describe: dict[str, Any]


@dataclass(frozen=True)
class Drift:
    sobject: str
    canonical: str
    at_ms: int
    new_name: str | None
    """The name from ``at`` on for a rename; None for an addition."""


class Schema:
    """Describe metadata of every object, served as of a moment."""

    def __init__(self, document: dict[str, Any], base_ms: int) -> None:
        self.objects: dict[str, dict[str, Any]] = document["objects"]
        self.base_ms = base_ms
        self.drifts = [
            Drift(r["object"], r["old"], parse_time_ms(r["at"]), r["new"])
            for r in document.get("renames", [])
        ] + [
            Drift(a["object"], a["field"], parse_time_ms(a["at"]), None)
            for a in document.get("additions", [])
        ]
        self._by_lower = {name.lower(): name for name in self.objects}

    @classmethod
    def load(cls, world_dir: Path, base_ms: int) -> Schema:
        path = world_dir / "salesforce" / "schema.json"
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise WorldError(f"cannot read the Salesforce schema {path}: {exc}") from exc
        return cls(document, base_ms)

    def object_name(self, name: str) -> str | None:
        """The object's canonical name, case-insensitively; None if there is no such object."""
        return self._by_lower.get(name.lower())

    def arrow_schema(self, sobject: str) -> pa.Schema:
        """Every field that ever exists on `sobject`, under canonical names, as Arrow types."""
        return pa.schema(
            [
                (f["name"], _ARROW_TYPES.get(f["type"], pa.string()))
                for f in self.objects[sobject]["fields"]
            ]
        )

    def field_types(self, sobject: str) -> dict[str, str]:
        """Canonical field name -> describe type."""
        return {f["name"]: f["type"] for f in self.objects[sobject]["fields"]}

    def fields(self, sobject: str, at_ms: int) -> list[Field]:
        """The fields `sobject` has at `at_ms`, in describe order, under their names then."""
        served = []
        drifts = {d.canonical: d for d in self.drifts if d.sobject == sobject}
        for entry in self.objects[sobject]["fields"]:
            canonical = entry["name"]
            name = canonical
            drift = drifts.get(canonical)
            if drift is not None:
                active = at_ms >= drift.at_ms
                if drift.new_name is None and not active:
                    continue  # an addition that has not happened yet
                if drift.new_name is not None and active:
                    name = drift.new_name
                    entry = {**entry, "name": name}
            served.append(Field(name, canonical, entry["type"], entry))
        return served

    def field_map(self, sobject: str, at_ms: int) -> dict[str, Field]:
        """Lower-cased served name -> field, for case-insensitive lookups."""
        return {f.name.lower(): f for f in self.fields(sobject, at_ms)}

    def changed_ms(self, sobject: str | None, at_ms: int) -> int:
        """When the metadata of `sobject` (of any object when None) last changed by `at_ms`."""
        moments = [
            d.at_ms
            for d in self.drifts
            if (sobject is None or d.sobject == sobject) and d.at_ms <= at_ms
        ]
        return max([self.base_ms, *moments])

    def describe(self, sobject: str, at_ms: int, version: str) -> dict[str, Any]:
        """``GET /sobjects/{sobject}/describe`` as of `at_ms`."""
        entry = self.objects[sobject]
        return {
            **self.global_entry(sobject, version),
            "fields": [f.describe for f in self.fields(sobject, at_ms)],
            "childRelationships": [],
            "recordTypeInfos": [],
            "supportedScopes": [{"label": "All " + entry["label"], "name": "everything"}],
        }

    def global_entry(self, sobject: str, version: str) -> dict[str, Any]:
        """One object's entry in ``GET /sobjects`` (describeGlobal)."""
        entry = self.objects[sobject]
        base = f"/services/data/v{version}/sobjects/{sobject}"
        writable = sobject not in ("OpportunityHistory",)
        return {
            "name": sobject,
            "label": entry["label"],
            "labelPlural": entry["label"] + ("es" if entry["label"].endswith("s") else "s"),
            "keyPrefix": entry["keyPrefix"],
            "custom": entry["custom"],
            "queryable": entry.get("queryable", True),
            "replicateable": entry.get("replicateable", True),
            "retrieveable": True,
            "searchable": sobject not in ("OpportunityHistory", "OpportunityLineItem"),
            "createable": writable,
            "updateable": writable,
            "deletable": writable and sobject != "User",
            "undeletable": writable and sobject != "User",
            "urls": {
                "sobject": base,
                "describe": base + "/describe",
                "rowTemplate": base + "/{ID}",
            },
        }
