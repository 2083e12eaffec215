"""Minimization quality and speed on seeded 30-node failures of synthetic aot_eager bugs.

For each synthetic bug in tests/_bugs.py, the first seeds (of 30-node float32 programs) that
trip it are minimized in-process; the table shows nodes before and after, nodes beyond the
bug's trigger pattern, candidates tried and seconds. Target: <= 60 s and <= 3 extra nodes.

    python -m benchmarks.bench_minimize [--per-bug N]   (from the repository root, so that
                                                        the bugs in tests/_bugs.py import)
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests._bugs, from a checkout

from tests._core_ops import CORE_OPTIONS
from torchfuzz.backends.runner import resolve_variants  # noqa: E402
from torchfuzz.generator.generate import generate  # noqa: E402
from torchfuzz.generator.options import GeneratorOptions  # noqa: E402
from torchfuzz.shrink.minimize import minimize_case, run_signature  # noqa: E402

OPTIONS = GeneratorOptions(num_nodes=30, max_depth=10, dtypes=(torch.float32,), **CORE_OPTIONS)
# bug -> number of nodes in its trigger pattern
TRIGGERS = {
    "wrong_round_into_cast": 2,
    "crash_clone_into_view": 2,
    "crash_on_mm": 1,
    "wrong_cast_into_mul": 2,
    "nan_with_where": 1,
}


def failing_seeds(variant, count: int, limit: int = 300) -> list[int]:
    seeds = []
    for seed in range(limit):
        if run_signature(generate(seed, OPTIONS), seed, variant, None, None) is not None:
            seeds.append(seed)
            if len(seeds) == count:
                break
    return seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-bug", type=int, default=2, help="failing seeds per bug")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    print(f"{'bug':24} {'seed':>4} {'before':>6} {'after':>5} {'extra':>5} {'cands':>5} {'s':>6}")
    worst_extra, worst_seconds = 0, 0.0
    for bug, trigger in TRIGGERS.items():
        (variant,) = resolve_variants(["inductor"], f"tests._bugs:{bug}")
        for seed in failing_seeds(variant, args.per_bug):
            graph = generate(seed, OPTIONS)
            start = time.perf_counter()
            result = minimize_case(graph, seed, variant)
            seconds = time.perf_counter() - start
            extra = len(result.graph) - trigger
            worst_extra, worst_seconds = max(worst_extra, extra), max(worst_seconds, seconds)
            print(
                f"{bug:24} {seed:>4} {len(graph):>6} {len(result.graph):>5} {extra:>5}"
                f" {result.stats.candidates:>5} {seconds:>6.1f}"
            )
    print(
        f"worst: {worst_extra} nodes beyond the trigger, {worst_seconds:.1f} s (target <= 3, <= 60 s)"
    )


if __name__ == "__main__":
    main()
