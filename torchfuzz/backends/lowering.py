"""The one lowering, IR -> torch.fx.Graph, that both backends start from."""

from __future__ import annotations

import operator
from typing import Any

import torch.fx

from torchfuzz.ir.graph import Graph
from torchfuzz.ir.infer import call_args, write_in_place
from torchfuzz.ir.ops.base import Trait


def lower_to_fx(graph: Graph) -> torch.fx.Graph:
    """An FX graph computing the program: one placeholder per input, one call per node
    (plus `getitem` for ops that select from a list result, and the view an in-place node
    writes through), constants inlined as literals."""
    fx_graph = torch.fx.Graph()
    env: dict[str, Any] = {}

    def record(target: Any, args: tuple, kwargs: dict[str, Any]) -> torch.fx.Node:
        return fx_graph.call_function(target, args, kwargs)

    for inp in graph.inputs:
        env[inp.name] = fx_graph.placeholder(inp.name)
    for node in graph.nodes:
        attrs = node.attr_map
        if node.op.has(Trait.CONSTANT):
            env[node.name] = attrs["value"]
            continue
        if node.op.mutates is not None:
            # The view (if any) and the in-place call; later readers read the written base.
            env[node.name] = write_in_place(node.op, [env[i] for i in node.inputs], attrs, record)
            continue
        args, kwargs = call_args(node.op, [env[i] for i in node.inputs], attrs)
        if node.op.select is None:
            env[node.name] = fx_graph.call_function(node.op.target, args, kwargs, name=node.name)
        else:
            result = fx_graph.call_function(node.op.target, args, kwargs)
            env[node.name] = fx_graph.call_function(
                operator.getitem, (result, attrs[node.op.select]), name=node.name
            )
    fx_graph.output(tuple(env[name] for name in graph.outputs))
    fx_graph.lint()
    return fx_graph


def to_fx(graph: Graph) -> torch.fx.GraphModule:
    """An in-memory GraphModule of the program; call it with the inputs, get a tuple back."""
    return torch.fx.GraphModule(torch.nn.Module(), lower_to_fx(graph), class_name="Program")
