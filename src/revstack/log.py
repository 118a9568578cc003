"""Structured logging for revstack, with secrets redacted before anything is written.

Call :func:`configure_logging` once at start-up; get loggers with :func:`get_logger`. On a
terminal the output is human-readable; anywhere else (files, CI, containers) it is one JSON
object per line.

Redaction: the value of any key that looks secret (``api_key``, ``token``, ``secret``,
``password``, ``authorization``, ``dsn``, ...) is replaced, at any depth of nested dicts and
lists; so is every :class:`pydantic.SecretStr`, and any string that looks like a Stripe or
HubSpot credential or a bearer token, whatever its key.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO, cast

import structlog
from pydantic import SecretStr
from structlog.typing import FilteringBoundLogger, Processor

__all__ = [
    "REDACTED",
    "configure_logging",
    "get_logger",
    "is_secret_key",
    "redact",
    "redact_secrets",
]

REDACTED = "**********"
"""What a redacted value is replaced with."""

_SECRET_WORDS = frozenset(
    {
        "apikey",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "dsn",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "token",
    }
)
"""A key is secret when one of its words is one of these..."""

_SECRET_COMPOUNDS = ("apikey", "accesstoken", "clientsecret", "privatekey", "sessionid")
"""...or when, with separators removed, it contains one of these."""

_SECRET_VALUE = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]+"  # Stripe secret / restricted keys
    r"|\bwhsec_[0-9A-Za-z]+"  # Stripe webhook signing secrets
    r"|\bpat-[a-z]{2}\d-[0-9a-f-]{8,}"  # HubSpot private-app tokens
    r"|(?i:\bbearer\s+)[^\s\"',;]+"  # Authorization header values
)

_MAX_DEPTH = 8


def is_secret_key(key: str) -> bool:
    """Whether a log field (or header, or dict key) named ``key`` holds a secret."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()
    words = [word for word in re.split(r"[^a-z0-9]+", spaced) if word]
    if any(word in _SECRET_WORDS for word in words):
        return True
    joined = "".join(words)
    return any(compound in joined for compound in _SECRET_COMPOUNDS)


def _redact(value: Any, depth: int = 0) -> Any:
    if isinstance(value, SecretStr):
        return REDACTED
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            key: REDACTED
            if isinstance(key, str) and is_secret_key(key)
            else _redact(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact(item, depth + 1) for item in value)
    return value


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced: secret-looking keys at any depth of nested
    mappings and lists, SecretStr values and credential-shaped strings."""
    return _redact(value)


def redact_secrets(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace secret values in an event before it is rendered."""
    for key in list(event_dict):
        value = event_dict[key]
        if is_secret_key(key) and value is not None:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact(value)
    return event_dict


def configure_logging(
    level: str | int = "INFO",
    *,
    json_output: bool | None = None,
    stream: TextIO | None = None,
) -> None:
    """Set up structlog for the process.

    ``json_output`` ``None`` means: JSON unless ``stream`` (default stderr) is a terminal.
    """
    out = stream if stream is not None else sys.stderr
    if json_output is None:
        json_output = not out.isatty()
    numeric_level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    processors: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    if json_output:
        # Render tracebacks to text first, so that redaction sees them too.
        processors.append(structlog.processors.format_exc_info)
    processors += [redact_secrets, renderer]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None, **initial_values: Any) -> FilteringBoundLogger:
    """A structlog logger; ``name`` is recorded as the ``logger`` field.

    The logger is lazy: it follows the configuration in force when it logs, so module-level
    loggers created at import time obey a later :func:`configure_logging`.
    """
    if name is not None:
        initial_values["logger"] = name
    return cast(FilteringBoundLogger, _LazyLogger(initial_values))


class _LazyLogger:
    """Binds its values to the configured logger at each use (structlog's own lazy proxy
    cannot carry a ``logger`` field)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        return getattr(structlog.get_logger().bind(**self._values), name)
