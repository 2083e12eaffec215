"""Check a program: run it eagerly and under each compile variant, judge every output.

A backward variant is judged by the same rule on more values: the outputs followed by
the input gradients (:mod:`torchfuzz.backends.gradients`), computed the same way in
eager, in float64 and compiled.  It is ``SKIPPED`` when eager cannot differentiate the
program (no output requires grad, or eager's backward raises or is not reproducible).

Every evaluation (eager, fp64 reference, compiled; forward or backward) ends with the
values of the inputs the program writes in place (``Graph.mutated_inputs``), read from
the tensors it was called with after the call, so a compiled program that forgets or
misplaces an input mutation mismatches (``Mismatch.written_input``).

A ``mark_dynamic`` variant marks the dims :func:`~torchfuzz.passes.resize.marked_dims`
chooses; a program that specializes one of them is ``SKIPPED`` (see
:func:`~torchfuzz.backends.variants.run_compiled_calls`).  A ``recompile`` variant calls
the compiled program (of the original graph) again on the inputs of
:func:`~torchfuzz.passes.resize.resize`'s graph and judges that call against eager and
fp64 runs of the same code on the same inputs (``Mismatch.second_call``); it is
``SKIPPED`` when no size can grow or eager rejects the resized inputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import networkx as nx
import torch

from torchfuzz.backends.gradients import differentiable_outputs, with_gradients
from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.lowering import to_fx
from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy, compare_outputs
from torchfuzz.backends.outcome import Mismatch, Outcome, OutcomeKind, VariantResult
from torchfuzz.backends.variants import (
    DEFAULT_VARIANTS,
    Variant,
    get_variant,
    run_compiled_calls,
)
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import apply_op
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes.resize import marked_dims, resize
from torchfuzz.passes.widen import widen_dtype, widen_floats

log = logging.getLogger(__name__)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _identical(a: object, b: object) -> bool:
    """Bitwise the same, NaNs included."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.is_floating_point:
            both_nan = torch.isnan(a) & torch.isnan(b)
            return bool(torch.where(both_nan, True, a == b).all())
        return torch.equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    return type(a) is type(b) and a == b


def _as_tuple(values: object) -> tuple:
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def _evaluate(fn: torch.fx.GraphModule, inputs: list, backward: bool, graph: Graph) -> tuple:
    if not backward:
        values = _as_tuple(fn(*inputs))
    else:
        outputs, grads = with_gradients(fn, inputs)
        values = outputs + grads
    return values + written_values(graph, inputs)


def written_values(graph: Graph, inputs: Sequence[object]) -> tuple:
    """The values of the inputs the program writes in place (``Graph.mutated_inputs``),
    read from ``inputs`` (after the call)."""
    written = set(graph.mutated_inputs())
    return tuple(x for inp, x in zip(graph.inputs, inputs) if inp.name in written)


def _precision(dtype: torch.dtype) -> float:
    return torch.finfo(dtype.to_real()).eps


def computed_in(graph: Graph) -> tuple[torch.dtype | None, ...]:
    """Per output, the least precise floating dtype among the values it is computed from
    when that is less precise than the output itself (a bfloat16 result cast to float64 is
    judged with bfloat16's tolerance, not float64's), else None."""
    dag = graph.to_networkx()
    found: list[torch.dtype | None] = []
    for name in graph.outputs:
        floats = [
            graph.spec(v).dtype
            for v in (name, *nx.ancestors(dag, name))
            if isinstance(graph.spec(v), TensorSpec)
            and (graph.spec(v).dtype.is_floating_point or graph.spec(v).dtype.is_complex)
        ]
        coarsest = max(floats, key=_precision, default=None)
        own = graph.spec(name).dtype
        own_eps = _precision(own) if own.is_floating_point or own.is_complex else 0.0
        if coarsest is not None and _precision(coarsest) > own_eps:
            found.append(coarsest.to_real())
        else:
            found.append(None)
    return tuple(found)


def run_eager(graph: Graph, seed: int, backward: bool = False) -> tuple:
    """The program's outputs in eager mode, then (``backward``) its input gradients, then
    the values of the inputs it writes in place, after the call."""
    return _evaluate(to_fx(graph), make_inputs(graph, seed), backward, graph)


def run_reference(graph: Graph, seed: int, backward: bool = False) -> tuple | None:
    """What :func:`run_eager` returns, computed in float64 from the same input values;
    None when float64 cannot run it."""
    wide = widen_floats(graph)
    inputs = [
        x.to(widen_dtype(x.dtype)) if isinstance(x, torch.Tensor) else x
        for x in make_inputs(graph, seed)
    ]
    try:
        with default_dtype(torch.float64):
            return _evaluate(to_fx(wide), inputs, backward, graph)
    except Exception as exc:  # some op lacks a float64 kernel: judge against eager alone
        log.info("no fp64 reference: %s: %s", type(exc).__name__, exc)
        return None


def gradient_names(graph: Graph) -> tuple[str, ...]:
    """The inputs that get a gradient in a backward variant, in order."""
    return tuple(
        inp.name
        for inp in graph.inputs
        if isinstance(inp.spec, TensorSpec) and inp.spec.dtype.is_floating_point
    )


@dataclass(frozen=True, slots=True)
class _Baseline:
    """What compiled results are judged against in one mode (forward, or backward)."""

    eager: tuple = ()
    reference: tuple | None = None
    skip: str = ""  # why this mode cannot be judged


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {next(iter(str(exc).strip().splitlines()), '')}"


def _forward_baseline(graph: Graph, seed: int) -> _Baseline:
    try:
        eager = run_eager(graph, seed)
        again = run_eager(graph, seed)
    except Exception as exc:  # e.g. a resized program PyTorch's meta functions let through
        return _Baseline(skip=f"eager failed: {_first_line(exc)}")
    if not all(map(_identical, eager, again)):
        return _Baseline(skip="eager is not bit-reproducible")
    return _Baseline(eager, run_reference(graph, seed))


def _backward_baseline(graph: Graph, seed: int) -> _Baseline:
    try:
        eager = run_eager(graph, seed, backward=True)
        again = run_eager(graph, seed, backward=True)
    except Exception as exc:  # e.g. an op without a derivative: not the compiler's fault
        return _Baseline(skip=f"eager backward failed: {_first_line(exc)}")
    if not differentiable_outputs(eager[: len(graph.outputs)]):
        return _Baseline(skip="no output requires grad")
    if not all(map(_identical, eager, again)):
        return _Baseline(skip="eager backward is not bit-reproducible")
    return _Baseline(eager, run_reference(graph, seed, backward=True))


def resolve_variants(names: Sequence[str] | None, backend: str | None) -> tuple[Variant, ...]:
    """Variants by name, with the user's backend replacing Inductor in each."""
    variants = tuple(get_variant(n) for n in (names or DEFAULT_VARIANTS))
    return tuple(v.with_backend(backend) for v in variants) if backend else variants


class _Judge:
    """Runs the variants of one program, computing each baseline (forward or backward, of
    the program or of its resized twin) once, when a variant first needs it."""

    def __init__(self, graph: Graph, seed: int, policy: ComparisonPolicy, eager: tuple) -> None:
        self.graph, self.seed, self.policy = graph, seed, policy
        self._baselines = {(False, False): _Baseline(eager, run_reference(graph, seed))}

    @functools.cached_property
    def resized(self) -> Graph | None:
        return resize(self.graph, self.seed)

    @functools.cached_property
    def marked(self) -> tuple[tuple[int, ...], ...]:
        return marked_dims(self.graph, self.seed)

    @functools.cached_property
    def precisions(self) -> tuple[torch.dtype | None, ...]:
        return computed_in(self.graph)

    def baseline(self, backward: bool, second: bool) -> _Baseline:
        key = (backward, second)
        if key not in self._baselines:
            graph = self.resized if second else self.graph
            if graph is None:
                baseline = _Baseline(skip="not resizable: no input size can grow")
            elif backward:
                baseline = _backward_baseline(graph, self.seed)
            else:
                baseline = _forward_baseline(graph, self.seed)
            if graph is not None and second and baseline.skip:
                baseline = _Baseline(skip=f"resized program: {baseline.skip}")
            self._baselines[key] = baseline
        return self._baselines[key]

    def run(self, variant: Variant) -> VariantResult:
        """The verdict of one variant: compiled once, called on the program's inputs and
        (a recompile variant) then on the resized program's inputs."""
        graphs = [self.graph, self.resized] if variant.recompile else [self.graph]
        baselines = [self.baseline(variant.backward, i == 1) for i in range(len(graphs))]
        skip = next((b.skip for b in baselines if b.skip), "")
        marked = self.marked if variant.mark_dynamic else ()
        if variant.mark_dynamic and not any(marked):
            skip = skip or "no input dim of size >= 2 to mark dynamic"
        if skip:
            return VariantResult(variant.name, OutcomeKind.SKIPPED, reason=skip)
        calls = [make_inputs(g, self.seed) for g in graphs if g is not None]
        start = time.perf_counter()
        run = run_compiled_calls(to_fx(self.graph), calls, variant, marked)
        seconds = time.perf_counter() - start
        if run.crash is not None:
            return VariantResult(variant.name, OutcomeKind.CRASH, crash=run.crash, seconds=seconds)
        if run.skip:
            return VariantResult(variant.name, OutcomeKind.SKIPPED, reason=run.skip)
        gradients_of = gradient_names(self.graph) if variant.backward else ()
        written = self.graph.mutated_inputs()
        mismatches: list[Mismatch] = []
        for second, (values, inputs, base) in enumerate(zip(run.calls, calls, baselines)):
            values = _as_tuple(values) + written_values(self.graph, inputs)
            found = compare_outputs(
                base.eager,
                values,
                base.reference,
                self.policy,
                gradients_of,
                written,
                self.precisions,
            )
            mismatches += [dataclasses.replace(m, second_call=bool(second)) for m in found]
        kind = OutcomeKind.MISMATCH if mismatches else OutcomeKind.OK
        return VariantResult(variant.name, kind, mismatches=tuple(mismatches), seconds=seconds)

    def reproducible(self, results: Sequence[VariantResult]) -> bool:
        """Whether eager gives its baseline again, after other work: of the program, and of
        the resized program when a second call mismatched."""
        second = any(m.second_call for r in results for m in r.mismatches)
        pairs = [(self.graph, self._baselines[False, False].eager)]
        if second and self.resized is not None:
            pairs.append((self.resized, self.baseline(False, True).eager))
        return all(_reproducible(graph, self.seed, eager) for graph, eager in pairs)


def check(
    graph: Graph,
    seed: int,
    variants: Sequence[Variant] | None = None,
    policy: ComparisonPolicy = DEFAULT_POLICY,
) -> Outcome:
    """Run the program eagerly (twice, as a determinism gate), in float64, and under each
    variant on a fresh Dynamo state; return the verdict as a value.  Backward variants
    compare the outputs followed by the input gradients (see the module docstring)."""
    variants = tuple(variants) if variants is not None else resolve_variants(None, None)
    try:
        eager = run_eager(graph, seed)
        again = run_eager(graph, seed)
    except Exception as exc:
        return Outcome(OutcomeKind.INVALID, reason=f"eager failed: {type(exc).__name__}: {exc}")
    if len(eager) != len(again) or not all(map(_identical, eager, again)):
        return Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible")
    judge = _Judge(graph, seed, policy, eager)
    results = tuple(judge.run(variant) for variant in variants)
    if any(r.kind is OutcomeKind.MISMATCH for r in results) and not judge.reproducible(results):
        # Eager that is only sometimes nondeterministic (seen: garbage read under memory
        # reuse) can pass the two-run gate; a wrong answer is confirmed before it is reported.
        return Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible")
    return Outcome.from_results(results)


_CONFIRM_RUNS = 4  # extra eager runs before a mismatch is reported


def _reproducible(graph: Graph, seed: int, eager: tuple) -> bool:
    """Whether eager gives `eager` again, run after other work (allocations) happened."""
    for _ in range(_CONFIRM_RUNS):
        run_reference(graph, seed)  # other allocations in between, as in a campaign
        again = run_eager(graph, seed)
        if len(again) != len(eager) or not all(map(_identical, eager, again)):
            return False
    return True


def node_values(graph: Graph, seed: int) -> dict[str, object]:
    """The concrete value of every input and node in eager mode."""
    env: dict[str, object] = {
        inp.name: value for inp, value in zip(graph.inputs, make_inputs(graph, seed))
    }
    for node in graph.nodes:
        attrs = node.attr_map
        if node.op.has(Trait.CONSTANT):
            env[node.name] = attrs["value"]
        else:
            operands = [env[i] for i in node.inputs]
            if node.op.mutates is not None:  # recorded values stay as they were before the write
                operands[node.op.mutates] = operands[node.op.mutates].clone()
            env[node.name] = apply_op(node.op, operands, attrs)
    return env
