from __future__ import annotations

import pickle

import pytest

from revstack.errors import (
    ApiError,
    ConfigError,
    NotAvailableError,
    RateLimitedError,
    RevstackError,
    SignatureError,
    TerminalApiError,
    TerminalError,
    TransientApiError,
    TransientError,
    WorldError,
    api_error_for_status,
)


@pytest.mark.parametrize(
    "error_type",
    [ConfigError, NotAvailableError, SignatureError, WorldError, TerminalApiError],
)
def test_terminal_errors(error_type: type[RevstackError]) -> None:
    assert issubclass(error_type, TerminalError)
    assert not issubclass(error_type, TransientError)


@pytest.mark.parametrize("error_type", [RateLimitedError, TransientApiError])
def test_transient_errors(error_type: type[RevstackError]) -> None:
    assert issubclass(error_type, TransientError)
    assert not issubclass(error_type, TerminalError)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(429, RateLimitedError, id="429 rate limited"),
        pytest.param(500, TransientApiError, id="500"),
        pytest.param(503, TransientApiError, id="503"),
        pytest.param(408, TransientApiError, id="408 request timeout"),
        pytest.param(409, TransientApiError, id="409 conflict/lock"),
        pytest.param(None, TransientApiError, id="no response"),
        pytest.param(400, TerminalApiError, id="400"),
        pytest.param(401, TerminalApiError, id="401"),
        pytest.param(404, TerminalApiError, id="404"),
    ],
)
def test_api_error_for_status_classifies(status: int | None, expected: type[ApiError]) -> None:
    error = api_error_for_status("request failed", status=status, code="some_code")
    assert type(error) is expected
    assert error.status == status
    assert error.code == "some_code"
    assert error.retryable is issubclass(expected, TransientError)


def test_rate_limited_carries_retry_after() -> None:
    error = api_error_for_status("slow down", status=429, retry_after=2.5)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 2.5
    assert str(error) == "slow down (HTTP 429); retry after 2.5 s"


def test_api_error_message() -> None:
    assert str(TerminalApiError("no such customer", status=404, code="resource_missing")) == (
        "no such customer (HTTP 404, resource_missing)"
    )
    assert str(TransientApiError("connection reset")) == "connection reset (no response)"


def test_not_available_message_and_exit_code() -> None:
    error = NotAvailableError("revstack ingest", "Stripe ingestion")
    assert str(error) == "revstack ingest is not available yet (planned: Stripe ingestion)"
    assert error.exit_code == 2
    assert ConfigError("x").exit_code == 1


@pytest.mark.parametrize(
    "error",
    [
        NotAvailableError("revstack ingest", "Stripe ingestion"),
        RateLimitedError("slow down", retry_after=1.0, code="rate_limit"),
        TerminalApiError("gone", status=410),
        ConfigError("bad"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling(error: RevstackError) -> None:
    # Errors cross process boundaries (worker pools) and are stored with dead letters.
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
