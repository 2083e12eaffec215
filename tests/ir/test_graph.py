import networkx as nx
import pytest
import torch

from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import POSITIVE, TensorSpec

F32 = TensorSpec.contiguous((2, 3), torch.float32)
ADD = CATALOGUE.get("add")
NEG = CATALOGUE.get("neg")


def small_graph() -> Graph:
    g = Graph()
    x = g.add_input(F32)
    y = g.add_input(F32, POSITIVE)
    a = g.add_node(ADD, [x, y], (), F32)
    b = g.add_node(NEG, [a], (), F32)
    c = g.add_node(ADD, [a, b], (), F32)  # `a` is reused
    g.set_outputs([c])
    return g


def test_use_lists_and_reuse():
    g = small_graph()
    assert g.users("v2") == ("v3", "v4")
    assert g.users("x0") == ("v2",)
    assert g.spec("x1") == F32 and g.value("x1").domain == POSITIVE


def test_text_form_is_stable():
    assert small_graph().text() == (
        "graph(x0: f32[2,3], x1: f32[2,3] in positive) {\n"
        "  v2: f32[2,3] = add(x0, x1)\n"
        "  v3: f32[2,3] = neg(v2)\n"
        "  v4: f32[2,3] = add(v2, v3)\n"
        "  return (v4)\n"
        "}"
    )
    assert small_graph().content_hash() == small_graph().content_hash()


def test_replace_all_uses_and_erase():
    g = small_graph()
    g.replace_all_uses_with("v3", "x0")
    assert g.node("v4").inputs == ("v2", "x0")
    assert g.users("v3") == ()
    g.erase("v3")
    assert "v3" not in g and g.users("v2") == ("v4",)
    with pytest.raises(ValueError, match="still used"):
        g.erase("v2")
    with pytest.raises(ValueError, match="graph output"):
        g.erase("v4")


def test_replace_all_uses_updates_outputs():
    g = small_graph()
    g.replace_all_uses_with("v4", "v3")
    assert g.outputs == ("v3",)


def test_add_node_refuses_undefined_inputs_and_duplicates():
    g = small_graph()
    with pytest.raises(KeyError):
        g.add_node(NEG, ["nope"], (), F32)
    with pytest.raises(ValueError):
        g.add_node(NEG, ["x0"], (), F32, name="v2")


def test_insert_after_keeps_order():
    g = small_graph()
    name = g.add_node(NEG, ["v2"], (), F32, after="v2")
    assert [n.name for n in g.nodes] == ["v2", name, "v3", "v4"]


def test_attrs_are_checked():
    g = small_graph()
    with pytest.raises(TypeError):
        g.add_node(NEG, ["x0"], (("dim", [0, 1]),), F32)


def test_copy_is_independent():
    g = small_graph()
    h = g.copy()
    h.replace_all_uses_with("v3", "x0")
    assert g.node("v4").inputs == ("v2", "v3")
    assert g != h


def test_networkx_view():
    nxg = small_graph().to_networkx()
    assert nx.is_directed_acyclic_graph(nxg)
    assert list(nx.topological_sort(nxg))[-1] == "v4"
    assert nx.ancestors(nxg, "v4") == {"x0", "x1", "v2", "v3"}
