"""Dead code elimination: drop nodes (and optionally graph inputs) no output depends on.

Modelled on xDSL's `transforms/dead_code_elimination.py`; IR ops have no side effects, so
liveness is plain reachability to an output.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

import networkx as nx

from torchfuzz.ir.graph import Graph
from torchfuzz.passes.base import Pass, PassResult

log = logging.getLogger(__name__)


def live_values(graph: Graph) -> set[str]:
    """Names of the outputs and every value they (transitively) read."""
    nxg = graph.to_networkx()
    live = set(graph.outputs)
    for out in graph.outputs:
        live |= nx.ancestors(nxg, out)
    return live


@dataclass(frozen=True)
class DeadCodeElimination(Pass):
    """Remove nodes that reach no output; with `remove_unused_inputs`, unread inputs too."""

    name: ClassVar[str] = "dead-code-elimination"
    remove_unused_inputs: bool = False

    def run(self, graph: Graph) -> PassResult:
        live = live_values(graph)
        dead_nodes = [n.name for n in graph.nodes if n.name not in live]
        dead_inputs = (
            [i.name for i in graph.inputs if i.name not in live]
            if self.remove_unused_inputs
            else []
        )
        if not dead_nodes and not dead_inputs:
            return PassResult(graph.copy(), modified=False)
        result = graph.copy()
        # Users come after what they read, so erasing in reverse order never erases a read value.
        for name in reversed(dead_nodes):
            result.erase(name)
        for name in dead_inputs:
            result.erase(name)
        log.debug("removed %d nodes and %d inputs", len(dead_nodes), len(dead_inputs))
        return PassResult(result, modified=True)
