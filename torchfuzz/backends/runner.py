"""Check a program: run it eagerly and under each compile variant, judge every output.

The verdict procedure (determinism gate, fp64 reference, baselines, comparison, the
confirmation runs) is :func:`torchfuzz.backends.judge.judge`, the very code the standalone
scripts embed; this module describes a :class:`~torchfuzz.ir.graph.Graph` and seed to it as
a :class:`~torchfuzz.backends.judge.Subject` and compiles with
:func:`~torchfuzz.backends.variants.run_compiled_calls`, which names the crash stage.

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

import logging
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import torch

from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.judge import Subject, evaluate, judge, reference_values
from torchfuzz.backends.judge import _widen as widen  # the reference's own input widening
from torchfuzz.backends.lowering import lower_to_fx, to_fx
from torchfuzz.backends.module_state import state_gradient_names
from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy
from torchfuzz.backends.outcome import Outcome
from torchfuzz.backends.structure import one_graph
from torchfuzz.backends.variant_spec import load_variants, parse_variant
from torchfuzz.backends.variants import (
    DEFAULT_VARIANTS,
    CompiledRun,
    Variant,
    run_compiled_calls,
)
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import evaluate_nodes
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes.resize import marked_dims, resize
from torchfuzz.passes.widen import widen_floats

log = logging.getLogger(__name__)


def written_positions(graph: Graph) -> tuple[int, ...]:
    """Positions of the inputs the program writes in place (``Graph.mutated_inputs``)."""
    written = set(graph.mutated_inputs())
    return tuple(i for i, inp in enumerate(graph.inputs) if inp.name in written)


def written_values(graph: Graph, inputs: Sequence[object]) -> tuple:
    """The values of the inputs the program writes in place (``Graph.mutated_inputs``),
    read from ``inputs`` (after the call)."""
    return tuple(inputs[i] for i in written_positions(graph))


def _precision(dtype: torch.dtype) -> float:
    return torch.finfo(dtype.to_real()).eps


def coarsest_float(graph: Graph, name: str, dag: nx.MultiDiGraph) -> torch.dtype | None:
    """The least precise floating or complex tensor dtype among value ``name`` and the
    values it is computed from (``dag``: ``graph.to_networkx()``), or None."""
    floats = [
        graph.spec(v).dtype
        for v in (name, *nx.ancestors(dag, name))
        if isinstance(graph.spec(v), TensorSpec)
        and (graph.spec(v).dtype.is_floating_point or graph.spec(v).dtype.is_complex)
    ]
    return max(floats, key=_precision, default=None)


def computed_in(graph: Graph) -> tuple[torch.dtype | None, ...]:
    """Per output, the least precise floating dtype among the values it is computed from
    when that is less precise than the output itself (a bfloat16 result cast to float64 is
    judged with bfloat16's tolerance, not float64's), else None."""
    dag = graph.to_networkx()
    found: list[torch.dtype | None] = []
    for name in graph.outputs:
        coarsest = coarsest_float(graph, name, dag)
        own = graph.spec(name).dtype
        own_eps = _precision(own) if own.is_floating_point or own.is_complex else 0.0
        if coarsest is not None and _precision(coarsest) > own_eps:
            found.append(coarsest.to_real())
        else:
            found.append(None)
    return tuple(found)


def program(graph: Graph, seed: int) -> torch.fx.GraphModule:
    """The program called with the inputs of `seed`: its modules hold those inputs' values."""
    return to_fx(graph, make_inputs(graph, seed))


def reference_program(graph: Graph, seed: int) -> torch.fx.GraphModule:
    """The float64 program, its modules holding the widened inputs of `seed` (as the
    reference is called with them: :func:`~torchfuzz.backends.judge.reference_values`)."""
    return to_fx(widen_floats(graph), [widen(x) for x in make_inputs(graph, seed)])


def run_eager(graph: Graph, seed: int, backward: bool = False) -> tuple:
    """The program's outputs in eager mode, then (``backward``) its input gradients, then
    the values of the inputs it writes in place, after the call."""
    fn = program(graph, seed)
    return evaluate(fn, make_inputs(graph, seed), backward, written_positions(graph))


def run_reference(graph: Graph, seed: int, backward: bool = False) -> tuple | None:
    """What :func:`run_eager` returns, computed in float64 from the same input values;
    None when float64 cannot run it."""
    fn = reference_program(graph, seed)
    return reference_values(fn, make_inputs(graph, seed), backward, written_positions(graph))


def gradient_names(graph: Graph) -> tuple[str, ...]:
    """What gets a gradient in a backward variant, in order: the floating-point inputs,
    then the floating-point parameters of the program's modules."""
    inputs = tuple(
        inp.name
        for inp in graph.inputs
        if isinstance(inp.spec, TensorSpec) and inp.spec.dtype.is_floating_point
    )
    return inputs + state_gradient_names(lower_to_fx(graph))


def subject(graph: Graph, seed: int, variants: Sequence[Variant] = ()) -> Subject:
    """The program and its inputs as the judge sees them; the resized inputs and marked
    dims are worked out only when one of ``variants`` needs them."""
    resized = resize(graph, seed) if any(v.recompile for v in variants) else None
    unbroken = one_graph(graph)
    return Subject(
        program=lambda: program(graph, seed),
        reference=lambda: reference_program(graph, seed),
        make_inputs=lambda: make_inputs(graph, seed),
        make_resized_inputs=None if resized is None else lambda: make_inputs(resized, seed),
        outputs=len(graph.outputs),
        written=written_positions(graph),
        written_names=graph.mutated_inputs(),
        # Named for backward variants only (the judge reads them for those alone).
        gradients_of=gradient_names(graph) if any(v.backward for v in variants) else (),
        computed_in=computed_in(graph),
        marked=marked_dims(graph, seed) if any(v.mark_dynamic for v in variants) else (),
        one_graph=None if unbroken is graph else lambda: program(unbroken, seed),
    )


def resolve_variants(names: Sequence[str] | None, backend: str | None) -> tuple[Variant, ...]:
    """Variants by preset name or spec (`inductor,fullgraph=true`; a `.toml` entry is a file
    of them: :mod:`~torchfuzz.backends.variant_spec`), with the user's backend replacing
    Inductor in each."""
    variants: list[Variant] = []
    for name in names or DEFAULT_VARIANTS:
        if name.endswith(".toml"):
            variants += load_variants(Path(name))
        else:
            variants.append(parse_variant(name))
    return tuple(v.with_backend(backend) for v in variants) if backend else tuple(variants)


def _compile_and_call(
    fn: torch.fx.GraphModule,
    calls: Sequence[Sequence[object]],
    variant: Variant,
    marked: Sequence[Sequence[int]],
) -> CompiledRun:
    return run_compiled_calls(fn, calls, variant, marked)


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
    return judge(subject(graph, seed, variants), variants, _compile_and_call, policy)


def node_values(graph: Graph, seed: int) -> dict[str, object]:
    """The concrete value of every input and node in eager mode (a value an in-place node
    writes later is recorded as it was before the write)."""
    return evaluate_nodes(graph, make_inputs(graph, seed), clone_written=True)
