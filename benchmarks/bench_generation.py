"""Generation throughput: programs/s and ops/s at about 4, 8, 33, 150 and 1000 ops per program.

    python benchmarks/bench_generation.py [--programs N] [--sizes 4,8,...]   (or: torchfuzz bench)

The measurement is :func:`torchfuzz.bench.run_benchmark`; this script only prints it.
"""

from __future__ import annotations

import argparse

from torchfuzz.bench import DEFAULT_PROGRAMS, HEADER, TARGETS, format_row, run_benchmark
from torchfuzz.commands.bench import sizes
from torchfuzz.commands.common import positive_int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--programs", type=positive_int, default=DEFAULT_PROGRAMS, help="programs per small size"
    )
    parser.add_argument("--sizes", type=sizes, default=TARGETS, help="comma-separated target ops")
    parser.add_argument("--fake", action="store_true", help="FakeTensor verification in passes")
    args = parser.parse_args()
    print(HEADER)
    for row in run_benchmark(args.programs, args.sizes, args.fake):
        print(format_row(row), flush=True)


if __name__ == "__main__":
    main()
