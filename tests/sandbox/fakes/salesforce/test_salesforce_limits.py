"""The daily API budget (``Sforce-Limit-Info``, ``REQUEST_LIMIT_EXCEEDED``) and fault profiles
(seeded server errors, per-second rate limits) as simple-salesforce meets them."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceRefusedRequest

from revstack.sandbox.fakes.faults import FaultProfile, RateLimit

SOQL = "SELECT Id, Name FROM User"


def used(sf: Salesforce) -> int:
    usage = sf.api_usage["api-usage"]
    assert usage.total == 100_000
    return int(usage.used)


def test_every_response_reports_usage_and_each_request_counts(start_org: Any) -> None:
    sf = start_org().client()
    sf.query(SOQL)
    first = used(sf)
    sf.query(SOQL)
    sf.Account.describe()
    sf.query_all("SELECT Id FROM Account")
    assert used(sf) == first + 3
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 100_000 - used(sf)}
    missing = sf.session.get(sf.base_url + "sobjects/Nothing/describe", headers=sf.headers)
    assert missing.status_code == 404
    assert missing.headers["Sforce-Limit-Info"] == f"api-usage={used(sf) + 1}/100000"
    assert missing.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]


def test_spent_budget_refuses_requests_until_the_next_day(start_org: Any) -> None:
    org = start_org()
    assert org.control("salesforce/limits", {"daily_api_requests": 5, "used": 0})["used"] == 0
    sf = org.client()
    for _ in range(5):
        sf.query(SOQL)
    with pytest.raises(SalesforceRefusedRequest) as error:
        sf.query(SOQL)
    assert error.value.status == 403
    assert error.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    refused = sf.session.get(sf.base_url + "limits/", headers=sf.headers)
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=5/5"
    assert org.control("salesforce/limits")["remaining"] == 0


def test_the_budget_is_per_sandbox_clock_day(start_org: Any) -> None:
    org = start_org(at=dt.datetime(2025, 10, 20, 23, 0, tzinfo=dt.UTC))
    org.control("salesforce/limits", {"daily_api_requests": 3})
    sf = org.client()
    for _ in range(3):
        sf.query(SOQL)
    with pytest.raises(SalesforceRefusedRequest):
        sf.query(SOQL)
    org.control("clock", {"advance": 3_600})
    sf.query(SOQL)  # a new UTC day on the sandbox clock: a new budget
    assert sf.api_usage["api-usage"] == (1, 3)


def outcomes(sf: Salesforce, count: int) -> list[str]:
    seen = []
    for _ in range(count):
        try:
            sf.query(SOQL)
            seen.append("ok")
        except SalesforceError as exc:
            [problem] = exc.content
            seen.append(f"{exc.status}:{problem['errorCode']}")
    return seen


def test_fault_profiles_are_seeded_and_reproducible(start_org: Any) -> None:
    org = start_org()
    sf = org.client()
    profile = {"seed": 11, "error_rate": 0.3}
    org.control("faults", profile)
    first = outcomes(sf, 60)
    org.control("faults", profile)
    assert outcomes(sf, 60) == first
    failures = [o for o in first if o != "ok"]
    assert 8 <= len(failures) <= 30
    assert set(failures) <= {
        "500:UNKNOWN_EXCEPTION",
        "502:SERVER_UNAVAILABLE",
        "503:SERVER_UNAVAILABLE",
    }
    org.control("faults", {**profile, "seed": 12})
    assert outcomes(sf, 60) != first
    org.control("faults", {})
    assert outcomes(sf, 10) == ["ok"] * 10


def test_per_second_rate_limit_is_enforced_within_ten_percent(start_org: Any) -> None:
    limit = RateLimit(name="per_second", requests=40, per_seconds=1.0)
    org = start_org(faults=FaultProfile(rate_limits=(limit,)))
    clients = [org.client() for _ in range(4)]
    passed: list[float] = []
    refused: list[tuple[int, str, str | None]] = []
    lock = threading.Lock()
    start = time.monotonic()
    stop = start + 3.0

    def hammer(sf: Salesforce) -> None:
        while (sent := time.monotonic()) < stop:
            response = sf.session.get(sf.base_url + "limits/", headers=sf.headers)
            with lock:
                if response.status_code == 200:
                    passed.append(sent)
                else:
                    refused.append(
                        (
                            response.status_code,
                            response.json()[0]["errorCode"],
                            response.headers.get("Retry-After"),
                        )
                    )

    threads = [threading.Thread(target=hammer, args=(sf,)) for sf in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused, "the clients never hit the limit: the test cannot tell"
    assert {(status, code) for status, code, _ in refused} == {(503, "SERVER_UNAVAILABLE")}
    assert all(retry is not None and int(retry) >= 1 for _, _, retry in refused)
    rate = len(passed) / 3.0
    assert 36 <= rate <= 44, f"{rate:.1f} requests/s passed for a limit of 40/s"


def test_a_concurrent_limit_answers_like_salesforce(start_org: Any) -> None:
    limit = RateLimit(name="concurrent", requests=1, per_seconds=60.0)
    sf = start_org(faults=FaultProfile(rate_limits=(limit,))).client()
    sf.query(SOQL)
    with pytest.raises(SalesforceRefusedRequest) as error:
        sf.query(SOQL)
    assert error.value.content == [
        {
            "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
