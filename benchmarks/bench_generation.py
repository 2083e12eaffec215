"""Generation throughput: programs per second at 5, 10, 20 and 50 nodes.

    python benchmarks/bench_generation.py [--programs N]   (or: torchfuzz bench)

The measurement is :func:`torchfuzz.bench.run_benchmark`; this script only prints it.
"""

from __future__ import annotations

import argparse

from torchfuzz.bench import HEADER, format_row, run_benchmark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=200, help="programs per size")
    args = parser.parse_args()
    print(HEADER)
    for row in run_benchmark(args.programs):
        print(format_row(row), flush=True)


if __name__ == "__main__":
    main()
