"""Checks every write goes through before it touches the store: property values, a contact's
unique email, unique-value properties, and associations given on create."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from revstack.sandbox.fakes.hubspot.errors import HubSpotApiError, bad_request, conflict
from revstack.sandbox.fakes.hubspot.properties import PropertyRegistry
from revstack.sandbox.fakes.hubspot.settings import ASSOCIATION_TYPE_IDS, SINGULAR
from revstack.sandbox.fakes.hubspot.store import Found, Store

_IN_REQUEST = ""


def properties_of(item: dict[str, Any]) -> dict[str, Any]:
    props = item.get("properties", {})
    if not isinstance(props, dict):
        raise bad_request("properties must be an object of property names to values")
    return props


def unique_names(registry: PropertyRegistry, kind: str) -> list[str]:
    names = registry.unique_names(kind)
    return ["email", *names] if kind == "contacts" else names


def duplicate(kind: str, name: str, value: str, existing: str) -> HubSpotApiError:
    if kind == "contacts" and name == "email":
        return conflict(f"Contact already exists. Existing ID: {existing}")
    return conflict(
        f'A {SINGULAR[kind]} with {name} "{value}" already exists. Existing ID: {existing}'
    )


class UniqueCheck:
    """Unique values at one moment, across one request's inputs (the first conflict wins)."""

    def __init__(self, store: Store, registry: PropertyRegistry, kind: str, t: int) -> None:
        self.kind = kind
        self.names = unique_names(registry, kind)
        self.taken = {name: store.values(kind, name, t) for name in self.names}

    def claim(self, values: dict[str, str], own_id: str | None = None) -> None:
        for name in self.names:
            value = values.get(name)
            if not value:
                continue
            holder = self.taken[name].get(value.lower())
            if holder == _IN_REQUEST:
                raise bad_request(f"Duplicate {name} values found in the batch input")
            if holder is not None and holder != own_id:
                raise duplicate(self.kind, name, value, holder)
            self.taken[name][value.lower()] = own_id or _IN_REQUEST


def create_associations(store: Store, kind: str, specs: Any, t: int) -> list[tuple[str, str]]:
    """Validate ``associations`` of a create input: ``[{to: {id}, types: [{associationCategory,
    associationTypeId}]}]``; returns (object type, id) pairs to associate."""
    if specs is None:
        return []
    if not isinstance(specs, list):
        raise bad_request("associations must be a list")
    by_type_id = {
        type_id: to_kind
        for (from_kind, to_kind), type_id in ASSOCIATION_TYPE_IDS.items()
        if from_kind == kind
    }
    pairs = []
    for spec in specs:
        target = spec.get("to", {}) if isinstance(spec, dict) else {}
        types = spec.get("types", []) if isinstance(spec, dict) else []
        to_id = str(target.get("id", "")) if isinstance(target, dict) else ""
        for association in types if isinstance(types, list) else []:
            to_kind = by_type_id.get(int(association.get("associationTypeId", -1)))
            if to_kind is None:
                raise bad_request(
                    f"associationTypeId {association.get('associationTypeId')} is not a "
                    f"default association type from {kind}"
                )
            if store.live(to_kind, to_id, t) is None:
                raise bad_request(f"The {SINGULAR[to_kind]} {to_id!r} to associate does not exist")
            pairs.append((to_kind, to_id))
    return pairs


def create(
    store: Store, kind: str, props: dict[str, str], associations: Iterable[tuple[str, str]]
) -> Found:
    found = store.create(kind, props)
    for to_kind, to_id in associations:
        store.associate(kind, found.history.id, to_kind, to_id)
    return found
