"""Recompute every node's spec after a graph's inputs or attributes changed (used when
resizing a program and by the minimizer's shape and dtype moves)."""

from __future__ import annotations

from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import InferenceError


def respecify(graph: Graph) -> Graph | None:
    """Recompute every node's spec from PyTorch, in order, after inputs or attributes changed.

    None when PyTorch rejects a node or a node would change between tensor and scalar.
    """
    result = graph.copy()
    for node in result.nodes:
        try:
            spec = infer_spec(node.op, [result.spec(i) for i in node.inputs], node.attr_map)
        except InferenceError:
            return None
        if type(spec) is not type(node.spec):
            return None
        result.replace_node(node.name, spec=spec)
    return result
