"""Campaign throughput: cases checked per minute by `torchfuzz fuzz` with long-lived workers,
against running the same seeds one fresh `python` process per case, measured in one run.

    python -m benchmarks.bench_campaign [--seeds N] [--workers W] [--ray]

Both sides use the default Inductor variants and the same seeds; the campaign is timed from
the command's start (worker start-up and first compiles included) to its end, without
minimization. `--ray` adds the same campaign on a local Ray instance (`--executor ray`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time


def campaign_seconds(seeds: int, workers: int, *extra: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "torchfuzz.cli",
                "fuzz",
                "--seeds",
                f"0:{seeds}",
                "--workers",
                str(workers),
                "--no-minimize",
                "--out",
                out,
                *extra,
            ],
            capture_output=True,
            check=False,
        )
        return time.perf_counter() - start


def fresh_process_seconds(seeds: int) -> float:
    start = time.perf_counter()
    for seed in range(seeds):
        subprocess.run(
            [sys.executable, "-m", "torchfuzz.cli", "run", "--seed", str(seed)],
            capture_output=True,
            check=False,
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="also time --executor ray")
    args = parser.parse_args()
    fresh = fresh_process_seconds(args.seeds)
    campaign = campaign_seconds(args.seeds, args.workers)
    print(f"{'mode':42} {'seconds':>8} {'cases/min':>10}")
    print(f"{'fresh python process per case':42} {fresh:>8.1f} {60 * args.seeds / fresh:>10.1f}")
    label = f"torchfuzz fuzz, {args.workers} workers"
    print(f"{label:42} {campaign:>8.1f} {60 * args.seeds / campaign:>10.1f}")
    if args.ray:
        ray = campaign_seconds(args.seeds, args.workers, "--executor", "ray")
        label = f"torchfuzz fuzz --executor ray, {args.workers} actors"
        print(f"{label:42} {ray:>8.1f} {60 * args.seeds / ray:>10.1f}")
    print(f"speed-up: {fresh / campaign:.1f}x (target >= 3x)")


if __name__ == "__main__":
    main()
