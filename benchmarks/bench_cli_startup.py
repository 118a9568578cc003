"""How long `revstack --help` takes to start: the CLI must stay quick to type.

Heavy libraries (dlt, dbt, pyarrow, the sandbox) are imported inside commands, not at start-up;
this benchmark notices when one slips into the import path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUDGET_S = 1.5
"""Median wall time allowed for `revstack --help`, generous for a small CI machine."""

OUT = Path(__file__).resolve().parent / "out" / "cli_startup.json"


def measure(runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "revstack", "--help"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        timings.append(time.perf_counter() - started)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few runs, for make bench")
    args = parser.parse_args()
    timings = measure(3 if args.quick else 15)
    median = statistics.median(timings)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"runs": timings, "median_s": median, "budget_s": BUDGET_S}))
    print(f"revstack --help: median {median:.3f} s over {len(timings)} runs (budget {BUDGET_S} s)")
    return 0 if median <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
