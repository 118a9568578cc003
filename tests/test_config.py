from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr

from revstack.config import (
    RevstackConfig,
    StripeSettings,
    find_config_file,
    load_config,
)
from revstack.errors import ConfigError


def write_config(directory: Path, text: str) -> Path:
    path = directory / "revstack.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, environ: dict[str, str] | None = None) -> RevstackConfig:
    """Load as the CLI would from ``tmp_path``, seeing only ``environ``."""
    return load_config(environ=environ or {}, cwd=tmp_path)


# --- where the configuration comes from ----------------------------------------------------


def test_defaults_need_no_file_and_no_environment(tmp_path: Path) -> None:
    config = load(tmp_path)

    assert config.source_path is None
    assert config.warehouse.destination == "duckdb"
    assert config.warehouse.duckdb_path == Path(".revstack/warehouse.duckdb")
    assert config.warehouse.reporting_currency == "usd"
    assert config.sources.stripe.api_key is None
    assert config.sources.stripe.rate_limit_per_s == 100
    assert config.sources.stripe.rate_limit_share == 0.8
    assert config.sources.stripe.events_overlap_s == 300
    assert config.sources.hubspot.rate_limit_per_10s == 100
    assert config.sources.salesforce.api_version == "59.0"
    assert config.sources.salesforce.objects == [
        "Account",
        "Contact",
        "Opportunity",
        "OpportunityLineItem",
        "OpportunityHistory",
        "Contract_Terms__c",
    ]
    assert config.sources.salesforce.max_daily_api_share == 0.5
    assert config.sources.salesforce.bulk_threshold_rows == 10_000
    assert config.product_events.landing_zone == Path(".revstack/landing")
    assert config.product_events.dedupe_window_days == 7
    assert config.metrics.delinquent_churn_after_days is None
    assert (config.sandbox.seed, config.sandbox.customers, config.sandbox.months) == (42, 2000, 18)
    assert config.sandbox.start == date(2025, 5, 1)
    assert config.sandbox.world_dir == Path(".revstack/world")
    assert (config.serve.host, config.serve.port) == ("127.0.0.1", 8787)
    assert config.sync.store == "sqlite"
    assert (config.sync.stripe_rate_per_s, config.sync.hubspot_rate_per_s) == (100, 15)


def test_defaults_equal_a_bare_model() -> None:
    # No hidden difference between "no file" and constructing the model in code.
    assert load_config(environ={}, cwd=Path("/nonexistent")) == RevstackConfig.model_validate(
        {}, context={"environ": {}}
    )


def test_toml_file_in_working_directory_is_read(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        [warehouse]
        reporting_currency = "EUR"

        [sources.stripe]
        rate_limit_share = 0.5
        api_base = "http://127.0.0.1:12111/"

        [sources.salesforce]
        objects = ["Account", "Opportunity"]

        [metrics]
        delinquent_churn_after_days = 30

        [sandbox]
        customers = 50
        start = 2024-01-01
        """,
    )

    config = load(tmp_path)

    assert config.source_path == path
    assert config.warehouse.reporting_currency == "eur"
    assert config.sources.stripe.rate_limit_share == 0.5
    assert config.sources.stripe.api_base == "http://127.0.0.1:12111"
    assert config.sources.salesforce.objects == ["Account", "Opportunity"]
    assert config.metrics.delinquent_churn_after_days == 30
    assert config.sandbox.customers == 50
    assert config.sandbox.start == date(2024, 1, 1)
    assert config.sandbox.seed == 42  # untouched keys keep their defaults


def test_explicit_path_wins_over_env_var_and_working_directory(tmp_path: Path) -> None:
    write_config(tmp_path, "[serve]\nport = 1001\n")
    from_env = tmp_path / "env.toml"
    from_env.write_text("[serve]\nport = 1002\n")
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("[serve]\nport = 1003\n")
    environ = {"REVSTACK_CONFIG": str(from_env)}

    assert load_config(explicit, environ=environ, cwd=tmp_path).serve.port == 1003
    assert load_config(environ=environ, cwd=tmp_path).serve.port == 1002
    assert load_config(environ={}, cwd=tmp_path).serve.port == 1001


@pytest.mark.parametrize(
    ("explicit", "environ", "expected"),
    [
        pytest.param("missing.toml", {}, "config file", id="--config names a missing file"),
        pytest.param(None, {"REVSTACK_CONFIG": "missing.toml"}, "REVSTACK_CONFIG", id="env var"),
    ],
)
def test_named_config_file_must_exist(
    tmp_path: Path, explicit: str | None, environ: dict[str, str], expected: str
) -> None:
    path = Path(explicit) if explicit else None
    with pytest.raises(ConfigError, match=expected):
        find_config_file(path, environ=environ, cwd=tmp_path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[serve\nport = 1\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path} is not valid TOML")):
        load(tmp_path)


# --- environment overrides -----------------------------------------------------------------


def test_env_override_nests_on_double_underscores_and_beats_the_file(tmp_path: Path) -> None:
    write_config(tmp_path, "[sources.stripe]\nrate_limit_share = 0.9\n")
    config = load(
        tmp_path,
        {
            "REVSTACK__SOURCES__STRIPE__RATE_LIMIT_SHARE": "0.5",
            "REVSTACK__SERVE__PORT": "9000",
            "REVSTACK__SANDBOX__START": "2024-02-01",
            "REVSTACK__SOURCES__SALESFORCE__OBJECTS": '["Account", "Lead"]',
            "revstack__metrics__delinquent_churn_after_days": "45",
            "REVSTACK_UNRELATED": "ignored",
        },
    )

    assert config.sources.stripe.rate_limit_share == 0.5
    assert config.serve.port == 9000
    assert config.sandbox.start == date(2024, 2, 1)
    assert config.sources.salesforce.objects == ["Account", "Lead"]
    assert config.metrics.delinquent_churn_after_days == 45


def test_env_override_with_an_empty_segment_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="REVSTACK__SERVE____PORT"):
        load(tmp_path, {"REVSTACK__SERVE____PORT": "1"})


def test_bad_env_override_names_the_key_and_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, {"REVSTACK__SOURCES__STRIPE__RATE_LIMIT_SHARE": "1.5"})
    message = str(raised.value)
    assert "sources.stripe.rate_limit_share: Input should be less than or equal to 1" in message
    assert "REVSTACK__SOURCES__STRIPE__RATE_LIMIT_SHARE" in message


# --- secrets ---------------------------------------------------------------------------------


def test_literal_secret_in_file_is_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[sources.stripe]\napi_key = "sk_live_do_not_commit"\n')
    with pytest.raises(ConfigError) as raised:
        load(tmp_path)
    message = str(raised.value)
    assert str(path) in message
    assert "sources.stripe.api_key: a secret must not be written into the config file" in message
    assert '{ env = "VARIABLE" }' in message
    assert "sk_live_do_not_commit" not in message
    # The pydantic error (which quotes the input) is not chained onto the ConfigError.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_env_reference_resolves(tmp_path: Path) -> None:
    write_config(tmp_path, '[sources.hubspot]\naccess_token = { env = "MY_HUBSPOT" }\n')
    config = load(tmp_path, {"MY_HUBSPOT": "pat-na1-123"})
    token = config.sources.hubspot.access_token
    assert token is not None
    assert token.get_secret_value() == "pat-na1-123"


def test_file_reference_resolves_stripped(tmp_path: Path) -> None:
    secret_file = tmp_path / "stripe_key"
    secret_file.write_text("  sk_test_from_file\n")
    write_config(tmp_path, f'[sources.stripe]\napi_key = {{ file = "{secret_file}" }}\n')
    key = load(tmp_path).sources.stripe.api_key
    assert key is not None
    assert key.get_secret_value() == "sk_test_from_file"


def test_missing_env_var_of_a_reference_is_a_clear_error(tmp_path: Path) -> None:
    write_config(tmp_path, '[warehouse]\npostgres_dsn = { env = "PG_DSN" }\n')
    with pytest.raises(
        ConfigError,
        match=re.escape("warehouse.postgres_dsn: environment variable PG_DSN is not set"),
    ):
        load(tmp_path)


def test_missing_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    write_config(tmp_path, f'[sources.stripe]\nwebhook_secret = {{ file = "{missing}" }}\n')
    with pytest.raises(
        ConfigError,
        match=re.escape(f"sources.stripe.webhook_secret: cannot read secret file {missing}"),
    ):
        load(tmp_path)


def test_reference_with_unknown_shape_is_rejected(tmp_path: Path) -> None:
    write_config(tmp_path, '[sources.stripe]\napi_key = { vault = "x" }\n')
    with pytest.raises(ConfigError, match="exactly one key, env or file"):
        load(tmp_path)


def test_secret_defaults_to_conventional_env_var(tmp_path: Path) -> None:
    key = load(tmp_path, {"STRIPE_API_KEY": "sk_test_env"}).sources.stripe.api_key
    assert key is not None
    assert key.get_secret_value() == "sk_test_env"


def test_secret_may_come_from_an_override_variable(tmp_path: Path) -> None:
    config = load(tmp_path, {"REVSTACK__SOURCES__STRIPE__WEBHOOK_SECRET": "whsec_abc"})
    secret = config.sources.stripe.webhook_secret
    assert secret is not None
    assert secret.get_secret_value() == "whsec_abc"


def test_secrets_never_appear_in_repr_str_or_json(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        {
            "STRIPE_API_KEY": "sk_test_visible1",
            "HUBSPOT_ACCESS_TOKEN": "pat-na1-visible2",
            "REVSTACK__WAREHOUSE__DESTINATION": "postgres",
            "REVSTACK__WAREHOUSE__POSTGRES_DSN": "postgresql://u:visible3@h/db",
        },
    )
    assert config.warehouse.postgres_dsn is not None  # the secrets were loaded
    for text in (repr(config), str(config), config.model_dump_json(), str(config.model_dump())):
        for secret in ("visible1", "visible2", "visible3"):
            assert secret not in text


def test_literal_secret_is_accepted_in_code() -> None:
    # Only the file is kept free of secrets; code may pass them directly.
    settings = StripeSettings(api_key=SecretStr("sk_test_code"))
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "sk_test_code"


# --- validation errors name the key ----------------------------------------------------------


def test_unknown_key_names_the_dotted_key_and_the_known_ones(tmp_path: Path) -> None:
    write_config(tmp_path, "[sources.stripe]\nrate_limit_shar = 0.5\n")
    with pytest.raises(ConfigError) as raised:
        load(tmp_path)
    message = str(raised.value)
    assert "sources.stripe.rate_limit_shar: unknown key" in message
    assert "rate_limit_share" in message


def test_unknown_section_is_an_error(tmp_path: Path) -> None:
    write_config(tmp_path, "[warehose]\ndestination = 'duckdb'\n")
    with pytest.raises(ConfigError, match="warehose: unknown key"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        pytest.param(
            "[sources.stripe]\nrate_limit_share = 1.5",
            "sources.stripe.rate_limit_share: Input should be less than or equal to 1",
            id="share above one",
        ),
        pytest.param(
            "[warehouse]\ndestination = 'bigquery'",
            "warehouse.destination: Input should be 'duckdb', 'postgres' or 'snowflake'",
            id="unknown destination",
        ),
        pytest.param(
            "[warehouse]\ndestination = 'postgres'",
            'warehouse.postgres_dsn: must be set when destination is "postgres"',
            id="postgres without dsn",
        ),
        pytest.param(
            "[sync]\nstore = 'postgres'",
            'sync.postgres_dsn: must be set when store is "postgres"',
            id="sync store without dsn",
        ),
        pytest.param(
            "[warehouse]\nduckdb_path = 'data/stripe.duckdb'",
            "warehouse.duckdb_path: the file name 'stripe' is also a schema name",
            id="duckdb file named like a schema",
        ),
        pytest.param(
            "[sources.salesforce]\nobjects = ['Account', 'not valid']",
            "sources.salesforce.objects[1]: String should match pattern",
            id="bad salesforce object name",
        ),
        pytest.param(
            "[sources.hubspot]\napi_base = 'api.hubapi.com'",
            "sources.hubspot.api_base: must start with http:// or https://",
            id="api base without scheme",
        ),
        pytest.param(
            "[sandbox]\nstart = 2025-05-02",
            "sandbox.start: must be the first day of a month",
            id="sandbox start mid-month",
        ),
        pytest.param(
            "[serve]\nport = 70000",
            "serve.port: Input should be less than or equal to 65535",
            id="port out of range",
        ),
    ],
)
def test_bad_value_names_the_dotted_key_and_the_file(
    tmp_path: Path, toml: str, expected: str
) -> None:
    path = write_config(tmp_path, toml + "\n")
    with pytest.raises(ConfigError) as raised:
        load(tmp_path)
    message = str(raised.value)
    assert expected in message
    assert f"invalid configuration in {path}" in message


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    write_config(tmp_path, "[serve]\nport = 0\n[sandbox]\nmonths = 0\n")
    with pytest.raises(ConfigError) as raised:
        load(tmp_path)
    assert "serve.port" in str(raised.value)
    assert "sandbox.months" in str(raised.value)


def test_config_is_immutable(tmp_path: Path) -> None:
    config = load(tmp_path)
    with pytest.raises(ValueError, match="frozen"):
        config.serve.port = 1  # type: ignore[misc]
