"""Turn off the usage telemetry of dlt and dbt unless the user has chosen otherwise.

revstack runs inside companies' data platforms; nothing should phone home by default. A value
the user already set (to ``true`` or anything else) is left alone.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

TELEMETRY_DEFAULTS: dict[str, str] = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
}
"""Environment variables set when absent, and the value each gets."""


def disable_telemetry_by_default(environ: MutableMapping[str, str] | None = None) -> None:
    """Set every variable in :data:`TELEMETRY_DEFAULTS` that ``environ`` does not already have."""
    target = os.environ if environ is None else environ
    for name, value in TELEMETRY_DEFAULTS.items():
        target.setdefault(name, value)
