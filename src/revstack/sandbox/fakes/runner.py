"""``revstack sandbox serve``: the three fakes in the foreground until SIGTERM or Ctrl-C.

Prints one line per fake (``stripe=URL``, ``hubspot=URL``, ``salesforce=URL``,
``salesforce_ca=PATH``) as soon as all three listen, so a parent process can read them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError

from revstack.errors import ConfigError
from revstack.sandbox.fakes.control import parse_moment
from revstack.sandbox.fakes.faults import FaultProfile
from revstack.sandbox.fakes.server import SandboxEndpoints, build_sandbox, make_tls, serve


def load_fault_profiles(path: Path) -> dict[str, FaultProfile]:
    """Fault profiles by fake from a JSON file: ``{"stripe": {...}, ...}``."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read fault profiles from {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object keyed by fake name")
    profiles = {}
    for name, profile in data.items():
        try:
            profiles[name] = FaultProfile.model_validate(profile)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in (name, *first["loc"]))
            raise ConfigError(f"{path}: {where}: {first['msg']}") from None
    return profiles


def run_sandbox(
    world_dir: Path,
    *,
    at: str | None,
    speed: float,
    host: str,
    ports: dict[str, int],
    faults_file: Path | None,
    tls_dir: Path | None,
    landing_zone: Path | None = None,
) -> None:
    try:
        start = None if at is None else parse_moment(float(at) if at.isdigit() else at)
    except ValueError as exc:
        raise ConfigError(f"--at: {exc}") from None
    profiles = load_fault_profiles(faults_file) if faults_file else None
    sandbox = build_sandbox(
        world_dir, at=start, speed=speed, faults=profiles, landing_zone=landing_zone
    )
    tls = make_tls(tls_dir or Path(tempfile.mkdtemp(prefix="revstack-sandbox-tls-")))

    def announce(endpoints: SandboxEndpoints) -> None:
        for line in endpoints.lines():
            print(line, flush=True)

    asyncio.run(serve(sandbox, tls, host=host, ports=ports, ready=announce, handle_signals=True))
    sys.stdout.flush()
