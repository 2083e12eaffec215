"""Blame upstream when the first diverging node is right on its own: an amplified error.

The first node whose value diverges may only amplify an error an earlier node made within
tolerance: a broadcast ``mul`` 1 % off in bfloat16 passes at the ``mul`` (bfloat16's
tolerance is 1.6 %) and shows after a ``cos`` downstream, so localization names the ``cos``.
:func:`upstream_culprit` asks the culprit node *alone*, fed eager's values of its operands
(:func:`torchfuzz.passes.isolate.isolate`).  When that passes, the node computes right what it
is given, and the divergence came from its operands: the nearest ancestor that fails alone
is the culprit — as it is, or with its half-precision floats raised to float32
(:func:`raise_half`), where a relative error the half tolerance hides shows.  When no
ancestor fails alone (a bug that needs the fusion with its neighbours, say), the node stays
the culprit.
"""

from __future__ import annotations

import logging

import networkx as nx
import torch

from torchfuzz.backends.oracle import DEFAULT_POLICY, ComparisonPolicy
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.runner import check, node_values
from torchfuzz.backends.variants import Variant
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import Trait
from torchfuzz.passes.isolate import isolate
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


def upstream_culprit(
    graph: Graph,
    node: str,
    seed: int,
    variant: Variant,
    policy: ComparisonPolicy = DEFAULT_POLICY,
    limit: int = 8,
) -> tuple[str, Graph] | None:
    """The ancestor of ``node`` to blame instead (see the module docstring) and the
    program that shows it failing alone; None when ``node`` fails alone, or no ancestor
    among the ``limit`` nearest does."""

    def fails(program: Graph) -> bool:  # no results: eager fails or is not reproducible
        results = check(program, seed, (variant,), policy).results
        return bool(results) and results[0].kind is OutcomeKind.MISMATCH

    values = node_values(graph, seed)
    alone = isolate(graph, node, values)
    if alone is None or fails(alone):
        return None
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
            if candidate is not None and fails(candidate):
                log.debug("%s is right alone; %s fails alone: blamed", node, name)
                return name, candidate
    return None
