from __future__ import annotations

import io
import json
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from revstack.log import REDACTED, configure_logging, get_logger, is_secret_key, redact_secrets


@pytest.fixture(autouse=True)
def _reset_structlog() -> Any:
    yield
    structlog.reset_defaults()


def redact(**fields: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", dict(fields)))


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "apiKey",
        "STRIPE_API_KEY",
        "token",
        "access_token",
        "accessToken",
        "client_secret",
        "webhook_secret",
        "password",
        "Authorization",
        "postgres_dsn",
        "session_id",
        "sessionId",
        "private-key",
        "Cookie",
    ],
)
def test_secret_looking_keys(key: str) -> None:
    assert is_secret_key(key)
    assert redact(**{key: "value"})[key] == REDACTED


@pytest.mark.parametrize(
    "key", ["event", "rows", "stream", "cursor", "customer_id", "status", "author", "keys"]
)
def test_ordinary_keys_are_kept(key: str) -> None:
    assert not is_secret_key(key)
    assert redact(**{key: "value"})[key] == "value"


def test_secret_str_is_redacted_under_any_key() -> None:
    assert redact(value=SecretStr("hunter2"))["value"] == REDACTED


def test_nested_structures_are_redacted() -> None:
    event = redact(
        request={
            "headers": {"Authorization": "Bearer abc", "Accept": "application/json"},
            "params": [{"password": "p"}, "plain"],
        }
    )
    assert event["request"] == {
        "headers": {"Authorization": REDACTED, "Accept": "application/json"},
        "params": [{"password": REDACTED}, "plain"],
    }


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        pytest.param("calling with sk_live_51HxYz", "sk_live_51HxYz", id="stripe live key"),
        pytest.param("key rk_test_abc123 rejected", "rk_test_abc123", id="stripe restricted key"),
        pytest.param("secret whsec_AbC123 wrong", "whsec_AbC123", id="stripe webhook secret"),
        pytest.param("pat-na1-1234abcd-ab12-cd34", "1234abcd", id="hubspot private app token"),
        pytest.param("header: Bearer eyJhbGciOi.x.y", "eyJhbGciOi", id="bearer token"),
    ],
)
def test_credentials_inside_messages_are_redacted(text: str, leaked: str) -> None:
    assert leaked not in redact(event=text)["event"]


def test_none_stays_none_so_absence_is_visible() -> None:
    assert redact(api_key=None)["api_key"] is None


def test_configured_json_output_is_redacted() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json_output=True, stream=stream)
    log = get_logger("test")
    log.debug("hidden")
    log.info("loaded", api_key="sk_test_123", rows=5)

    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # debug is below the level
    record = json.loads(lines[0])
    assert record["event"] == "loaded"
    assert record["logger"] == "test"
    assert record["level"] == "info"
    assert record["api_key"] == REDACTED
    assert record["rows"] == 5


def test_tracebacks_are_redacted_too() -> None:
    stream = io.StringIO()
    configure_logging(json_output=True, stream=stream)
    try:
        raise RuntimeError("Stripe refused sk_live_leaky")
    except RuntimeError:
        get_logger().exception("failed")
    assert "sk_live_leaky" not in stream.getvalue()
    assert "RuntimeError" in stream.getvalue()


def test_console_output_when_asked() -> None:
    stream = io.StringIO()
    configure_logging(json_output=False, stream=stream)
    get_logger().info("hello", token="t0ken")
    output = stream.getvalue()
    assert "hello" in output
    assert "t0ken" not in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_unknown_level_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("LOUD", stream=io.StringIO())


def test_loggers_made_before_configuration_follow_it() -> None:
    early = get_logger("early")  # as a module-level logger is, at import time
    stream = io.StringIO()
    configure_logging("WARNING", json_output=True, stream=stream)
    early.info("hidden")
    early.warning("shown", token="pat-na1-secret")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "shown" and record["logger"] == "early"
    assert record["token"] == REDACTED
