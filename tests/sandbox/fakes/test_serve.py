"""`revstack sandbox serve` as a user runs it: a process printing its endpoints until SIGTERM."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from revstack.errors import WorldError
from revstack.sandbox.fakes.server import build_sandbox, world_period


def test_serve_prints_endpoints_shares_one_clock_and_stops_on_sigterm(
    world_dir: Path, tmp_path: Path
) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"stripe": {"seed": 5, "latency_ms": 1}}))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "revstack",
            "sandbox",
            "serve",
            "--world",
            str(world_dir),
            "--faults",
            str(faults),
            "--tls-dir",
            str(tmp_path / "tls"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = dict(process.stdout.readline().strip().split("=", 1) for _ in range(4))
        assert set(lines) == {"stripe", "hubspot", "salesforce", "salesforce_ca"}
        assert lines["salesforce"].startswith("https://")
        ca = Path(lines["salesforce_ca"])
        assert ca.is_file()
        _, end = world_period(world_dir)
        stripe_clock = httpx.get(f"{lines['stripe']}/_sandbox/clock").json()
        assert stripe_clock["now"] == end - 30 * 86_400 and stripe_clock["end"] == end
        httpx.post(f"{lines['hubspot']}/_sandbox/clock", json={"advance": 3_600})
        trust = ssl.create_default_context(cafile=str(ca))
        moved = httpx.get(f"{lines['salesforce']}/_sandbox/clock", verify=trust).json()
        assert moved["now"] == stripe_clock["now"] + 3_600  # one clock for the three fakes
        assert httpx.get(f"{lines['stripe']}/_sandbox/faults").json()["seed"] == 5
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
        assert process.returncode == 0, errors
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_serve_reports_a_bad_fault_file_in_one_line(world_dir: Path, tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"stripe": {"error_rate": 3}}))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "revstack",
            "sandbox",
            "serve",
            "--world",
            str(world_dir),
            "--faults",
            str(faults),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "stripe.error_rate" in result.stderr


def test_running_sandbox_refuses_a_clock_outside_the_world(world_dir: Path) -> None:
    _, end = world_period(world_dir)
    with pytest.raises(WorldError, match="within the world's period"):
        build_sandbox(world_dir, at=end + 1)
