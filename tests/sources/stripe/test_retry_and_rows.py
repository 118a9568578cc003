"""Pure logic of requests and rows: retry classification, backoff, the shared rate, row
building."""

from __future__ import annotations

import datetime as dt
import email.utils
import random

import pytest
import stripe

from revstack.errors import RateLimitedError, TerminalApiError, TransientApiError
from revstack.sources.stripe.retry import (
    backoff_delay,
    classify,
    next_rate,
    parse_retry_after,
    retry_after_of,
)
from revstack.sources.stripe.rows import VERSION_SCHEMA, event_rows, list_rows, to_arrow, unique
from revstack.warehouse import raw

DAY = 86_400
NOW = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)


# --- retries ---------------------------------------------------------------------------------


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("2", 0) == 2.0
    assert parse_retry_after(" 0.5 ", 0) == 0.5
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("soon", now) is None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            stripe.RateLimitError("slow down", http_status=429), RateLimitedError, id="429"
        ),
        pytest.param(stripe.APIError("boom", http_status=500), TransientApiError, id="500"),
        pytest.param(stripe.APIError("boom", http_status=503), TransientApiError, id="503"),
        pytest.param(stripe.APIConnectionError("reset"), TransientApiError, id="no-response"),
        pytest.param(
            stripe.APIError("Invalid response body from API", http_status=200),
            TransientApiError,
            id="truncated-body",
        ),
        pytest.param(stripe.IdempotencyError("busy", http_status=409), TransientApiError, id="409"),
        pytest.param(
            stripe.InvalidRequestError("no such", "id", http_status=404),
            TerminalApiError,
            id="404",
        ),
        pytest.param(
            stripe.AuthenticationError("bad key", http_status=401), TerminalApiError, id="401"
        ),
    ],
)
def test_classification(error: stripe.StripeError, expected: type) -> None:
    assert type(classify(error, 0.0)) is expected


def test_retry_after_and_should_retry_headers_are_honoured() -> None:
    limited = stripe.RateLimitError("slow", http_status=429, headers={"Retry-After": "7"})
    classified = classify(limited, 0.0)
    assert isinstance(classified, RateLimitedError) and classified.retry_after == 7
    refused = stripe.APIError(
        "saved 500", http_status=500, headers={"Stripe-Should-Retry": "false"}
    )
    assert isinstance(classify(refused, 0.0), TerminalApiError)
    retry = stripe.InvalidRequestError(
        "lock", None, http_status=400, headers={"stripe-should-retry": "true"}
    )
    assert isinstance(classify(retry, 0.0), TransientApiError)


def test_a_429_without_retry_after_waits_at_least_a_second() -> None:
    assert retry_after_of(RateLimitedError("slow")) == 1.0
    assert retry_after_of(RateLimitedError("slow", retry_after=4)) == 4.0
    assert retry_after_of(TransientApiError("boom", status=500)) is None
    assert retry_after_of(None) is None


def test_backoff_is_jittered_exponential_and_respects_retry_after() -> None:
    assert backoff_delay(1, None, 0.999) < 0.5
    assert backoff_delay(3, None, 0.5) == pytest.approx(1.0)
    assert backoff_delay(20, None, 0.999) <= 30
    assert backoff_delay(1, 5.0, 0.0) == 5.0
    draws = {round(backoff_delay(4, None, random.Random(seed).random()), 6) for seed in range(20)}
    assert len(draws) > 10
    with pytest.raises(ValueError):
        backoff_delay(0, None, 0.5)


# --- rows ------------------------------------------------------------------------------------


def test_list_rows_match_the_raw_convention() -> None:
    payload = {"id": "ch_1", "object": "charge", "created": 5, "amount": 100, "z": {"b": 1, "a": 2}}
    (row,) = list_rows([payload], version_at=9, source="backfill", ingested_at=NOW)
    expected = raw.version_row(payload, version_at=9, source="backfill", ingested_at=NOW)
    assert {k: v for k, v in row.items() if k != "payload"} == {
        k: v for k, v in expected.items() if k != "payload"
    }
    assert row["payload"] == raw.canonical_json(payload).decode()
    assert tuple(row) == raw.VERSION_COLUMNS
    assert to_arrow([row], VERSION_SCHEMA).num_rows == 1


def test_event_rows_carry_the_object_version_and_its_key() -> None:
    obj = {"id": "dp_1", "object": "dispute", "created": 3, "status": "won"}
    event = {"id": "evt_1", "type": "charge.dispute.closed", "created": 8, "data": {"object": obj}}
    events, versions = event_rows([event], source="webhook", ingested_at=NOW)
    (version,) = versions
    assert version["version_at"] == 8 and version["event_id"] == "evt_1"
    assert version["version_key"] == raw.version_key(obj)
    assert events[0]["object_version_key"] == version["version_key"]
    assert (events[0]["object_id"], events[0]["object_type"]) == ("dp_1", "dispute")
    assert events[0]["source"] == "webhook"


def test_a_load_offers_each_key_once() -> None:
    rows = [
        {"id": "a", "version_key": "1"},
        {"id": "a", "version_key": "1"},
        {"id": "a", "version_key": "2"},
    ]
    assert unique(rows, ("id", "version_key")) == [rows[0], rows[2]]


def test_naive_ingestion_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        list_rows(
            [{"id": "x"}], version_at=1, source="backfill", ingested_at=dt.datetime(2025, 1, 1)
        )


def test_the_shared_rate_halves_on_a_429_and_recovers_slowly() -> None:
    assert next_rate(80.0, 80.0, limited=True) == 40.0
    assert next_rate(1.5, 80.0, limited=True) == 1.0
    # 429s arriving within a second of a decrease describe the same window.
    assert next_rate(40.0, 80.0, limited=True, since_decrease_s=0.2) == 40.0
    # About 5 % of the configured rate back per second of successes.
    rate = 40.0
    for _ in range(40):  # one second of requests at 40/s
        rate = next_rate(rate, 80.0, limited=False)
    assert 43.0 < rate < 44.5
    assert next_rate(79.99, 80.0, limited=False) == 80.0


def test_a_key_echoed_by_the_api_never_reaches_the_error() -> None:
    echoed = stripe.AuthenticationError(
        "Invalid API Key provided: sk_live_abcdef123456", http_status=401
    )
    classified = classify(echoed, 0.0)
    assert isinstance(classified, TerminalApiError)
    assert "abcdef123456" not in str(classified)
