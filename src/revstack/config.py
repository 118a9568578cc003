"""revstack's one configuration file, ``revstack.toml``, validated with pydantic.

Where settings come from, later ones winning:

1. the defaults below -- every setting has one, so the demo needs no file at all;
2. the file: ``--config PATH``, else ``$REVSTACK_CONFIG``, else ``./revstack.toml`` if present;
3. environment variables ``REVSTACK__<SECTION>__<KEY>`` (double underscores between levels),
   e.g. ``REVSTACK__SOURCES__STRIPE__RATE_LIMIT_SHARE=0.5``. Values are parsed like TOML values
   by the field's type; a value starting with ``[`` or ``{`` is read as JSON (lists, tables).

Secrets never sit in the file. A secret field is written as a reference,
``api_key = { env = "STRIPE_API_KEY" }`` or ``api_key = { file = "/run/secrets/stripe" }``
(the file's contents, stripped of surrounding whitespace); a literal string is rejected. Some
secrets default to a conventional environment variable when not configured at all. Resolved
secrets are :class:`pydantic.SecretStr`, so ``repr``/``str``/JSON dumps show ``**********``.

Relative paths are relative to the working directory revstack runs in.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails

from revstack.errors import ConfigError

__all__ = [
    "CONFIG_FILE_NAME",
    "CONFIG_PATH_ENV",
    "ENV_PREFIX",
    "HubSpotSettings",
    "MetricsSettings",
    "ProductEventsSettings",
    "RevstackConfig",
    "SalesforceSettings",
    "SandboxSettings",
    "ServeSettings",
    "SourcesSettings",
    "StripeSettings",
    "SyncSettings",
    "WarehouseSettings",
    "find_config_file",
    "load_config",
]

CONFIG_FILE_NAME = "revstack.toml"
"""The file looked for in the working directory when no path is given."""

CONFIG_PATH_ENV = "REVSTACK_CONFIG"
"""Environment variable holding the config file's path (``--config`` wins over it)."""

ENV_PREFIX = "REVSTACK__"
"""Prefix of the environment variables that override single settings."""

_RESERVED_DUCKDB_NAMES = frozenset(
    {
        # DuckDB's own catalogs and schemas
        "main",
        "memory",
        "system",
        "temp",
        "information_schema",
        "pg_catalog",
        # revstack's layers and sources, which become schema (dataset) names
        "raw",
        "staging",
        "intermediate",
        "history",
        "snapshots",
        "marts",
        "finance",
        "sales",
        "product",
        "customer_360",
        "quality",
        "audit",
        "stripe",
        "hubspot",
        "salesforce",
        "product_events",
    }
)
"""DuckDB names the database after its file's stem; if that equals a schema's name, references
such as ``stripe.charges`` become ambiguous. These stems are refused."""


# --------------------------------------------------------------------------------------------
# Secrets


class _EnvString(str):
    """A string that came from a ``REVSTACK__`` environment variable rather than the file."""

    __slots__ = ()


@dataclass(frozen=True)
class _DefaultEnv:
    """Default of a secret field: the named environment variable if it is set, else no secret."""

    env: str


def _secret_reference_help() -> str:
    return 'write { env = "VARIABLE" } or { file = "/path/to/secret" } instead'


def _resolve_secret(value: object, info: ValidationInfo) -> object:
    """Turn a secret reference (or a default) into a :class:`SecretStr`, or refuse it."""
    context = info.context if isinstance(info.context, Mapping) else {}
    environ: Mapping[str, str] = context.get("environ", os.environ)
    if value is None or isinstance(value, SecretStr):
        return value
    if isinstance(value, _DefaultEnv):
        found = environ.get(value.env)
        return SecretStr(found) if found else None
    if isinstance(value, Mapping):
        return SecretStr(_read_secret_reference(value, environ))
    if isinstance(value, str):
        if context.get("reject_literal_secrets") and not isinstance(value, _EnvString):
            raise ValueError(
                f"a secret must not be written into the config file; {_secret_reference_help()}"
            )
        return SecretStr(value)
    raise ValueError(f"a secret must be a reference table; {_secret_reference_help()}")


def _read_secret_reference(reference: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    keys = set(reference)
    if keys == {"env"}:
        name = reference["env"]
        if not isinstance(name, str) or not name:
            raise ValueError("env must name an environment variable")
        found = environ.get(name)
        if not found:
            raise ValueError(f"environment variable {name} is not set (or is empty)")
        return found
    if keys == {"file"}:
        location = reference["file"]
        if not isinstance(location, str) or not location:
            raise ValueError("file must be the path of a file holding the secret")
        path = Path(location).expanduser()
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror or exc}") from None
        if not secret:
            raise ValueError(f"secret file {path} is empty")
        return secret
    raise ValueError(
        f"a secret reference has exactly one key, env or file (got {sorted(keys)}); "
        f"{_secret_reference_help()}"
    )


Secret = Annotated[SecretStr | None, BeforeValidator(_resolve_secret)]
"""A secret setting: resolved from an ``{ env = ... }`` / ``{ file = ... }`` reference."""


def _secret_field(description: str, *, default_env: str | None = None) -> Any:
    """A secret field; with ``default_env``, it defaults to that variable when it is set."""
    extra: dict[str, Any] = {"secret": True, "default_env": default_env}
    if default_env is None:
        return Field(default=None, description=description, json_schema_extra=extra)
    return Field(
        default=_DefaultEnv(default_env),
        validate_default=True,
        description=description,
        json_schema_extra=extra,
    )


class _FieldProblem(ValueError):
    """Raised by a section-level check about one of the section's keys, so that errors name it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


# --------------------------------------------------------------------------------------------
# Reusable value types


def _check_http_base(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


HttpBase = Annotated[str, AfterValidator(_check_http_base)]
"""An http(s) base URL, stored without a trailing slash."""

UserPath = Annotated[Path, AfterValidator(lambda path: path.expanduser())]
"""A filesystem path; ``~`` is expanded."""

Share = Annotated[float, Field(gt=0, le=1)]
"""A fraction of a limit, above 0 and at most 1."""

SalesforceObjectName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


def _section(description: str) -> Any:
    """A nested section; its defaults are validated with the loader's context (environment)."""
    return Field(default_factory=dict, validate_default=True, description=description)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Sections


def _check_duckdb_name(path: Path) -> Path:
    stem = path.stem.lower()
    if stem in _RESERVED_DUCKDB_NAMES:
        raise ValueError(
            f"the file name {stem!r} is also a schema name, which makes table references "
            "ambiguous; choose another name, e.g. warehouse.duckdb"
        )
    return path


class WarehouseSettings(_Section):
    """``[warehouse]``: where raw data, history and marts are stored."""

    destination: Literal["duckdb", "postgres", "snowflake"] = Field(
        default="duckdb",
        description="Warehouse to load into: duckdb (a local file), postgres or snowflake.",
    )
    duckdb_path: Annotated[UserPath, AfterValidator(_check_duckdb_name)] = Field(
        default=Path(".revstack/warehouse.duckdb"),
        description=(
            "DuckDB database file, used when destination is duckdb. Its name must differ from "
            "every schema name (raw, staging, marts, stripe, ...)."
        ),
    )
    postgres_dsn: Secret = _secret_field(
        "PostgreSQL connection string (postgresql://user:pass@host/db); required when "
        "destination is postgres."
    )
    state_dir: UserPath = Field(
        default=Path(".revstack/state"),
        description=(
            "Directory for revstack's own state: load pipelines' working files and cursors, "
            "webhook inboxes. Keep it with the warehouse."
        ),
    )
    reporting_currency: Annotated[
        str, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v)
    ] = Field(
        default="usd",
        pattern=r"^[a-z]{3}$",
        description=(
            "ISO 4217 code that reports convert amounts into; amounts are also kept in their "
            "own currency."
        ),
    )

    @model_validator(mode="after")
    def _check_destination(self) -> WarehouseSettings:
        if self.destination == "postgres" and self.postgres_dsn is None:
            raise _FieldProblem("postgres_dsn", 'must be set when destination is "postgres"')
        return self


class StripeSettings(_Section):
    """``[sources.stripe]``: the Stripe account to ingest and sync."""

    api_key: Secret = _secret_field(
        "Stripe secret or restricted API key (read access to billing objects and events).",
        default_env="STRIPE_API_KEY",
    )
    api_base: HttpBase | None = Field(
        default=None,
        description="Base URL of the Stripe API; unset means https://api.stripe.com.",
    )
    webhook_secret: Secret = _secret_field(
        "Signing secret (whsec_...) of the webhook endpoint, to verify Stripe-Signature.",
        default_env="STRIPE_WEBHOOK_SECRET",
    )
    rate_limit_per_s: float = Field(
        default=100.0,
        gt=0,
        description="Requests per second the Stripe account allows (live mode: 100).",
    )
    rate_limit_share: Share = Field(
        default=0.8,
        description="Share of rate_limit_per_s revstack may use, leaving room for other clients.",
    )
    events_overlap_s: int = Field(
        default=300,
        ge=0,
        description=(
            "Seconds of Stripe events re-read before the last cursor on every run, to catch "
            "late-visible events; duplicates are removed in staging."
        ),
    )
    rows_per_load: int = Field(
        default=20_000,
        ge=1,
        description=(
            "Rows per committed load during list reads (back-fill, sweep): a crash repeats at "
            "most this much work; larger loads are slightly faster."
        ),
    )
    request_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Seconds before a Stripe API request is abandoned and retried.",
    )


class HubSpotSettings(_Section):
    """``[sources.hubspot]``: the HubSpot portal to ingest and sync."""

    access_token: Secret = _secret_field(
        "HubSpot private-app access token (CRM read, and write for the sync).",
        default_env="HUBSPOT_ACCESS_TOKEN",
    )
    api_base: HttpBase | None = Field(
        default=None,
        description="Base URL of the HubSpot API; unset means https://api.hubapi.com.",
    )
    client_secret: Secret = _secret_field(
        "The app's client secret, used to verify webhook signatures (X-HubSpot-Signature-v3).",
        default_env="HUBSPOT_CLIENT_SECRET",
    )
    rate_limit_per_10s: int = Field(
        default=100,
        gt=0,
        description="Requests per 10 seconds the HubSpot account allows (100 on Free/Starter).",
    )


class SalesforceSettings(_Section):
    """``[sources.salesforce]``: the Salesforce org to ingest."""

    instance_url: HttpBase | None = Field(
        default=None,
        description="The org's instance URL, e.g. https://acme.my.salesforce.com.",
    )
    access_token: Secret = _secret_field(
        "OAuth access token (session id) for the REST and Bulk APIs.",
        default_env="SALESFORCE_ACCESS_TOKEN",
    )
    api_version: str = Field(
        default="59.0",
        pattern=r"^\d{2,3}\.0$",
        description="Salesforce API version, e.g. 59.0.",
    )
    objects: list[SalesforceObjectName] = Field(
        default_factory=lambda: [
            "Account",
            "Contact",
            "Opportunity",
            "OpportunityLineItem",
            "OpportunityHistory",
            "Contract_Terms__c",
        ],
        min_length=1,
        description="sObjects to ingest (API names, custom objects end in __c).",
    )
    max_daily_api_share: Share = Field(
        default=0.5,
        description="Fraction of the org's daily API request allowance revstack may use.",
    )
    bulk_threshold_rows: int = Field(
        default=10_000,
        gt=0,
        description="Use the Bulk API instead of REST when an object has more changed rows.",
    )


class SourcesSettings(_Section):
    """``[sources]``: one table per source system."""

    stripe: StripeSettings = _section("Stripe billing.")
    hubspot: HubSpotSettings = _section("HubSpot CRM.")
    salesforce: SalesforceSettings = _section("Salesforce CRM.")


class ProductEventsSettings(_Section):
    """``[product_events]``: product-usage events collected or dropped as files."""

    landing_zone: UserPath = Field(
        default=Path(".revstack/landing"),
        description="Directory where product-event files land before they are loaded.",
    )
    dedupe_window_days: int = Field(
        default=7,
        ge=0,
        description="Days within which an event id seen again is a duplicate and dropped.",
    )


class MetricsSettings(_Section):
    """``[metrics]``: choices in how revenue metrics are defined."""

    delinquent_churn_after_days: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Count a subscription unpaid for this many days as churned; unset means only "
            "cancellation churns."
        ),
    )


def _check_first_of_month(value: date) -> date:
    if value.day != 1:
        raise ValueError("must be the first day of a month, e.g. 2025-05-01")
    return value


class SandboxSettings(_Section):
    """``[sandbox]``: the synthetic company used by the demo and the tests."""

    seed: int = Field(
        default=42, ge=0, description="Random seed; the same seed gives the same world."
    )
    customers: int = Field(default=2000, ge=1, description="Number of customers to generate.")
    months: int = Field(default=18, ge=1, le=120, description="Months of history to generate.")
    start: Annotated[date, AfterValidator(_check_first_of_month)] = Field(
        default=date(2025, 5, 1), description="First day of the history (a first of the month)."
    )
    world_dir: UserPath = Field(
        default=Path(".revstack/world"),
        description="Directory the generated world is written to and read from.",
    )


class ServeSettings(_Section):
    """``[serve]``: the long-running ``revstack serve`` process."""

    host: str = Field(default="127.0.0.1", min_length=1, description="Address to listen on.")
    port: int = Field(default=8787, ge=1, le=65535, description="TCP port to listen on.")


class SyncSettings(_Section):
    """``[sync]``: the HubSpot <-> Stripe sync service."""

    store: Literal["sqlite", "postgres"] = Field(
        default="sqlite",
        description="Where the inbox, queue and link table live: sqlite (one machine) or postgres.",
    )
    sqlite_path: UserPath = Field(
        default=Path(".revstack/sync.sqlite"),
        description="SQLite database file, used when store is sqlite.",
    )
    postgres_dsn: Secret = _secret_field(
        "PostgreSQL connection string; required when store is postgres."
    )
    stripe_rate_per_s: float = Field(
        default=100.0, gt=0, description="Most Stripe requests per second the sync sends."
    )
    hubspot_rate_per_s: float = Field(
        default=15.0, gt=0, description="Most HubSpot requests per second the sync sends."
    )

    @model_validator(mode="after")
    def _check_store(self) -> SyncSettings:
        if self.store == "postgres" and self.postgres_dsn is None:
            raise _FieldProblem("postgres_dsn", 'must be set when store is "postgres"')
        return self


class RevstackConfig(_Section):
    """The whole of ``revstack.toml``."""

    warehouse: WarehouseSettings = _section("The warehouse.")
    sources: SourcesSettings = _section("Source systems.")
    product_events: ProductEventsSettings = _section("Product events.")
    metrics: MetricsSettings = _section("Metric definitions.")
    sandbox: SandboxSettings = _section("The synthetic company.")
    serve: ServeSettings = _section("The revstack serve process.")
    sync: SyncSettings = _section("The HubSpot <-> Stripe sync.")

    _source_path: Path | None = PrivateAttr(default=None)

    @property
    def source_path(self) -> Path | None:
        """The file these settings were read from, or ``None`` if no file was used."""
        return self._source_path


# --------------------------------------------------------------------------------------------
# Loading


def find_config_file(
    path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    cwd: Path | None = None,
) -> Path | None:
    """Return the config file to read: ``path``, else ``$REVSTACK_CONFIG``, else
    ``./revstack.toml`` if it exists, else ``None`` (use defaults).

    A file named explicitly (by ``path`` or the variable) must exist.
    """
    if path is not None:
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    from_env = environ.get(CONFIG_PATH_ENV)
    if from_env:
        named = Path(from_env).expanduser()
        if not named.is_file():
            raise ConfigError(f"{CONFIG_PATH_ENV} names {named}, which does not exist")
        return named
    candidate = (cwd if cwd is not None else Path.cwd()) / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] = os.environ,
    cwd: Path | None = None,
) -> RevstackConfig:
    """Read, merge and validate the configuration; raise :class:`ConfigError` if it is invalid.

    ``environ`` supplies both ``REVSTACK__`` overrides and secret references, so callers (and
    tests) decide which environment is seen. ``cwd`` is where ``revstack.toml`` is looked for.
    """
    file = find_config_file(path, environ, cwd)
    data = _read_toml(file) if file is not None else {}
    overrides, origins = _env_overrides(environ)
    _deep_merge(data, overrides)
    try:
        config = RevstackConfig.model_validate(
            data, context={"environ": environ, "reject_literal_secrets": True}
        )
    except ValidationError as exc:
        # "from None": pydantic's own message would repeat the offending input values.
        raise ConfigError(_describe_errors(exc, file, origins)) from None
    config._source_path = file
    return config


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror or exc}") from None


def _env_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Nest ``REVSTACK__A__B=value`` variables into ``{"a": {"b": value}}``.

    Returns the nested data and, for error messages, which variable set each dotted key.
    """
    data: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in sorted(environ):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if not all(parts):
            raise ConfigError(
                f"environment variable {name}: expected {ENV_PREFIX}SECTION__KEY with single "
                "words between double underscores"
            )
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = _parse_env_value(environ[name])
        origins[".".join(parts)] = name
    return data, origins


def _parse_env_value(raw: str) -> Any:
    if raw.lstrip().startswith(("[", "{")):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass
    return _EnvString(raw)


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> None:
    for key, value in override.items():
        current = base.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _deep_merge(current, value)
        else:
            base[key] = value


def _describe_errors(exc: ValidationError, file: Path | None, origins: Mapping[str, str]) -> str:
    where = f"in {file}" if file is not None else "(defaults and environment)"
    problems = [_describe_error(error, origins) for error in exc.errors()]
    return f"invalid configuration {where}: " + "; ".join(problems)


def _describe_error(error: ErrorDetails, origins: Mapping[str, str]) -> str:
    loc = error["loc"]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _FieldProblem):
        loc = (*loc, cause.key)
    key = _dotted(loc)
    if error["type"] == "extra_forbidden":
        message = "unknown key"
        allowed = _allowed_keys(loc[:-1])
        if allowed:
            message += f" (known keys here: {', '.join(allowed)})"
    elif error["type"] == "value_error" and cause is not None:
        message = str(cause)
    else:
        message = error["msg"]
    origin = _origin(loc, origins)
    if origin:
        message += f" (set by environment variable {origin})"
    return f"{key}: {message}" if key else message


def _dotted(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _origin(loc: tuple[int | str, ...], origins: Mapping[str, str]) -> str | None:
    names = [part for part in loc if isinstance(part, str)]
    while names:
        origin = origins.get(".".join(names))
        if origin:
            return origin
        names.pop()
    return None


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = RevstackConfig
    for part in loc:
        if not isinstance(part, str) or part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)
