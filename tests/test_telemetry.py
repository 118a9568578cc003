from __future__ import annotations

import os

from revstack._telemetry import TELEMETRY_DEFAULTS, disable_telemetry_by_default


def test_telemetry_is_off_when_unset() -> None:
    environ: dict[str, str] = {}
    disable_telemetry_by_default(environ)
    assert environ == {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
    }


def test_an_explicit_choice_is_kept() -> None:
    environ = {"RUNTIME__DLTHUB_TELEMETRY": "true", "DBT_SEND_ANONYMOUS_USAGE_STATS": "1"}
    disable_telemetry_by_default(environ)
    assert environ["RUNTIME__DLTHUB_TELEMETRY"] == "true"
    assert environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "1"
    assert environ["DBT_VERSION_CHECK"] == "false"


def test_importing_revstack_applied_the_defaults() -> None:
    import revstack  # noqa: F401

    for name in TELEMETRY_DEFAULTS:
        assert name in os.environ
