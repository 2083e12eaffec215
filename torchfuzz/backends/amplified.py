"""Blame upstream when the first diverging node is right on its own: an amplified error.

The first node whose value diverges may only amplify an error an earlier node made within
tolerance: a broadcast ``mul`` 1 % off in bfloat16 passes at the ``mul`` (bfloat16's
tolerance is 1.6 %) and shows after a ``cos`` downstream, so localization names the ``cos``.
:func:`blame` asks the culprit node *alone*, fed eager's values of its operands
(:func:`torchfuzz.passes.isolate.isolate`).  When that passes, the node computes right what it
is given, and the divergence came from its operands: the nearest ancestor that fails alone
is the culprit — as it is, or with its half-precision floats raised to float32
(:func:`raise_half`), where a relative error the half tolerance hides shows.  When no
ancestor fails alone (a bug that needs the fusion with its neighbours, say), the node stays
the culprit — unless the node computes, under the variant, what eager computes from the
values its operands have in the compiled program (:func:`amplified`): then no node is
wrong beyond tolerance, and a difference within tolerance was only amplified (a ``round``
of a float16 value one ulp from a half-way point, a comparison, a cast to an integer), which
is no bug: the finding is put apart (:data:`~torchfuzz.backends.signature.AMPLIFIED`).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

import networkx as nx
import torch

from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy, compare_outputs
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.runner import check, node_values, run_eager, subject
from torchfuzz.backends.variants import Variant, run_compiled_calls
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import Trait
from torchfuzz.passes.isolate import eliminate_dead, isolate
from torchfuzz.passes.widen import retype

log = logging.getLogger(__name__)

_HALF = (torch.float16, torch.bfloat16)


def _raised(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in _HALF else dtype


def raise_half(graph: Graph) -> Graph | None:
    """A copy with float16 and bfloat16 (inputs, results, dtype attributes) made float32;
    None when there are none.  Declared specs are not re-validated: only values are used."""
    raised = retype(graph, _raised)
    return None if raised == graph else raised


class Verdict(str, enum.Enum):
    """Why the first diverging node of a program diverges (see the module docstring)."""

    ALONE = "alone"  # it fails alone, fed eager's values of its operands: the culprit
    UPSTREAM = "upstream"  # right alone; an ancestor fails alone: that one is the culprit
    AMPLIFIED = "amplified"  # right alone and right on the compiled operands: no bug
    UNEXPLAINED = "unexplained"  # right alone, nothing else shows: it stays the culprit


@dataclass(frozen=True, slots=True)
class Blame:
    """The node to blame (``node``: the diverging one, or the ancestor of ``UPSTREAM``),
    why, and for ``UPSTREAM`` the program that shows the ancestor failing alone."""

    verdict: Verdict
    node: str
    witness: Graph | None = None


def blame(
    graph: Graph,
    node: str,
    seed: int,
    variant: Variant,
    policy: ComparisonPolicy = DEFAULT_POLICY,
    limit: int = 8,
) -> Blame:
    """Whom to blame for the divergence of ``node``, the first diverging node of ``graph``
    under ``variant``; see the module docstring.  ``limit``: the nearest ancestors asked."""
    values = node_values(graph, seed)
    alone = isolate(graph, node, values)
    judged = None if alone is None else _judged(alone, seed, variant, policy)
    if alone is None or judged is OutcomeKind.MISMATCH:
        return Blame(Verdict.ALONE, node)
    ancestors = nx.ancestors(graph.to_networkx(), node)
    nearest = [
        n.name
        for n in reversed(graph.nodes)
        if n.name in ancestors and not n.op.has(Trait.CONSTANT)
    ][:limit]
    for name in nearest:
        program = isolate(graph, name, values)
        if program is None:
            continue
        for candidate in (program, raise_half(program)):
            if candidate is not None and _fails(candidate, seed, variant, policy):
                log.debug("%s is right alone; %s fails alone: blamed", node, name)
                return Blame(Verdict.UPSTREAM, name, candidate)
    # No bug only on positive evidence: the node judged right alone (not merely unjudged).
    if judged is OutcomeKind.OK and amplified(graph, node, seed, variant, policy, values):
        return Blame(Verdict.AMPLIFIED, node)
    return Blame(Verdict.UNEXPLAINED, node)


def _judged(
    program: Graph, seed: int, variant: Variant, policy: ComparisonPolicy
) -> OutcomeKind | None:
    """The judge's verdict on ``program`` under ``variant``; None when it gives none
    (eager fails or is not reproducible: no evidence either way)."""
    results = check(program, seed, (variant,), policy).results
    return results[0].kind if results else None


def _fails(program: Graph, seed: int, variant: Variant, policy: ComparisonPolicy) -> bool:
    return _judged(program, seed, variant, policy) is OutcomeKind.MISMATCH


def amplified(
    graph: Graph,
    node: str,
    seed: int,
    variant: Variant,
    policy: ComparisonPolicy = DEFAULT_POLICY,
    values: dict[str, object] | None = None,
) -> bool:
    """Whether the divergence of ``node`` is a difference of its operands within
    tolerance, amplified by it: in the program that ends at ``node`` and also returns its
    operands, compiled under ``variant``, the node's value differs from eager's but agrees
    with what eager computes from the compiled values of its operands.

    False whenever the evidence is not clean: a variant that judges more than forward
    values (backward, recompile, marked dims), an in-place write before the node, operands
    that are all inputs (their values are eager's), a compiled run that crashes, skips or
    does not show the divergence.  ``values``: eager's values of the nodes
    (:func:`~torchfuzz.backends.runner.node_values`), when the caller has them."""
    if variant.backward or variant.recompile or variant.mark_dynamic:
        return False
    operands = [
        name
        for name in dict.fromkeys(graph.node(node).inputs)
        if not graph.is_input(name) and not graph.node(name).op.has(Trait.CONSTANT)
    ]
    ending = graph.copy()
    ending.set_outputs((*operands, node))
    ending = eliminate_dead(ending)
    if not operands or any(n.op.mutates is not None for n in ending.nodes):
        return False
    fn = subject(ending, seed, (variant,)).compiled_program(variant)  # as check() compiles it
    run = run_compiled_calls(fn, [make_inputs(ending, seed)], variant)
    if run.crash is not None or run.skip or not run.calls:
        return False
    *compiled_operands, compiled = run.calls[0]
    values = dict(node_values(graph, seed) if values is None else values)
    if not compare_outputs([values[node]], [compiled], None, policy):
        return False  # this program does not show the divergence: no evidence
    values.update(zip(operands, compiled_operands))
    alone = isolate(graph, node, values)
    if alone is None:
        return False
    try:
        followed = run_eager(alone, seed)[0]
    except RuntimeError as exc:  # eager rejects the compiled values (say, overlapping)
        log.debug("%s: eager cannot run on the compiled operands: %s", node, exc)
        return False
    found = not compare_outputs([followed], [compiled], None, policy)
    if found:
        log.debug("%s computes right from its compiled operands: amplified", node)
    return found
