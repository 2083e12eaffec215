"""Test-case minimization shaped like a shrinker: one `consider(candidate)` that verifies,
dedupes and tests the predicate, named reduction passes with stats, run to a fixpoint.

A candidate is accepted only when it is smaller by `sort_key` and the predicate (usually
"fails with the same signature") holds. Passes try the moves of `torchfuzz.shrink.moves` in a
fixed order, most-removing first, so the same case and options give the same result.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch

from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.runner import check, node_values
from torchfuzz.backends.signature import Signature, failure_signature
from torchfuzz.backends.variants import Variant
from torchfuzz.backends.worker import IsolatedRunner, RunnerKilled
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.serialize import Case
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes.validate import ValidationError, verify
from torchfuzz.shrink import moves as reduce

log = logging.getLogger(__name__)

Predicate = Callable[[Graph], bool]
# Inputs with at most this many elements get literal values (and appear inline in repros).
LITERAL_LIMIT = 64


def sort_key(graph: Graph) -> tuple[int, ...]:
    """Smaller is simpler: fewer nodes, fewer inputs, fewer elements, dense layouts at offset 0,
    float32, fewer attributes, simpler values."""
    tensors = [i.spec for i in graph.inputs if isinstance(i.spec, TensorSpec)]
    return (
        len(graph),
        len(graph.inputs),
        sum(s.numel for s in tensors),
        sum((not s.is_contiguous) + (s.offset > 0) for s in tensors),
        sum(s.dtype != torch.float32 for s in tensors),
        sum(len(n.attrs) for n in graph.nodes),
        sum(reduce.value_cost(i) for i in graph.inputs),
    )


@dataclass
class MinimizeStats:
    candidates: int = 0  # distinct valid candidates run
    accepted: int = 0
    invalid: int = 0  # rejected by verify or PyTorch before running
    by_pass: dict[str, int] = field(default_factory=dict)  # accepted per pass
    seconds: float = 0.0
    # Why it stopped before a fixpoint: "candidates" or "seconds" (the budget ran out),
    # "interrupted" (its runner was killed: Ctrl-C); None when it reached the fixpoint.
    stopped: str | None = None


class Minimizer:
    """Greedy, deterministic reduction of `graph` while `predicate` holds."""

    def __init__(
        self,
        graph: Graph,
        seed: int,
        predicate: Predicate,
        max_candidates: int = 5000,
        confirm: int = 1,
        max_seconds: float | None = None,
        hints: frozenset[str] = frozenset(),
        nodes_only: bool = False,
    ):
        self.current = graph
        # Only the passes that remove nodes: enough to know which ops a failure needs.
        self.passes = tuple(p for p in self.PASSES if not nodes_only or p[0] in NODE_PASSES)
        # Ops that earlier failures of this kind reduced to: their nodes are tried alone
        # first, so a case with a known trigger takes one candidate, not a minimization.
        self.hints = hints
        self.seed = seed
        self.predicate = predicate
        self.max_candidates = max_candidates
        self.max_seconds = max_seconds
        self._deadline: float | None = None
        # Extra runs an interesting candidate must pass before it is accepted: bugs that read
        # out of bounds fail only sometimes once the tensors are tiny, and a repro that
        # fails only sometimes is no repro.
        self.confirm = confirm
        self.stats = MinimizeStats()
        self._seen: set[str] = {graph.content_hash()}

    # --- the one gate ----------------------------------------------------------------------
    def consider(self, candidate: Graph | None, pass_name: str) -> bool:
        """Accept `candidate` if it is valid, new, simpler and still interesting."""
        if self.stats.candidates >= self.max_candidates:
            self.stats.stopped = "candidates"
            return False
        if self._deadline is not None and time.monotonic() > self._deadline:
            self.stats.stopped = "seconds"
            return False
        if candidate is None:
            return False
        key = candidate.content_hash()
        if key in self._seen:
            return False
        self._seen.add(key)
        if sort_key(candidate) >= sort_key(self.current):
            return False
        try:
            verify(candidate)
        except ValidationError:
            self.stats.invalid += 1
            return False
        self.stats.candidates += 1
        if not all(self.predicate(candidate) for _ in range(1 + self.confirm)):
            return False
        self.current = candidate
        self.stats.accepted += 1
        self.stats.by_pass[pass_name] = self.stats.by_pass.get(pass_name, 0) + 1
        log.info("%s: %d nodes %s", pass_name, len(candidate), sort_key(candidate))
        return True

    # --- passes: each tries candidates from the current graph until one is accepted ---------
    def _prefixes(self) -> Iterator[Graph | None]:
        # Smallest first: a failure (a killed or hung run above all, which costs a new
        # worker or a timeout) is reached after cheap passing runs of its upstream prefixes.
        for node in self.current.nodes:
            if not node.op.has(Trait.CONSTANT):
                yield reduce.prefix(self.current, node.name)

    def _isolated(self, only_hinted: bool) -> Iterator[Graph | None]:
        values = None
        for node in self.current.nodes:
            if node.op.has(Trait.CONSTANT) or (only_hinted and node.op.name not in self.hints):
                continue
            values = values or node_values(self.current, self.seed)
            yield reduce.isolate(self.current, node.name, values)

    def _isolate_hinted(self) -> Iterator[Graph | None]:
        return self._isolated(only_hinted=True)

    def _isolate(self) -> Iterator[Graph | None]:
        return self._isolated(only_hinted=False)

    def _drop_outputs(self) -> Iterator[Graph | None]:
        for index in range(len(self.current.outputs)):
            yield reduce.drop_output(self.current, index)

    def _truncate(self) -> Iterator[Graph | None]:
        for out in self.current.outputs:
            yield reduce.truncate(self.current, out)

    def _cut_nodes(self) -> Iterator[Graph | None]:
        values = node_values(self.current, self.seed)
        for node in reversed(self.current.nodes):  # late nodes first: a cut removes upstream
            yield reduce.cut_to_input(self.current, node.name, values[node.name])

    def _forward_nodes(self) -> Iterator[Graph | None]:
        for node in reversed(self.current.nodes):
            for operand in dict.fromkeys(node.inputs):
                yield reduce.forward_operand(self.current, node.name, operand)

    def _shrink_shapes(self) -> Iterator[Graph | None]:
        for inp in self.current.inputs:
            if not isinstance(inp.spec, TensorSpec):
                continue
            for dim, size in enumerate(inp.spec.shape):
                for smaller in dict.fromkeys((1, size // 2)):
                    if 0 < smaller < size:
                        shape = inp.spec.shape[:dim] + (smaller,) + inp.spec.shape[dim + 1 :]
                        yield reduce.reshape_input(self.current, inp.name, shape)

    def _dense_layouts(self) -> Iterator[Graph | None]:
        for inp in self.current.inputs:
            yield reduce.make_dense(self.current, inp.name)
            yield reduce.drop_offset(self.current, inp.name)

    def _float32(self) -> Iterator[Graph | None]:
        for inp in self.current.inputs:
            if isinstance(inp.spec, TensorSpec) and inp.spec.dtype.is_floating_point:
                yield reduce.retype_input(self.current, inp.name, torch.float32)

    def _default_attrs(self) -> Iterator[Graph | None]:
        for node in self.current.nodes:
            for attrs in reduce.default_attrs(self.current, node.name):
                yield reduce.set_attrs(self.current, node.name, attrs)

    def _simple_values(self) -> Iterator[Graph | None]:
        values = None
        for index, inp in enumerate(self.current.inputs):
            count = inp.spec.numel if isinstance(inp.spec, TensorSpec) else 1
            if count > LITERAL_LIMIT:
                continue
            if values is None:
                values = make_inputs(self.current, self.seed)
            value = values[index]
            current = value.flatten().tolist() if isinstance(value, torch.Tensor) else [value]
            for simpler in (
                [type(v)(0) for v in current],
                [float(round(v)) if isinstance(v, float) else v for v in current],
                current,  # as literals: no cheaper, but makes the repro self-contained
            ):
                yield reduce.set_values(self.current, inp.name, simpler)

    PASSES = (
        ("isolate_hinted", _isolate_hinted),
        ("prefix", _prefixes),
        ("isolate", _isolate),
        ("drop_output", _drop_outputs),
        ("truncate", _truncate),
        ("cut_node", _cut_nodes),
        ("forward_node", _forward_nodes),
        ("shrink_shape", _shrink_shapes),
        ("dense_layout", _dense_layouts),
        ("float32", _float32),
        ("default_attr", _default_attrs),
        ("simple_values", _simple_values),
    )

    def _run_pass(
        self, name: str, candidates: Callable[[Minimizer], Iterator[Graph | None]]
    ) -> bool:
        """Apply the pass greedily: restart it after each accepted candidate."""
        progressed = False
        while True:
            for candidate in candidates(self):
                if self.consider(candidate, name):
                    progressed = True
                    break
            else:
                return progressed

    def run(self) -> Graph:
        """Reduce to a fixpoint (no pass can make the graph smaller while it still fails),
        or until the budget runs out or the runner is killed: the smallest graph so far."""
        start = time.perf_counter()
        if self.max_seconds is not None:
            self._deadline = time.monotonic() + self.max_seconds
        self.current = reduce.eliminate_dead(self.current)
        try:
            while any([self._run_pass(name, fn) for name, fn in self.passes]):
                if self.stats.stopped:
                    break
        except RunnerKilled:
            log.warning("minimization interrupted; keeping %d nodes", len(self.current))
            self.stats.stopped = "interrupted"
        self.stats.seconds = time.perf_counter() - start
        return self.current


# The passes that remove nodes (the others shrink shapes, layouts, dtypes and values).
NODE_PASSES = frozenset(
    {"isolate_hinted", "prefix", "isolate", "drop_output", "truncate", "cut_node", "forward_node"}
)


class NothingToMinimize(ValueError):
    """The case does not fail under the variant, so there is no failure to preserve."""


def run_signature(
    graph: Graph, seed: int, variant: Variant, runner: IsolatedRunner | None, timeout: float | None
) -> Signature | None:
    """The failure signature of one run: in-process, or in an isolated worker (which also
    turns a killed or hung run into a signature)."""
    if runner is None:
        return failure_signature(check(graph, seed, [variant]))
    result = runner.run(Case(graph, seed), [variant], timeout)
    if result.outcome is not None:
        return failure_signature(result.outcome)
    return result.signature()


@dataclass
class MinimizeResult:
    graph: Graph
    signature: Signature
    stats: MinimizeStats
    original_nodes: int


def minimize_case(
    graph: Graph,
    seed: int,
    variant: Variant,
    runner: IsolatedRunner | None = None,
    timeout: float | None = None,
    max_candidates: int = 5000,
    confirm: int = 1,
    max_seconds: float | None = None,
    hints: frozenset[str] = frozenset(),
    nodes_only: bool = False,
) -> MinimizeResult:
    """Reduce a failing program while it fails with the same signature under `variant`,
    within ``max_candidates`` runs and ``max_seconds`` (each run within ``timeout``);
    ``nodes_only`` stops once no node can go (sizes, layouts and values stay)."""
    target = run_signature(graph, seed, variant, runner, timeout)
    if target is None:
        raise NothingToMinimize(f"seed {seed} does not fail under variant {variant.name}")

    def same_failure(candidate: Graph) -> bool:
        return run_signature(candidate, seed, variant, runner, timeout) == target

    minimizer = Minimizer(graph, seed, same_failure, max_candidates, confirm, max_seconds, hints)
    reduced = minimizer.run()
    return MinimizeResult(reduced, target, minimizer.stats, len(graph))
