"""The graph as Graphviz DOT text (pydot); rendering to PNG needs Graphviz's `dot`."""

from __future__ import annotations

import pydot

from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import ANY


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped + '"'


def to_pydot(graph: Graph) -> pydot.Dot:
    """Inputs as ellipses, ops as boxes, outputs drawn with a double border."""
    dot = pydot.Dot("program", graph_type="digraph", rankdir="TB")
    outputs = set(graph.outputs)
    for inp in graph.inputs:
        label = f"{inp.name}: {inp.spec}" + ("" if inp.domain == ANY else f"\n{inp.domain}")
        dot.add_node(pydot.Node(inp.name, label=_quote(label), shape="ellipse"))
    for node in graph.nodes:
        label = f"{node.name}: {node.op.name}\n{node.spec}"
        peripheries = 2 if node.name in outputs else 1
        dot.add_node(
            pydot.Node(node.name, label=_quote(label), shape="box", peripheries=peripheries)
        )
        for position, arg in enumerate(node.inputs):
            dot.add_edge(pydot.Edge(arg, node.name, label=_quote(str(position))))
    return dot


def to_dot(graph: Graph) -> str:
    """DOT text of the graph."""
    return to_pydot(graph).to_string()
