"""Op coverage: does every op of the catalogue appear in generated programs?

Generates seeds 0..N-1 (default 2000, about a minute) with default options and prints every op
with the programs that contain it, rarest first; exits 1 when some op never appears.
`tests/test_coverage.py` checks a weaker property (90% of ops in 200 seeds) in the suite.

    python -m benchmarks.op_coverage [--seeds N]      (per-op details: torchfuzz ops --sample N)
"""

from __future__ import annotations

import argparse
import sys
import time

from torchfuzz.generator.coverage import op_coverage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2000, help="programs: seeds 0..N-1")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = sorted(op_coverage(range(args.seeds)), key=lambda row: (row.programs, row.name))
    seconds = time.perf_counter() - start
    width = max(len(row.name) for row in rows)
    print(f"{'op':<{width}}  {'family':<10} {'weight':>6} {'programs':>9} {'uses':>6}")
    for row in rows:
        print(
            f"{row.name:<{width}}  {row.family:<10} {row.weight:>6g} {row.programs:>9}"
            f" {row.occurrences:>6}"
        )
    never = [row.name for row in rows if row.programs == 0]
    print(
        f"{len(rows)} ops, {len(never)} never generated in {args.seeds} programs ({seconds:.0f} s)"
    )
    if never:
        print(f"never generated: {', '.join(never)}")
    return 1 if never else 0


if __name__ == "__main__":
    sys.exit(main())
