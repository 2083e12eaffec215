"""Generation throughput: programs/s and ops/s at about 4, 8, 33, 150 and 1000 ops per program.

Each program goes through the three stages of `torchfuzz generate`, each timed on its own:
*generate* (:func:`~torchfuzz.generator.generate.generate_raw`), *passes* (the default
pipeline: type promotion, DCE, observation, validation) and *emit* (the standalone script,
:func:`~torchfuzz.backends.python.to_python` under the inductor variant). "Ops" are the
nodes of the program after the passes that are not constants (graph inputs are not nodes).
A row's size is given by the generator options (:func:`_options`); :data:`NUM_NODES` holds
the ``num_nodes`` measured to give about the target mean ops. Where the generator does not
reach a target, the row shows what it made: the mean ops column is measured, never assumed.

`torchfuzz bench` and `benchmarks/bench_generation.py` both print :func:`run_benchmark`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from torchfuzz.backends.python import to_python
from torchfuzz.backends.variants import get_variant
from torchfuzz.generator.generate import generate_raw
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import Trait
from torchfuzz.passes import Pipeline, default_pipeline

# Target mean ops per program, one row each.
TARGETS = (4, 8, 33, 150, 1000)
# The num_nodes that gives about each target, measured over the row's seeds (ops can exceed
# num_nodes: type promotion adds casts, observation adds copies): 3 -> 3.7, 7 -> 8.4,
# 40 -> 32.7, 125 -> ~150, 830 -> ~1000 mean ops (2026-12-07, the depth following num_nodes).
# Re-measure when the generator or the passes change.
NUM_NODES = {4: 3, 8: 7, 33: 40, 150: 125, 1000: 830}
# Programs per row at the default `programs`; other values scale every row alike.
DEFAULT_PROGRAMS = 200
PROGRAMS = {4: 200, 8: 200, 33: 200, 150: 20, 1000: 3}
_WARMUP_SEEDS = range(1_000_000, 1_000_002)  # never measured


def _options(num_nodes: int) -> GeneratorOptions:
    """The generator options of a row."""
    return GeneratorOptions(num_nodes=num_nodes)  # depth follows num_nodes


def _pipeline(options: GeneratorOptions, fake: bool = False) -> Pipeline:
    """The passes a generated program goes through, as in `generate`: specs checked against
    the fast inference path, or (`fake`, as campaigns do) every node run on FakeTensors."""
    return default_pipeline(options.observe, fake=fake)


def op_count(graph: Graph) -> int:
    """Nodes that are not constants (graph inputs are not nodes)."""
    return sum(1 for node in graph.nodes if not node.op.has(Trait.CONSTANT))


@dataclass(frozen=True, slots=True)
class BenchRow:
    """Throughput at one program size; times are totals over the row's programs."""

    target_ops: int
    num_nodes: int
    programs: int
    ops: int  # summed over the programs, after the passes
    generate_s: float
    passes_s: float
    emit_s: float
    wall_s: float  # the three stages and the loop around them
    cpu_s: float  # process CPU time (all threads) over the same work

    @property
    def mean_ops(self) -> float:
        return self.ops / self.programs

    @property
    def programs_per_s(self) -> float:
        return self.programs / self.wall_s

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s

    def ms_per_program(self, seconds: float) -> float:
        """`seconds` (one of the stage totals) as milliseconds per program."""
        return 1000 * seconds / self.programs


def programs_for(target: int, programs: int = DEFAULT_PROGRAMS) -> int:
    """Programs measured at `target` when the small sizes get `programs` (at least one)."""
    return max(1, round(PROGRAMS[target] * programs / DEFAULT_PROGRAMS))


def measure(target: int, programs: int, fake: bool = False) -> BenchRow:
    """Generate, pass and emit `programs` programs (seeds 0..programs-1) of the row `target`
    (with `fake`, the passes verify every node on FakeTensors)."""
    options = _options(NUM_NODES[target])
    pipeline = _pipeline(options, fake)
    variants = [get_variant("inductor")]
    generate_s = passes_s = emit_s = 0.0
    ops = 0
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    for seed in range(programs):
        start = time.perf_counter()
        raw, _ = generate_raw(seed, options)
        generated = time.perf_counter()
        graph = pipeline.run(raw)
        passed = time.perf_counter()
        to_python(graph, seed, variants)
        emitted = time.perf_counter()
        generate_s += generated - start
        passes_s += passed - generated
        emit_s += emitted - passed
        ops += op_count(graph)
    wall_s = time.perf_counter() - wall_start
    cpu_s = time.process_time() - cpu_start
    return BenchRow(
        target, options.num_nodes, programs, ops, generate_s, passes_s, emit_s, wall_s, cpu_s
    )


def _warm_up() -> None:
    """Imports, FakeTensor and emission caches: the three stages on a few small programs."""
    options = _options(NUM_NODES[TARGETS[0]])
    variants = [get_variant("inductor")]
    for seed in _WARMUP_SEEDS:
        raw, _ = generate_raw(seed, options)
        to_python(_pipeline(options).run(raw), seed, variants)


def parse_sizes(text: str) -> tuple[int, ...]:
    """`4,33` -> (4, 33): targets among :data:`TARGETS`, in their order; else ValueError."""
    try:
        chosen = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise ValueError(f"expected comma-separated numbers, got {text!r}") from None
    unknown = chosen - set(TARGETS)
    if unknown or not chosen:
        raise ValueError(f"sizes are among {','.join(map(str, TARGETS))}, got {text!r}")
    return tuple(target for target in TARGETS if target in chosen)


def run_benchmark(
    programs: int = DEFAULT_PROGRAMS, sizes: Iterable[int] = TARGETS, fake: bool = False
) -> Iterator[BenchRow]:
    """One row per target size, after an unmeasured warm-up; lazily, so a caller can show
    each row as it is measured. `programs` is the count of the small sizes (see
    :func:`programs_for`); `fake`: FakeTensor verification in the passes."""
    _warm_up()
    for target in sizes:
        yield measure(target, programs_for(target, programs), fake)


_COLUMNS = (
    ("target ops", 10),
    ("nodes", 6),
    ("mean ops", 8),
    ("programs", 8),
    ("programs/s", 10),
    ("ops/s", 8),
    ("generate ms", 11),
    ("passes ms", 9),
    ("emit ms", 8),
    ("wall s", 7),
    ("cpu s", 7),
)
HEADER = " ".join(f"{name:>{width}}" for name, width in _COLUMNS)


def format_row(row: BenchRow) -> str:
    """The row as a line under :data:`HEADER`; stage times are ms per program."""
    cells = (
        f"{row.target_ops}",
        f"{row.num_nodes}",
        f"{row.mean_ops:.1f}",
        f"{row.programs}",
        f"{row.programs_per_s:.1f}",
        f"{row.ops_per_s:.0f}",
        f"{row.ms_per_program(row.generate_s):.2f}",
        f"{row.ms_per_program(row.passes_s):.2f}",
        f"{row.ms_per_program(row.emit_s):.2f}",
        f"{row.wall_s:.2f}",
        f"{row.cpu_s:.2f}",
    )
    return " ".join(f"{cell:>{width}}" for cell, (_, width) in zip(cells, _COLUMNS, strict=True))
