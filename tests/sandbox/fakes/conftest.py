"""A small world shared by the fake-API tests (generated once per test session)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from revstack.sandbox.world import WorldConfig, generate_world

FAKES_WORLD = WorldConfig(seed=21, customers=150, months=8, start=dt.date(2025, 3, 1))


@pytest.fixture(scope="session")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated world: 150 customers over 8 months from 2025-03-01 (ends 2025-11-01)."""
    out = tmp_path_factory.mktemp("fakes-world") / "world"
    generate_world(FAKES_WORLD, out, workers=1)
    return out
