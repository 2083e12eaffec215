"""Check a program: run it eagerly and under each compile variant, judge every output.

A backward variant is judged by the same rule on more values: the outputs followed by
the input gradients (:mod:`torchfuzz.backends.gradients`), computed the same way in
eager, in float64 and compiled.  It is ``SKIPPED`` when eager cannot differentiate the
program (no output requires grad, or eager's backward raises or is not reproducible).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from torchfuzz.backends.gradients import differentiable_outputs, with_gradients
from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.lowering import to_fx
from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy, compare_outputs
from torchfuzz.backends.outcome import Outcome, OutcomeKind, VariantResult
from torchfuzz.backends.variants import DEFAULT_VARIANTS, Variant, get_variant, run_compiled
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes.infer import apply_op
from torchfuzz.passes.widen import widen_floats

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


def _evaluate(fn: torch.fx.GraphModule, inputs: list, backward: bool) -> tuple:
    if not backward:
        return fn(*inputs)
    outputs, grads = with_gradients(fn, inputs)
    return outputs + grads


def run_eager(graph: Graph, seed: int, backward: bool = False) -> tuple:
    """The program's outputs in eager mode, then (``backward``) its input gradients."""
    return _evaluate(to_fx(graph), make_inputs(graph, seed), backward)


def run_reference(graph: Graph, seed: int, backward: bool = False) -> tuple | None:
    """What :func:`run_eager` returns, computed in float64 from the same input values;
    None when float64 cannot run it."""
    wide = widen_floats(graph)
    inputs = [
        x.to(torch.float64) if isinstance(x, torch.Tensor) and x.dtype.is_floating_point else x
        for x in make_inputs(graph, seed)
    ]
    try:
        with default_dtype(torch.float64):
            return _evaluate(to_fx(wide), inputs, backward)
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


def _backward_baseline(graph: Graph, seed: int, outputs: int) -> _Baseline:
    try:
        eager = run_eager(graph, seed, backward=True)
        again = run_eager(graph, seed, backward=True)
    except Exception as exc:  # e.g. an op without a derivative: not the compiler's fault
        first_line = next(iter(str(exc).strip().splitlines()), "")
        return _Baseline(skip=f"eager backward failed: {type(exc).__name__}: {first_line}")
    if not differentiable_outputs(eager[:outputs]):
        return _Baseline(skip="no output requires grad")
    if not all(map(_identical, eager, again)):
        return _Baseline(skip="eager backward is not bit-reproducible")
    return _Baseline(eager, run_reference(graph, seed, backward=True))


def resolve_variants(names: Sequence[str] | None, backend: str | None) -> tuple[Variant, ...]:
    """Variants by name, with the user's backend replacing Inductor in each."""
    variants = tuple(get_variant(n) for n in (names or DEFAULT_VARIANTS))
    return tuple(v.with_backend(backend) for v in variants) if backend else variants


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
    baselines = {False: _Baseline(eager, run_reference(graph, seed))}
    if any(v.backward for v in variants):
        baselines[True] = _backward_baseline(graph, seed, len(eager))
    results = []
    for variant in variants:
        baseline = baselines[variant.backward]
        if baseline.skip:
            results.append(VariantResult(variant.name, OutcomeKind.SKIPPED, reason=baseline.skip))
            continue
        start = time.perf_counter()
        outputs, crash = run_compiled(to_fx(graph), make_inputs(graph, seed), variant)
        seconds = time.perf_counter() - start
        if crash is not None:
            results.append(
                VariantResult(variant.name, OutcomeKind.CRASH, crash=crash, seconds=seconds)
            )
            continue
        outputs = tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs,)
        gradients_of = gradient_names(graph) if variant.backward else ()
        mismatches = compare_outputs(
            baseline.eager, outputs, baseline.reference, policy, gradients_of
        )
        kind = OutcomeKind.MISMATCH if mismatches else OutcomeKind.OK
        results.append(VariantResult(variant.name, kind, mismatches=mismatches, seconds=seconds))
    if any(r.kind is OutcomeKind.MISMATCH for r in results) and not _reproducible(
        graph, seed, eager
    ):
        # Eager that is only sometimes nondeterministic (seen: garbage read under memory
        # reuse) can pass the two-run gate; a wrong answer is confirmed before it is reported.
        return Outcome(OutcomeKind.SKIPPED, reason="eager is not bit-reproducible")
    return Outcome.from_results(tuple(results))


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
            env[node.name] = apply_op(node.op, [env[i] for i in node.inputs], attrs)
    return env
