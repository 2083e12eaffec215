"""DeadCodeElimination: removes exactly what reaches no output, purely."""

from __future__ import annotations

import pytest
import torch

from torchfuzz.ir.graph import Graph
from torchfuzz.passes import DeadCodeElimination, ValidationError, verify

from ._build import node, scalar, tensor
from ._eval import assert_same_semantics

F32, I64 = torch.float32, torch.int64


def eliminate(graph: Graph, **options: bool) -> tuple[Graph, bool]:
    """Run the pass and check the invariants every run must keep."""
    before = graph.text()
    result = DeadCodeElimination(**options).run(graph)
    assert graph.text() == before, "the input graph was mutated"
    assert result.graph is not graph
    verify(result.graph)
    assert_same_semantics(graph, result.graph)
    return result.graph, result.modified


def graph_with_dead_code() -> tuple[Graph, dict[str, str]]:
    g = Graph()
    x, y, unused = tensor(g, (2, 3), F32), tensor(g, (3,), F32), scalar(g, I64)
    live = node(g, "add", [x, y])
    dead1 = node(g, "sin", [live])  # reads a live node
    dead2 = node(g, "mul", [dead1, y])  # a dead chain
    only_dead = tensor(g, (2,), F32)
    dead3 = node(g, "neg", [only_dead])  # reads an input nothing live reads
    out = node(g, "cos", [live])
    g.set_outputs([out])
    names = dict(x=x, y=y, unused=unused, live=live, out=out, only_dead=only_dead)
    names.update(dead1=dead1, dead2=dead2, dead3=dead3)
    return g, names


def test_removes_nodes_that_reach_no_output():
    g, n = graph_with_dead_code()
    with pytest.raises(ValidationError, match="does not reach any output"):
        verify(g)
    out, modified = eliminate(g)
    assert modified
    assert [v.name for v in out.nodes] == [n["live"], n["out"]]
    assert out.users(n["live"]) == (n["out"],)
    assert [i.name for i in out.inputs] == [i.name for i in g.inputs]  # inputs kept by default


def test_removes_unused_inputs_when_asked():
    g, n = graph_with_dead_code()
    out, modified = eliminate(g, remove_unused_inputs=True)
    assert modified
    assert [i.name for i in out.inputs] == [n["x"], n["y"]]


def test_unused_inputs_only():
    g = Graph()
    x = tensor(g, (2,), F32)
    tensor(g, (2,), F32)  # unused
    v = node(g, "neg", [x])
    g.set_outputs([v])
    out, modified = eliminate(g)
    assert not modified and out == g
    out, modified = eliminate(g, remove_unused_inputs=True)
    assert modified and [i.name for i in out.inputs] == [x]


def test_input_that_is_an_output_is_kept():
    g = Graph()
    x, y = tensor(g, (2,), F32), tensor(g, (2,), F32)
    v = node(g, "neg", [y])
    g.set_outputs([x, v])
    out, _ = eliminate(g, remove_unused_inputs=True)
    assert [i.name for i in out.inputs] == [x, y]


def test_nothing_to_remove():
    g = Graph()
    x = tensor(g, (2, 3), F32)
    a = node(g, "sin", [x])
    b = node(g, "cos", [x])
    g.set_outputs([node(g, "add", [a, b]), a])
    out, modified = eliminate(g, remove_unused_inputs=True)
    assert not modified
    assert out == g
