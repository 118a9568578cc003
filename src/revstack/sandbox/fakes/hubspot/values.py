"""How a written property value is checked and normalised, with HubSpot's error codes:
``INVALID_EMAIL``, ``INVALID_PHONE_NUMBER``, ``INVALID_OPTION``, ``INVALID_DECIMAL``,
``INVALID_BOOLEAN`` and ``INVALID_DATE``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from revstack.sandbox.world.crm_common import hs_time

_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)
_PHONE = re.compile(r"^\+?[0-9][0-9 ().\-]{4,30}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$", re.I)


def valid_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def valid_phone(value: str) -> bool:
    return _PHONE.fullmatch(value.strip()) is not None and sum(c.isdigit() for c in value) >= 7


def parse_datetime_ms(value: str) -> int | None:
    """Epoch milliseconds from ``1717243200000`` or an ISO-8601 date or datetime."""
    stripped = value.strip()
    if re.fullmatch(r"-?\d{1,16}", stripped):
        return int(stripped)
    try:
        moment = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def problem(name: str, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def check_value(
    name: str, definition: dict[str, Any], value: str, shown: str
) -> tuple[str, dict[str, Any] | None]:
    kind_type = definition["type"]
    if name == "email" or definition["fieldType"] == "email":
        if not valid_email(value.strip()):
            return value, problem(name, "INVALID_EMAIL", f"Email address{shown} is invalid")
        return value.strip().lower(), None
    if definition["fieldType"] == "phonenumber" and not valid_phone(value):
        return value, problem(
            name, "INVALID_PHONE_NUMBER", f"Phone number{shown} is not a valid phone number"
        )
    if kind_type == "number":
        try:
            float(value)
        except ValueError:
            return value, problem(
                name, "INVALID_DECIMAL", f"{shown.strip() or 'value'} was not a valid number."
            )
        return value, None
    if kind_type == "bool":
        if value.lower() not in ("true", "false"):
            return value, problem(
                name,
                "INVALID_BOOLEAN",
                f"{shown.strip() or 'value'} was not a valid boolean (true or false).",
            )
        return value.lower(), None
    if kind_type in ("datetime", "date"):
        ms = parse_datetime_ms(value)
        if ms is None:
            return value, problem(
                name,
                "INVALID_DATE",
                f"{shown.strip() or 'value'} was not "
                "a valid date (epoch milliseconds or ISO 8601).",
            )
        return hs_time(ms), None
    if kind_type == "enumeration" and definition["options"]:
        allowed = [option["value"] for option in definition["options"]]
        chosen = value.split(";") if definition["fieldType"] == "checkbox" else [value]
        if any(choice not in allowed for choice in chosen):
            return value, problem(
                name,
                "INVALID_OPTION",
                f"{shown.strip() or 'value'} was not one of the allowed options: "
                f"[{', '.join(allowed)}]",
            )
    return value, None
