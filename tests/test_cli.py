from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from typer.testing import CliRunner

from revstack.cli import CliState, app

SUBCOMMANDS = [
    "demo",
    "ingest",
    "transform",
    "check",
    "serve",
    "sync",
    "report",
    "audit",
    "sandbox",
]

NOT_BUILT = [
    pytest.param(["ingest", "salesforce"], "revstack ingest salesforce", id="ingest-salesforce"),
    pytest.param(["ingest", "hubspot"], "revstack ingest hubspot", id="ingest-hubspot"),
    pytest.param(
        ["ingest", "product-events"], "revstack ingest product-events", id="ingest-product-events"
    ),
    pytest.param(["transform"], "revstack transform", id="transform"),
    pytest.param(["check"], "revstack check", id="check"),
    pytest.param(["serve"], "revstack serve", id="serve"),
    pytest.param(["sync"], "revstack sync", id="sync"),
    pytest.param(["report"], "revstack report", id="report"),
]


def invoke(args: list[str], environ: dict[str, str] | None = None) -> Any:
    """Run ``revstack`` in-process, seeing only ``environ`` (never the real environment)."""
    return CliRunner().invoke(app, args, obj=CliState(environ=environ or {}))


@pytest.fixture(autouse=True)
def _in_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ./revstack.toml is looked up in the working directory; make sure none is found by chance.
    monkeypatch.chdir(tmp_path)


def test_help_lists_every_subcommand() -> None:
    result = invoke(["--help"])
    assert result.exit_code == 0
    for name in SUBCOMMANDS:
        assert f" {name} " in result.stdout, name


def test_sub_apps_list_their_commands() -> None:
    assert "verify" in invoke(["audit", "--help"]).stdout
    ingest_help = invoke(["ingest", "--help"]).stdout
    for source in ("stripe", "salesforce", "hubspot", "product-events"):
        assert source in ingest_help
    sandbox_help = invoke(["sandbox", "--help"]).stdout
    assert "generate" in sandbox_help
    assert "serve" in sandbox_help


def test_version() -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("revstack ")


@pytest.mark.parametrize(("args", "name"), NOT_BUILT)
def test_command_not_built_yet_says_so_and_exits_2(args: list[str], name: str) -> None:
    result = invoke(args)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"{name} is not available yet (planned: " in lines[0]


def test_config_error_exits_1_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[sandbox]\ncustomers = 0\n")
    result = invoke(["--config", str(config), "demo"])
    assert result.exit_code == 1
    assert "sandbox.customers" in result.stderr
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_config_error_from_environment_exits_1() -> None:
    result = invoke(["demo"], {"REVSTACK__SANDBOX__MONTHS": "many"})
    assert result.exit_code == 1
    assert "sandbox.months" in result.stderr
    assert "REVSTACK__SANDBOX__MONTHS" in result.stderr


def test_missing_config_file_exits_1(tmp_path: Path) -> None:
    result = invoke(["--config", str(tmp_path / "absent.toml"), "demo"])
    assert result.exit_code == 1
    assert "absent.toml does not exist" in result.stderr


def test_unexpected_errors_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("revstack.demo.run_demo", broken)
    result = invoke(["demo"])
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


# --- sandbox generate and demo, with the world generator replaced ---------------------------


class FakeWorldConfig(BaseModel):
    """Shaped like revstack.sandbox.world.WorldConfig: a validating pydantic model."""

    model_config = ConfigDict(frozen=True)

    seed: int = Field(ge=0)
    customers: int
    months: int
    start: date


def world(seed: int, customers: int, months: int, start: date) -> FakeWorldConfig:
    return FakeWorldConfig(seed=seed, customers=customers, months=months, start=start)


@dataclass
class FakeSandbox:
    generated: list[tuple[FakeWorldConfig, Path]] = field(default_factory=list)
    overwrites: list[bool] = field(default_factory=list)
    summarised: list[Path] = field(default_factory=list)

    def generate_world(
        self, config: FakeWorldConfig, out_dir: Path, *, overwrite: bool = False
    ) -> None:
        self.generated.append((config, out_dir))
        self.overwrites.append(overwrite)
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest = {
            "seed": config.seed,
            "customers": config.customers,
            "months": config.months,
            "start": config.start.isoformat(),
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest))

    def render_summary(self, world_dir: Path, console: Console) -> None:
        self.summarised.append(world_dir)
        console.print(f"SUMMARY OF {world_dir}")


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> FakeSandbox:
    """Stand-ins for revstack.sandbox.world's generator and summary, as the CLI imports them."""
    fake = FakeSandbox()
    world = types.ModuleType("revstack.sandbox.world")
    world.WorldConfig = FakeWorldConfig  # type: ignore[attr-defined]
    world.generate_world = fake.generate_world  # type: ignore[attr-defined]
    summary = types.ModuleType("revstack.sandbox.world.summary")
    summary.render_summary = fake.render_summary  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "revstack.sandbox.world", world)
    monkeypatch.setitem(sys.modules, "revstack.sandbox.world.summary", summary)
    return fake


def test_sandbox_generate_passes_options_and_prints_summary(
    sandbox: FakeSandbox, tmp_path: Path
) -> None:
    out = tmp_path / "world"
    result = invoke(
        [
            "sandbox",
            "generate",
            "--seed",
            "7",
            "--customers",
            "25",
            "--months",
            "3",
            "--start",
            "2024-03-01",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    assert sandbox.generated == [(world(7, 25, 3, date(2024, 3, 1)), out)]
    assert sandbox.summarised == [out]
    assert f"SUMMARY OF {out}" in result.stdout


def test_sandbox_generate_defaults_come_from_config(sandbox: FakeSandbox, tmp_path: Path) -> None:
    config = tmp_path / "revstack.toml"
    config.write_text(f"[sandbox]\nseed = 9\ncustomers = 11\nworld_dir = '{tmp_path / 'w'}'\n")
    result = invoke(["sandbox", "generate"])
    assert result.exit_code == 0, result.output
    assert sandbox.generated == [(world(9, 11, 18, date(2025, 5, 1)), tmp_path / "w")]


def test_sandbox_generate_refuses_a_non_empty_directory(
    sandbox: FakeSandbox, tmp_path: Path
) -> None:
    out = tmp_path / "world"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    result = invoke(["sandbox", "generate", "--out", str(out)])
    assert result.exit_code == 1
    assert "is not empty; pass --force" in result.stderr
    assert sandbox.generated == []

    forced = invoke(["sandbox", "generate", "--out", str(out), "--force"])
    assert forced.exit_code == 0, forced.output
    assert len(sandbox.generated) == 1
    assert sandbox.overwrites == [True]


def test_sandbox_generate_accepts_an_empty_directory(sandbox: FakeSandbox, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert invoke(["sandbox", "generate", "--out", str(out)]).exit_code == 0
    assert sandbox.generated[0][1] == out


def test_sandbox_generate_rejects_a_malformed_date(sandbox: FakeSandbox) -> None:
    result = invoke(["sandbox", "generate", "--start", "May 2025"])
    assert result.exit_code == 2  # a usage error, reported by the parser
    assert sandbox.generated == []


def test_sandbox_generate_reports_values_the_generator_rejects(sandbox: FakeSandbox) -> None:
    result = invoke(["sandbox", "generate", "--seed", "-1"])
    assert result.exit_code == 1
    assert "invalid sandbox settings: seed: Input should be greater than or equal to 0" in (
        result.stderr
    )
    assert sandbox.generated == []


def test_demo_generates_the_configured_world_once(sandbox: FakeSandbox, tmp_path: Path) -> None:
    environ = {"REVSTACK__SANDBOX__CUSTOMERS": "30"}
    world_dir = Path(".revstack/world")

    first = invoke(["demo"], environ)
    assert first.exit_code == 0, first.output
    assert sandbox.generated == [(world(42, 30, 18, date(2025, 5, 1)), world_dir)]
    assert "not built yet" in first.stdout
    assert f"SUMMARY OF {world_dir}" in first.stdout

    second = invoke(["demo"], environ)
    assert second.exit_code == 0, second.output
    assert len(sandbox.generated) == 1  # the manifest matched: no regeneration
    assert sandbox.summarised == [world_dir, world_dir]


def test_demo_regenerates_when_settings_change(sandbox: FakeSandbox) -> None:
    assert invoke(["demo"], {"REVSTACK__SANDBOX__CUSTOMERS": "30"}).exit_code == 0
    assert invoke(["demo"], {"REVSTACK__SANDBOX__CUSTOMERS": "31"}).exit_code == 0
    assert [config.customers for config, _ in sandbox.generated] == [30, 31]


# --- audit verify ------------------------------------------------------------------------------


def test_audit_verify_without_a_warehouse_says_so(tmp_path: Path) -> None:
    environ = {"REVSTACK__WAREHOUSE__DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    result = invoke(["audit", "verify"], environ)
    assert result.exit_code == 0, result.output
    assert "No audit log yet" in result.stdout


def test_audit_verify_names_the_first_tampered_entry(tmp_path: Path) -> None:
    import duckdb

    from revstack.warehouse.audit import AuditEvent
    from revstack.warehouse.audit_store import SCHEMA, DuckDBAuditLog, head_path_for

    warehouse = tmp_path / "w.duckdb"
    connection = duckdb.connect(str(warehouse))
    log = DuckDBAuditLog(connection, head_path_for(warehouse))
    for n in range(3):
        log.append(AuditEvent(f"run-{n}", "stripe", "events", "incremental", "success", rows=n))
    environ = {"REVSTACK__WAREHOUSE__DUCKDB_PATH": str(warehouse)}
    connection.close()
    intact = invoke(["audit", "verify"], environ)
    assert intact.exit_code == 0, intact.output
    assert "3 entries" in intact.stdout
    connection = duckdb.connect(str(warehouse))
    connection.execute(f"UPDATE {SCHEMA}.entries SET rows = 42 WHERE seq = 2")
    connection.close()
    broken = invoke(["audit", "verify"], environ)
    assert broken.exit_code == 1
    assert "audit log broken at entry 2" in broken.stderr


def test_audit_verify_on_snowflake_is_not_available_yet() -> None:
    environ = {"REVSTACK__WAREHOUSE__DESTINATION": "snowflake"}
    result = invoke(["audit", "verify"], environ)
    assert result.exit_code == 2
    assert "not available yet" in result.stderr


# --- ingest stripe: parses its options and hands them over -----------------------------------


@dataclass
class FakeReport:
    text: str = "stripe backfill: 3 requests in 0.1 s"

    def render(self) -> str:
        return self.text


def test_ingest_stripe_passes_its_options_and_prints_the_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from revstack.sources.stripe import run

    calls: list[Any] = []

    def fake_ingest(config: Any, options: Any) -> FakeReport:
        calls.append(options)
        return FakeReport()

    monkeypatch.setattr(run, "ingest_stripe", fake_ingest)
    result = invoke(["ingest", "stripe", "--backfill", "--since", "2025-06-01", "--sweep"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == FakeReport.text
    (options,) = calls
    assert options == run.IngestOptions(backfill=True, since=date(2025, 6, 1), sweep=True)
    assert not options.incremental

    calls.clear()
    assert invoke(["ingest", "stripe"]).exit_code == 0
    assert calls[0].incremental


def test_ingest_stripe_since_needs_backfill() -> None:
    result = invoke(["ingest", "stripe", "--since", "2025-06-01"])
    assert result.exit_code == 2
    assert "--since needs --backfill" in result.output
