"""How long `revstack --help` takes to start: the CLI must stay quick to type.

Heavy libraries (dlt, dbt, pyarrow, the sandbox) are imported inside commands, not at start-up;
this benchmark notices when one slips into the import path. The baseline, measured in the same
run, is a bare Python start (`python -c pass`): the floor no CLI can beat.

    .venv/bin/python benchmarks/bench_cli_startup.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

BUDGET_S = 1.5
"""Median wall time allowed for `revstack --help`, generous for a small CI machine."""


def median_s(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 3 if args.quick else 15
    baseline = median_s([sys.executable, "-c", "pass"], runs)
    cli = median_s([sys.executable, "-m", "revstack", "--help"], runs)
    print(f"python -c pass:  median {baseline:.3f} s over {runs} runs (baseline)")
    print(f"revstack --help: median {cli:.3f} s over {runs} runs (budget {BUDGET_S} s)")
    print(
        json.dumps(
            {
                "cli_help_s": round(cli, 3),
                "python_start_s": round(baseline, 3),
                "overhead_s": round(cli - baseline, 3),
                "within_budget": cli <= BUDGET_S,
            }
        )
    )


if __name__ == "__main__":
    main()
