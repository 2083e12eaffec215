"""Make every value observable: a value no output keeps the information of becomes an output.

A generated program often launders a value through lossy ops (``round`` then a cast,
``fill``, ``var``, ``v - v``) before its outputs, so a compiler that computes that value
wrongly goes unnoticed (issue 11).  This pass walks the nodes from last to first; a node
whose value reaches no output along edges that keep it (:func:`torchfuzz.ir.information.keeps`)
becomes an extra output, and so do the values it keeps.  The lossy ops stay (they find real
bugs); their operands now also reach an output.

Constants (literals, not values) are not made outputs.  A value an in-place node writes
would hold the written value at the end, so the in-place node is made to write a copy of it
(a ``cast`` to its own dtype) and the value itself becomes the output.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph, Node
from torchfuzz.ir.information import observed, reach
from torchfuzz.ir.ops.base import Trait
from torchfuzz.ir.ops.scalar import CAST
from torchfuzz.passes.base import Pass, PassResult

log = logging.getLogger(__name__)


def _expose_written(graph: Graph, name: str, writer: Node) -> None:
    """Let in-place node ``writer`` write a copy of node ``name`` (a ``cast`` to its own
    dtype, right after it), so that ``name`` itself may be an output."""
    spec = graph.spec(name)
    attrs = (("dtype", spec.dtype),)
    copy_spec = infer_spec(CAST, [spec], dict(attrs))
    copy = graph.add_node(CAST, (name,), attrs, copy_spec, after=name)
    inputs = list(writer.inputs)
    inputs[writer.op.mutates] = copy
    graph.replace_node(writer.name, inputs=tuple(inputs))


def observe_values(graph: Graph) -> list[str]:
    """Make ``graph`` (edited in place) return every value whose information reaches no
    output; return the values made outputs, in program order."""
    seen = observed(graph)
    writers = {n.inputs[n.op.mutates]: n for n in graph.nodes if n.op.mutates is not None}
    extra: list[str] = []
    for node in reversed(graph.nodes):
        if node.name in seen or node.op.has(Trait.CONSTANT):
            continue
        if node.name in writers:
            _expose_written(graph, node.name, graph.node(writers[node.name].name))
        extra.append(node.name)
        reach(graph, [node.name], seen)
    extra.reverse()
    graph.set_outputs((*graph.outputs, *extra))
    return extra


@dataclass(frozen=True)
class ObserveValues(Pass):
    """Add an output for each value whose information reaches no output."""

    name: ClassVar[str] = "observe-values"

    def run(self, graph: Graph) -> PassResult:
        result = graph.copy()
        extra = observe_values(result)
        if extra:
            log.debug("made %d values outputs: %s", len(extra), ", ".join(extra))
        return PassResult(result, modified=bool(extra))
