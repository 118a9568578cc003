"""``revstack demo``: what can be shown today, on the synthetic company.

Until ingestion and modelling exist, the demo generates the configured world (only when the one
on disk was made with other settings) and prints its summary.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich.console import Console

from revstack.config import RevstackConfig, SandboxSettings
from revstack.errors import ConfigError, WorldError

if TYPE_CHECKING:
    from revstack.sandbox.world import WorldConfig

__all__ = ["build_world_config", "manifest_matches", "run_demo"]

MANIFEST_NAME = "manifest.json"


def manifest_matches(world_dir: Path, settings: SandboxSettings) -> bool:
    """Whether ``world_dir`` holds a world generated with ``settings``' seed, size and start."""
    try:
        manifest: Any = json.loads((world_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict):
        return False
    expected = {
        "seed": settings.seed,
        "customers": settings.customers,
        "months": settings.months,
        "start": settings.start.isoformat(),
    }
    return all(manifest.get(key) == value for key, value in expected.items())


def build_world_config(
    settings: SandboxSettings,
    *,
    seed: int | None = None,
    customers: int | None = None,
    months: int | None = None,
    start: date | None = None,
) -> WorldConfig:
    """The world to generate: the ``[sandbox]`` settings, with any value given here instead."""
    from revstack.sandbox.world import WorldConfig

    try:
        return WorldConfig(
            seed=settings.seed if seed is None else seed,
            customers=settings.customers if customers is None else customers,
            months=settings.months if months is None else months,
            start=settings.start if start is None else start,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigError(f"invalid sandbox settings: {problems}") from None


def run_demo(config: RevstackConfig, console: Console) -> None:
    """Make sure the configured world exists, then print its summary."""
    from revstack.sandbox.world import generate_world
    from revstack.sandbox.world.summary import render_summary

    settings = config.sandbox
    world_dir = settings.world_dir
    if manifest_matches(world_dir, settings):
        console.print(f"Using the synthetic company in {world_dir}.")
    else:
        console.print(
            f"Generating the synthetic company into {world_dir} "
            f"(seed {settings.seed}, {settings.customers} customers, {settings.months} months "
            f"from {settings.start.isoformat()})..."
        )
        if (
            world_dir.is_dir()
            and any(world_dir.iterdir())
            and not (world_dir / MANIFEST_NAME).is_file()
        ):
            raise WorldError(
                f"{world_dir} holds files that are not a synthetic world; set sandbox.world_dir "
                "to another directory"
            )
        generate_world(build_world_config(settings), world_dir, overwrite=True)
    render_summary(world_dir, console)
    console.print(
        "\nIngestion, dbt modelling, quality checks and dashboards are not built yet; this demo "
        "shows the synthetic company they will run on."
    )
