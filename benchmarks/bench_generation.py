"""Generation throughput: programs per second at 5, 10, 20 and 50 nodes.

Each program is generated, run through the pass pipeline (type promotion, DCE, validation with
FakeTensor propagation) and emitted as a standalone script, as `torchfuzz generate` does.

    python benchmarks/bench_generation.py [--programs N]   (or: torchfuzz bench)
"""

from __future__ import annotations

import argparse
import statistics
import time

from torchfuzz.backends.python import to_python
from torchfuzz.backends.variants import get_variant
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions

SIZES = (5, 10, 20, 50)


def measure(num_nodes: int, programs: int) -> dict[str, float]:
    options = GeneratorOptions(num_nodes=num_nodes, max_depth=max(6, num_nodes // 3))
    variants = [get_variant("inductor")]
    sizes = []
    start = time.perf_counter()
    for seed in range(programs):
        graph = generate(seed, options)
        to_python(graph, seed, variants)
        sizes.append(len(graph))
    seconds = time.perf_counter() - start
    return {
        "nodes": num_nodes,
        "graphs_per_s": programs / seconds,
        "ms_per_graph": 1000 * seconds / programs,
        "mean_nodes": statistics.mean(sizes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=200, help="programs per size")
    args = parser.parse_args()
    generate(0, GeneratorOptions(num_nodes=5))  # warm-up: imports, FakeTensor caches
    print(f"{'nodes':>6} {'graphs/s':>9} {'ms/graph':>9} {'mean nodes after passes':>24}")
    for size in SIZES:
        row = measure(size, args.programs)
        print(
            f"{row['nodes']:>6} {row['graphs_per_s']:>9.1f} {row['ms_per_graph']:>9.2f}"
            f" {row['mean_nodes']:>24.1f}"
        )


if __name__ == "__main__":
    main()
