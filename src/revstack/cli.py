"""The ``revstack`` command. Thin: it parses arguments and calls into the package.

Expected failures (every :class:`~revstack.errors.RevstackError`) are printed as one line on
stderr and end the command with the error's exit code: 1 in general, 2 for a command that is
not available yet. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import click
import typer
from typer.core import TyperGroup

from revstack import __version__
from revstack.config import RevstackConfig, load_config
from revstack.errors import NotAvailableError, RevstackError, WorldError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["CliState", "app", "main"]


@dataclass
class CliState:
    """What the root command hands to subcommands (as ``ctx.obj``).

    Tests may pass their own (``CliRunner().invoke(app, args, obj=CliState(environ={}))``) so that
    nothing reads the real process environment.
    """

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    config_path: Path | None = None
    _config: RevstackConfig | None = field(default=None, init=False, repr=False)

    def config(self) -> RevstackConfig:
        """The configuration, loaded (and validated) on first use."""
        if self._config is None:
            self._config = load_config(self.config_path, environ=self.environ)
        return self._config


class _RevstackGroup(TyperGroup):
    """Root command group: the one place where expected errors become exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RevstackError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="revstack",
    cls=_RevstackGroup,
    help=(
        "Stripe, Salesforce, HubSpot and product events in a warehouse exactly once, modelled "
        "into revenue metrics, checked and reconciled."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sandbox_app = typer.Typer(
    help="The synthetic company: a deterministic world of customers, billing and CRM data.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The hash-chained audit log of every ingestion.", no_args_is_help=True)
ingest_app = typer.Typer(
    help="Load a source into raw (append-only), with an audit entry per action.",
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(audit_app, name="audit")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"revstack {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            metavar="PATH",
            help="Config file (default: $REVSTACK_CONFIG, else ./revstack.toml if present).",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    state = ctx.ensure_object(CliState)
    state.config_path = config


def _state(ctx: typer.Context) -> CliState:
    return ctx.ensure_object(CliState)


def _not_available(command: str, planned: str) -> NoReturn:
    raise NotAvailableError(f"revstack {command}", planned)


# --------------------------------------------------------------------------------------------
# Commands that exist


@app.command()
def demo(ctx: typer.Context) -> None:
    """Generate the synthetic company (if needed) and show what it contains."""
    from revstack.demo import run_demo

    run_demo(_state(ctx).config(), _console())


def _console() -> Console:
    """Rich console for command output: a terminal's own width, wide tables when piped."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=120)


@sandbox_app.command("generate")
def sandbox_generate(
    ctx: typer.Context,
    seed: Annotated[
        int | None, typer.Option(help="Random seed; default: config sandbox.seed.")
    ] = None,
    customers: Annotated[
        int | None,
        typer.Option(min=1, help="Number of customers; default: config sandbox.customers."),
    ] = None,
    months: Annotated[
        int | None, typer.Option(min=1, help="Months of history; default: config sandbox.months.")
    ] = None,
    start: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="First day; default: config sandbox.start.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="DIR", help="Directory to write; default: config sandbox.world_dir."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite DIR even if it is not empty.")
    ] = False,
) -> None:
    """Generate a synthetic company: customers, subscriptions, invoices, CRM and events."""
    from revstack.demo import build_world_config
    from revstack.sandbox.world import generate_world
    from revstack.sandbox.world.summary import render_summary

    settings = _state(ctx).config().sandbox
    world = build_world_config(
        settings,
        seed=seed,
        customers=customers,
        months=months,
        start=None if start is None else start.date(),
    )
    out_dir = out if out is not None else settings.world_dir
    if not force and out_dir.is_dir() and any(out_dir.iterdir()):
        raise WorldError(f"{out_dir} is not empty; pass --force to overwrite it")
    generate_world(world, out_dir, overwrite=force)
    render_summary(out_dir, _console())


@ingest_app.command("stripe")
def ingest_stripe(
    ctx: typer.Context,
    backfill: Annotated[
        bool,
        typer.Option(
            "--backfill", help="Read every object by created window (resumes an unfinished one)."
        ),
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="With --backfill: only objects created on or after this day (UTC).",
        ),
    ] = None,
    sweep: Annotated[
        bool,
        typer.Option("--sweep", help="Re-read disputes and refunds of the last 120 days."),
    ] = False,
    webhooks: Annotated[
        bool, typer.Option("--webhooks", help="Load the webhook inbox into raw, once.")
    ] = False,
    reconcile_webhooks: Annotated[
        bool,
        typer.Option(
            "--reconcile-webhooks",
            help="Compare the last day of events with raw; load and count what webhooks missed.",
        ),
    ] = False,
) -> None:
    """Stripe: incremental from events by default (back-filling first on the first run)."""
    from revstack.log import configure_logging
    from revstack.sources.stripe.run import IngestOptions, ingest_stripe

    if since is not None and not backfill:
        raise click.UsageError("--since needs --backfill")
    configure_logging()
    options = IngestOptions(
        backfill=backfill,
        since=None if since is None else since.date(),
        sweep=sweep,
        webhooks=webhooks,
        reconcile_webhooks=reconcile_webhooks,
    )
    report = ingest_stripe(_state(ctx).config(), options)
    typer.echo(report.render())


@ingest_app.command("salesforce")
def ingest_salesforce() -> None:
    """Salesforce (not available yet)."""
    _not_available("ingest salesforce", "Salesforce REST and Bulk API ingestion")


@ingest_app.command("hubspot")
def ingest_hubspot() -> None:
    """HubSpot (not available yet)."""
    _not_available("ingest hubspot", "HubSpot CRM v3 ingestion")


@ingest_app.command("product-events")
def ingest_product_events() -> None:
    """Product events from the landing zone (not available yet)."""
    _not_available("ingest product-events", "product-event loading from the landing zone")


# --------------------------------------------------------------------------------------------
# Planned commands: each says so and exits with status 2.


@app.command()
def transform() -> None:
    """Build staging, history and the revenue marts with dbt (not available yet)."""
    _not_available(
        "transform", "the dbt project: staging, SCD2 history, MRR/churn/cohort/pipeline marts"
    )


@app.command()
def check() -> None:
    """Run quality checks, reconciliation and SLA evaluation (not available yet)."""
    _not_available(
        "check", "data-quality checks, reconciliation with Stripe balance transactions, SLA"
    )


@app.command()
def serve() -> None:
    """Run webhooks, the event collector, the scheduler and dashboards (not available yet)."""
    _not_available("serve", "webhook receiver, event collector, scheduler and dashboards")


@app.command()
def sync() -> None:
    """Keep HubSpot contacts and Stripe customers in step (not available yet)."""
    _not_available("sync", "the HubSpot <-> Stripe sync service")


@app.command()
def report() -> None:
    """Print revenue reports from the marts (not available yet)."""
    _not_available("report", "MRR, churn, cohort and pipeline reports from the marts")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Prove that the audit log has not been altered, removed from or reordered."""
    from rich.console import Console

    from revstack.warehouse.verify import verify_audit_log

    print_line = Console(highlight=False).print
    print_line(verify_audit_log(_state(ctx).config().warehouse))


@sandbox_app.command("serve")
def sandbox_serve(
    ctx: typer.Context,
    world: Annotated[
        Path | None,
        typer.Option("--world", metavar="DIR", help="World to serve; default: sandbox.world_dir."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="Start the clock here (ISO-8601 or Unix seconds); default: 30 days before "
            "the world's end.",
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option(min=0.0, help="Clock speed: 0 frozen (default), 1 real time.")
    ] = 0.0,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    stripe_port: Annotated[int, typer.Option(min=0, max=65535, help="0: any free port.")] = 0,
    hubspot_port: Annotated[int, typer.Option(min=0, max=65535, help="0: any free port.")] = 0,
    salesforce_port: Annotated[int, typer.Option(min=0, max=65535, help="0: any free port.")] = 0,
    faults: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help='JSON fault profiles by fake: {"stripe": {...}, "hubspot": {...}}.',
        ),
    ] = None,
    tls_dir: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Where to write the Salesforce fake's CA and cert."),
    ] = None,
    landing_zone: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Also land product events there (gzipped NDJSON) as the clock receives them.",
        ),
    ] = None,
) -> None:
    """Serve fake Stripe, HubSpot and Salesforce APIs over a world until SIGTERM."""
    from revstack.sandbox.fakes.runner import run_sandbox

    world_dir = world if world is not None else _state(ctx).config().sandbox.world_dir
    run_sandbox(
        world_dir,
        at=at,
        speed=speed,
        host=host,
        ports={"stripe": stripe_port, "hubspot": hubspot_port, "salesforce": salesforce_port},
        faults_file=faults,
        tls_dir=tls_dir,
        landing_zone=landing_zone,
    )


def main() -> None:
    """Entry point of the ``revstack`` console script."""
    app()
