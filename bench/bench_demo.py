"""Demo-bank generation benchmark: qiao.demo.generate_bank at 20,000 customers (or --customers).

Runs the generator ``--runs`` times (default 3) into a fresh temporary folder each time and reports
the median wall time, with the process CPU time next to it (the machine may be shared), the row
counts and the size of the files. Target: <= 10 s at 20,000 customers and 24 months, so that the
whole ``qiao demo`` (generate, load, score) stays within a minute. Prints one JSON document; exits
with status 1 when the target is missed (only checked at the default size).

    python bench/bench_demo.py [--customers 20000] [--months 24] [--runs 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from qiao.demo import generate_bank

TARGET_SECONDS = 10.0
AS_OF = date(2026, 11, 23)  # fixed so that runs on different days generate the same bank


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    walls, cpus = [], []
    summary: dict = {}
    size = 0
    for _ in range(args.runs):
        folder = Path(tempfile.mkdtemp(prefix="qiao-bench-demo-"))
        try:
            w0, c0 = time.perf_counter(), time.process_time()
            summary = generate_bank(
                folder, customers=args.customers, months=args.months, seed=args.seed, as_of=AS_OF
            )
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            size = sum(p.stat().st_size for p in folder.iterdir())
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    median = statistics.median(walls)
    checked = args.customers == 20_000 and args.months == 24
    report = {
        "benchmark": "demo.generate_bank",
        "customers": args.customers,
        "months": args.months,
        "runs": args.runs,
        "median_seconds": round(median, 3),
        "median_cpu_seconds": round(statistics.median(cpus), 3),
        "all_seconds": [round(w, 3) for w in walls],
        "target_seconds": TARGET_SECONDS if checked else None,
        "ok": (median <= TARGET_SECONDS) if checked else None,
        "rows": {k: v for k, v in summary.items() if isinstance(v, int)},
        "megabytes": round(size / 1e6, 1),
    }
    print(json.dumps(report, indent=2))
    return 1 if checked and median > TARGET_SECONDS else 0


if __name__ == "__main__":
    sys.exit(main())
