"""Property definitions (``/crm/v3/properties/{type}``): HubSpot's own (every property the
world uses plus common standard ones) and custom ones created through the API; written values
are checked against them (values.py)."""

from __future__ import annotations

import re
from typing import Any

from revstack.sandbox.fakes.hubspot.errors import HubSpotApiError, conflict, invalid_properties
from revstack.sandbox.fakes.hubspot.settings import (
    DEFAULT_PROPERTIES,
    OBJECT_TYPES,
    SYSTEM_PROPERTIES,
)
from revstack.sandbox.fakes.hubspot.values import check_value, problem, text

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
_NUMBERS = frozenset(
    {"amount", "numberofemployees", "hs_deal_stage_probability", "hs_object_id", "annualrevenue"}
)
_BOOLEANS = frozenset({"hs_is_closed", "hs_is_closed_won"})
_DATETIMES = frozenset({"createdate", "lastmodifieddate", "hs_lastmodifieddate", "closedate"})
_PHONES = frozenset({"phone", "mobilephone", "fax"})
#: HubSpot-defined properties the world may never set but that exist in every account.
_STANDARD = {
    "contacts": (
        "address",
        "city",
        "state",
        "zip",
        "country",
        "mobilephone",
        "website",
        "company",
        "jobtitle",
        "phone",
        "hs_additional_emails",
        "hs_merged_object_ids",
        "lifecyclestage",
        "hubspot_owner_id",
    ),
    "companies": (
        "phone",
        "address",
        "city",
        "state",
        "zip",
        "website",
        "description",
        "annualrevenue",
        "hs_merged_object_ids",
        "lifecyclestage",
        "hubspot_owner_id",
    ),
    "deals": (
        "description",
        "hs_next_step",
        "closed_lost_reason",
        "dealtype",
        "deal_currency_code",
        "hs_merged_object_ids",
        "hubspot_owner_id",
    ),
}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_TYPES = {
    "string": ("text", "textarea", "phonenumber", "html", "file"),
    "number": ("number", "calculation_equation"),
    "date": ("date",),
    "datetime": ("date",),
    "enumeration": ("select", "radio", "checkbox", "booleancheckbox"),
    "bool": ("booleancheckbox",),
}


def _options(values: list[str], labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "label": (labels or {}).get(value, value.replace("_", " ").title()),
            "value": value,
            "displayOrder": order,
            "hidden": False,
        }
        for order, value in enumerate(values)
    ]


def _infer(name: str) -> tuple[str, str]:
    """(type, fieldType) of a HubSpot-defined property from its name."""
    if name in _NUMBERS:
        return "number", "number"
    if name in _BOOLEANS:
        return "bool", "booleancheckbox"
    if (
        name in _DATETIMES
        or name.startswith("hs_date_entered_")
        or (name.startswith("hs_lifecyclestage_") and name.endswith("_date"))
    ):
        return "datetime", "date"
    if name in _PHONES:
        return "string", "phonenumber"
    return "string", "text"


class PropertyRegistry:
    """Every property of every object type, HubSpot-defined and created through the API."""

    def __init__(
        self, world_names: dict[str, set[str]], pipelines: dict[str, Any], created: str
    ) -> None:
        self._created = created
        self._defs: dict[str, dict[str, dict[str, Any]]] = {}
        stages = [s["id"] for p in pipelines.get("results", []) for s in p.get("stages", [])]
        stage_labels = {
            s["id"]: s["label"] for p in pipelines.get("results", []) for s in p["stages"]
        }
        pipeline_ids = [p["id"] for p in pipelines.get("results", [])]
        enumerations = {
            "lifecyclestage": _options(list(LIFECYCLE_STAGES)),
            "dealstage": _options(stages, stage_labels),
            "pipeline": _options(pipeline_ids, {p["id"]: p["label"] for p in pipelines["results"]}),
            "dealtype": _options(["newbusiness", "existingbusiness"]),
        }
        for kind in OBJECT_TYPES:
            names = set(world_names.get(kind, set())) | set(DEFAULT_PROPERTIES[kind])
            names |= set(_STANDARD[kind])
            defs: dict[str, dict[str, Any]] = {}
            for order, name in enumerate(sorted(names)):
                kind_type, field_type = _infer(name)
                options: list[dict[str, Any]] = []
                if name in enumerations:
                    kind_type, field_type, options = "enumeration", "select", enumerations[name]
                if name in _BOOLEANS:
                    options = _options(["true", "false"], {"true": "Yes", "false": "No"})
                defs[name] = self._definition(
                    name, kind_type, field_type, options, order, hubspot_defined=True
                )
            self._defs[kind] = defs

    def _definition(
        self,
        name: str,
        kind_type: str,
        field_type: str,
        options: list[dict[str, Any]],
        order: int,
        *,
        hubspot_defined: bool,
        label: str | None = None,
        group: str | None = None,
        unique: bool = False,
        description: str = "",
    ) -> dict[str, Any]:
        definition: dict[str, Any] = {
            "name": name,
            "label": label or name.replace("_", " ").title(),
            "type": kind_type,
            "fieldType": field_type,
            "description": description,
            "groupName": group or "information",
            "options": options,
            "displayOrder": order if hubspot_defined else -1,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": unique,
            "hidden": False,
            "formField": not hubspot_defined,
            "archived": False,
            "createdAt": self._created,
            "updatedAt": self._created,
            "modificationMetadata": {
                "archivable": not hubspot_defined,
                "readOnlyDefinition": hubspot_defined,
                "readOnlyValue": name in SYSTEM_PROPERTIES,
            },
        }
        if hubspot_defined:
            definition["hubspotDefined"] = True
        return definition

    def all(self, kind: str) -> list[dict[str, Any]]:
        return list(self._defs[kind].values())

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return self._defs[kind].get(name)

    def exists(self, kind: str, name: str) -> bool:
        return name in self._defs[kind]

    def type_of(self, kind: str, name: str) -> str:
        definition = self._defs[kind].get(name)
        return str(definition["type"]) if definition else "string"

    def unique_names(self, kind: str) -> list[str]:
        return [name for name, d in self._defs[kind].items() if d["hasUniqueValue"]]

    def create(self, kind: str, body: dict[str, Any], now_iso: str) -> dict[str, Any]:
        """``POST /crm/v3/properties/{type}``."""
        name = body.get("name")
        problems = []
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.append("name must start with a letter and hold only a-z, 0-9 and _")
        kind_type = body.get("type")
        field_type = body.get("fieldType")
        if kind_type not in _TYPES:
            problems.append(f"type must be one of {sorted(_TYPES)}")
        elif field_type not in _TYPES[str(kind_type)]:
            problems.append(f"fieldType {field_type!r} does not fit type {kind_type!r}")
        for required in ("label", "groupName"):
            if not isinstance(body.get(required), str) or not body[required]:
                problems.append(f"{required} is required")
        if problems:
            raise HubSpotApiError(400, "VALIDATION_ERROR", "; ".join(problems))
        assert isinstance(name, str)
        if name in self._defs[kind]:
            raise conflict(f"A property named '{name}' already exists.")
        options = [
            {
                "label": str(option.get("label", option.get("value"))),
                "value": str(option.get("value")),
                "displayOrder": int(option.get("displayOrder", order)),
                "hidden": bool(option.get("hidden", False)),
            }
            for order, option in enumerate(body.get("options") or [])
        ]
        definition = self._definition(
            name,
            str(kind_type),
            str(field_type),
            options,
            -1,
            hubspot_defined=False,
            label=str(body["label"]),
            group=str(body["groupName"]),
            unique=bool(body.get("hasUniqueValue", False)),
            description=str(body.get("description", "")),
        )
        definition["createdAt"] = definition["updatedAt"] = now_iso
        self._defs[kind][name] = definition
        return definition

    def normalise(
        self, kind: str, values: dict[str, Any], *, batch: bool = False
    ) -> dict[str, str]:
        """Written property values as HubSpot stores them (strings; ``""`` clears a value).
        Raises a 400 naming every invalid value (without the value itself in a batch)."""
        out, problems = self.check(kind, values, batch=batch)
        if problems:
            raise invalid_properties(problems)
        return out

    def check(
        self, kind: str, values: dict[str, Any], *, batch: bool = False
    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Normalised values and the problems found (HubSpot's ``isValid: false`` entries)."""
        out: dict[str, str] = {}
        problems: list[dict[str, Any]] = []
        for name, raw in values.items():
            if name in SYSTEM_PROPERTIES:
                continue
            definition = self._defs[kind].get(name)
            if definition is None:
                problems.append(
                    problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            value = text(raw)
            if value == "":
                out[name] = ""
                continue
            shown = "" if batch else f" {value}"
            checked, wrong = check_value(name, definition, value, shown)
            if wrong is not None:
                problems.append(wrong)
            else:
                out[name] = checked
        return out, problems
