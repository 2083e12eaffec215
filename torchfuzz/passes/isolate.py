"""Cutting a program down around one node: its prefix, or the node alone on literal operands.

Pure functions `Graph -> Graph | None` shared by the minimizer's moves
(:mod:`torchfuzz.shrink.moves`) and triage (:mod:`torchfuzz.backends.amplified`).
"""

from __future__ import annotations

from typing import Any

from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes.dce import DeadCodeElimination

_DCE = DeadCodeElimination(remove_unused_inputs=True)


def eliminate_dead(graph: Graph) -> Graph:
    """Drop nodes and inputs that no output needs."""
    return _DCE.run(graph).graph


def prefix(graph: Graph, node: str) -> Graph | None:
    """The program up to `node`, with `node` its only output (None when it already is)."""
    if graph.is_input(node) or tuple(graph.outputs) == (node,):
        return None
    result = graph.copy()
    result.set_outputs((node,))
    return eliminate_dead(result)


def cut_to_input(graph: Graph, node: str, value: Any) -> Graph:
    """Replace `node` by a new graph input holding its concrete `value`, so everything only
    it needed disappears (the FX minifier's main move)."""
    result = graph.copy()
    spec = graph.spec(node)
    data = tuple(value.flatten().tolist()) if isinstance(spec, TensorSpec) else (value,)
    name = result.add_input(spec, data=data)
    result.replace_all_uses_with(node, name)
    return eliminate_dead(result)


def isolate(graph: Graph, node: str, values: dict[str, Any]) -> Graph | None:
    """`node` alone: its prefix with every operand node cut to an input holding its value
    (`values`, as the node saw it); None for an input or a node that is alone already."""
    if graph.is_input(node):
        return None
    result = prefix(graph, node) or graph
    for operand in dict.fromkeys(graph.node(node).inputs):
        if not graph.is_input(operand) and operand in {n.name for n in result.nodes}:
            result = cut_to_input(result, operand, values[operand])
    return None if len(result) == len(graph) and result.outputs == graph.outputs else result
