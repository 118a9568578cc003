"""Rate limits, rate-limit headers and server errors, as hubspot-api-client sees them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from revstack.sandbox.fakes.faults import FaultProfile, RateLimit

Factory = Callable[..., Any]
"""The `hubspot` fixture: starts a fake HubSpot (see conftest.py)."""


def test_the_ten_secondly_limit_holds_within_ten_percent(hubspot: Factory) -> None:
    limit = RateLimit(name="TEN_SECONDLY_ROLLING", requests=20, per_seconds=1.0)
    running = hubspot(profile=FaultProfile(rate_limits=(limit,)))
    api = running.client().crm.companies.basic_api
    passed, limited = 0, 0
    started = time.monotonic()
    while time.monotonic() - started < 2.0:
        try:
            api.get_page(limit=1)
            passed += 1
        except Exception as exc:
            assert exc.status == 429  # type: ignore[attr-defined]
            body = json.loads(exc.body)  # type: ignore[attr-defined]
            assert body["policyName"] == "TEN_SECONDLY_ROLLING"
            assert body["message"] == "You have reached your ten_secondly_rolling limit."
            assert exc.headers["X-HubSpot-RateLimit-Remaining"] == "0"  # type: ignore[attr-defined]
            limited += 1
    assert abs(passed - 40) <= 4, passed  # two windows of 20
    assert limited > 0


def test_rate_limit_headers_count_down(hubspot: Factory) -> None:
    limit = RateLimit(name="TEN_SECONDLY_ROLLING", requests=50, per_seconds=10)
    running = hubspot(profile=FaultProfile(rate_limits=(limit,)))
    api = running.client().crm.contacts.basic_api
    remaining = []
    for _ in range(3):
        _, _, headers = api.get_page_with_http_info(limit=1)
        assert headers["X-HubSpot-RateLimit-Max"] == "50"
        assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        remaining.append(int(headers["X-HubSpot-RateLimit-Remaining"]))
        assert int(headers["X-HubSpot-RateLimit-Daily-Remaining"]) < int(
            headers["X-HubSpot-RateLimit-Daily"]
        )
    assert remaining == [49, 48, 47]
    plain = hubspot().client().crm.contacts.basic_api.get_page_with_http_info(limit=1)[2]
    assert plain["X-HubSpot-RateLimit-Max"] == "190"


def test_server_errors_have_hubspot_bodies(hubspot: Factory) -> None:
    running = hubspot()
    assert len(running.client().crm.deals.basic_api.get_page(limit=1).results) == 1
    running.faults_profile(seed=1, error_rate=1.0)
    try:
        running.client().crm.deals.basic_api.get_page()
    except Exception as exc:
        assert exc.status in (500, 502, 503)  # type: ignore[attr-defined]
        body = json.loads(exc.body)  # type: ignore[attr-defined]
        assert body["status"] == "error" and body["correlationId"]
    else:
        raise AssertionError("the fault profile should fail every request")
    assert running.control.get("/_sandbox/hubspot/settings").status_code == 200  # exempt
