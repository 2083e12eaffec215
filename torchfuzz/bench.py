"""Generation throughput: programs per second at 5, 10, 20 and 50 nodes.

Each program is generated, run through the pass pipeline (type promotion, DCE, validation with
FakeTensor propagation) and emitted as a standalone script, as `torchfuzz generate` does.
`torchfuzz bench` and `benchmarks/bench_generation.py` both call :func:`run_benchmark`.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from torchfuzz.backends.python import to_python
from torchfuzz.backends.variants import get_variant
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions

SIZES = (5, 10, 20, 50)


@dataclass(frozen=True, slots=True)
class BenchRow:
    """Throughput at one program size."""

    nodes: int
    graphs_per_s: float
    ms_per_graph: float
    mean_nodes: float  # after the passes


def measure(num_nodes: int, programs: int) -> BenchRow:
    """Generate and emit `programs` programs (seeds 0..programs-1) of `num_nodes` nodes."""
    options = GeneratorOptions(num_nodes=num_nodes, max_depth=max(6, num_nodes // 3))
    variants = [get_variant("inductor")]
    sizes = []
    start = time.perf_counter()
    for seed in range(programs):
        graph = generate(seed, options)
        to_python(graph, seed, variants)
        sizes.append(len(graph))
    seconds = time.perf_counter() - start
    return BenchRow(
        num_nodes, programs / seconds, 1000 * seconds / programs, statistics.mean(sizes)
    )


def run_benchmark(programs: int, sizes: Iterable[int] = SIZES) -> Iterator[BenchRow]:
    """One row per size, measured after a warm-up (imports, FakeTensor caches); lazily, so a
    caller can show each row as it is measured."""
    generate(0, GeneratorOptions(num_nodes=5))
    for size in sizes:
        yield measure(size, programs)


HEADER = f"{'nodes':>6} {'graphs/s':>9} {'ms/graph':>9} {'mean nodes after passes':>24}"


def format_row(row: BenchRow) -> str:
    """The row as a line under :data:`HEADER`."""
    return (
        f"{row.nodes:>6} {row.graphs_per_s:>9.1f} {row.ms_per_graph:>9.2f} {row.mean_nodes:>24.1f}"
    )
