"""Through a hostile fake (429 bursts, 5xx, timeouts, cut-off responses) the connector still
loads the world exactly; at the configured rate it never meets a 429."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from revstack.sandbox.fakes.faults import FaultProfile, RateLimit
from revstack.sources.stripe import retry
from revstack.sources.stripe.run import IngestOptions, run_actions

from .conftest import context, differences, query

HOSTILE = FaultProfile(
    seed=11,
    rate_limits=(RateLimit(name="burst", requests=30, per_seconds=1.0),),
    error_rate=0.1,
    timeout_rate=0.04,
    timeout_s=0.6,
    truncate_rate=0.04,
)


def test_a_hostile_api_still_converges(
    fake_factory: Any,
    world_dir: Path,
    period: tuple[int, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry, "BACKOFF_BASE_S", 0.05)
    _, end = period
    with fake_factory(end, HOSTILE) as fake:
        # 100 requests/s against a fake allowing 30: 429 bursts are certain.
        ctx = context(
            fake.url,
            tmp_path,
            rate_limit_per_s=100,
            rate_limit_share=1.0,
            request_timeout_s=0.3,
        )
        try:
            run_actions(ctx, IngestOptions(backfill=True))
            run_actions(ctx, IngestOptions())
        finally:
            ctx.close()
        assert ctx.api.retries() >= 5
        assert differences(world_dir, tmp_path) == {}
        events = query(tmp_path, "SELECT count(*) FROM raw_stripe.events")[0][0]
        assert events > 0


def test_the_configured_rate_never_meets_a_rate_limit(
    fake_factory: Any, period: tuple[int, int], tmp_path: Path
) -> None:
    _, end = period
    limit = FaultProfile(rate_limits=(RateLimit(requests=40, per_seconds=1.0),))
    with fake_factory(end, limit) as fake:
        ctx = context(fake.url, tmp_path, rate_limit_per_s=40, rate_limit_share=0.8)
        try:
            run_actions(ctx, IngestOptions(backfill=True))
            run_actions(ctx, IngestOptions(sweep=True))
        finally:
            ctx.close()
    assert ctx.api.requests() >= 30
    assert ctx.api.retries() == 0
