"""verify(): each structural and semantic rule is caught, named, and shown with the graph."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import ScalarSpec, TensorSpec
from torchfuzz.passes import Validate, ValidationError, verify

from ._build import node, scalar, tensor
from ._eval import assert_same_semantics

F32, F16, I32, I64 = torch.float32, torch.float16, torch.int32, torch.int64


def valid_graph() -> Graph:
    g = Graph()
    x = tensor(g, (2, 3), F32)
    y = tensor(g, (3,), F32)
    v = node(g, "add", [x, y])
    w = node(g, "sin", [v])
    g.set_outputs([w])
    return g


def assert_rejected(graph: Graph, node_name: str | None, *fragments: str) -> ValidationError:
    """verify() raises, naming the node and the rule, and shows the graph text."""
    text = graph.text()
    with pytest.raises(ValidationError) as info:
        verify(graph)
    err = info.value
    assert err.node == node_name
    for fragment in fragments:
        assert fragment in err.rule, err.rule
    message = str(err)
    assert err.rule in message
    if node_name is not None:
        assert f"node {node_name}" in message
        assert f"# <-- {node_name}" in message  # the offending line is flagged
    assert "return (" in message  # the graph text is included
    assert graph.text() == text  # verify never edits
    return err


def test_valid_graph_verifies_and_validate_is_identity():
    g = valid_graph()
    verify(g)
    result = Validate().run(g)
    assert result.graph is g and not result.modified
    assert_same_semantics(g, result.graph)


def test_wrong_declared_dtype():
    g = Graph()
    x = tensor(g, (2, 3), F32)
    v = node(g, "add", [x, x], dtype=F16)
    g.set_outputs([v])
    assert_rejected(g, v, "declared dtype float16 but PyTorch computes float32")


def test_wrong_declared_shape():
    g = Graph()
    x = tensor(g, (2, 3), F32)
    v = node(g, "neg", [x], spec=TensorSpec.contiguous((3, 2), F32))
    g.set_outputs([v])
    assert_rejected(g, v, "declared shape (3, 2) but PyTorch computes (2, 3)")


def test_wrong_declared_stride():
    g = Graph()
    x = tensor(g, (2, 3), F32, stride=(1, 2))  # a transposed layout; neg preserves it
    v = node(g, "neg", [x], spec=TensorSpec.contiguous((2, 3), F32))
    g.set_outputs([v])
    assert_rejected(g, v, "declared stride (3, 1) but PyTorch computes (1, 2)")


def test_tensor_declared_for_python_scalar():
    g = Graph()
    x = tensor(g, (), F32)
    v = node(g, "item", [x], spec=TensorSpec.contiguous((), F32))
    g.set_outputs([v])
    assert_rejected(g, v, "declared a tensor", "computes a Python scalar (float)")


def test_wrong_python_scalar_kind():
    g = Graph()
    a, b = scalar(g, I64), scalar(g, torch.float64)
    v = node(g, "scalar_add", [a, b], spec=ScalarSpec(I64))
    g.set_outputs([v])
    assert_rejected(g, v, "declared Python int but PyTorch computes Python float")


def test_pytorch_rejection_is_reported():
    g = Graph()
    x, y = tensor(g, (2, 3), F32), tensor(g, (4,), F32)
    v = g.add_node(CATALOGUE.get("add"), [x, y], (), TensorSpec.contiguous((2, 3), F32))
    g.set_outputs([v])
    assert_rejected(g, v, "PyTorch rejects add(f32[2,3], f32[4])")


def test_cycle_built_by_bypassing_order():
    g = valid_graph()
    v, w = (n.name for n in g.nodes)
    g.replace_node(v, inputs=(w, g.inputs[1].name))  # v now reads w, which reads v
    assert_rejected(g, w, "cycle", f"{v} -> {w} -> {v}")


def test_use_before_definition():
    g = Graph()
    x = tensor(g, (2,), F32)
    a = node(g, "neg", [x])
    b = node(g, "sin", [x])
    g.set_outputs([a, b])
    g.replace_node(a, inputs=(b,))  # acyclic, but `a` reads the later `b`
    assert_rejected(g, a, f"input {b!r} is used before it is defined")


def test_api_refuses_undefined_inputs():
    g = valid_graph()
    with pytest.raises(KeyError, match="not defined"):
        g.add_node(CATALOGUE.get("neg"), ["nope"], (), TensorSpec.contiguous((2,), F32))
    with pytest.raises(KeyError, match="not defined"):
        g.replace_node(g.nodes[0].name, inputs=("nope", "nope"))


def test_dead_node():
    g = valid_graph()
    x = g.inputs[0].name
    dead = node(g, "cos", [x])
    assert_rejected(g, dead, "does not reach any output")


def test_no_outputs():
    g = Graph()
    x = tensor(g, (2,), F32)
    node(g, "neg", [x])
    assert_rejected(g, None, "no outputs")


@pytest.mark.parametrize(
    "op, operands, attrs, expected",
    [
        ("add", 1, (), "add takes 2 operand(s)"),
        ("neg", 2, (), "neg takes 1 operand(s)"),
        ("where", 2, (), "where takes 3 operand(s)"),
        ("clamp", 2, (("min", 0.0), ("max", 1.0)), "clamp takes 1 operand(s)"),
        ("scalar_add", 3, (), "scalar_add takes 2 operand(s)"),
    ],
)
def test_wrong_arity(op, operands, attrs, expected):
    g = Graph()
    x = tensor(g, (2,), F32) if op != "scalar_add" else scalar(g, I64)
    v = g.add_node(CATALOGUE.get(op), [x] * operands, attrs, g.spec(x))
    g.set_outputs([v])
    assert_rejected(g, v, expected)


def test_constant_takes_no_operands():
    g = Graph()
    x = scalar(g, I64)
    v = g.add_node(CATALOGUE.get("constant"), [x], (("value", 1),), ScalarSpec(I64))
    g.set_outputs([v])
    assert_rejected(g, v, "constant takes 0 operand(s)")


@pytest.mark.parametrize(
    "op, attrs, expected",
    [
        ("cast", (("dtype", "float16"),), "attribute dtype='float16' (str)"),
        ("clamp", (("min", "low"),), "attribute min='low' (str)"),
        ("neg", (("alpha", 2),), "has no argument 'alpha'"),
        ("constant", (("value", "1"),), "'value' must be a bool, int or float"),
    ],
)
def test_wrong_attribute_types(op, attrs, expected):
    g = Graph()
    x = tensor(g, (2,), F32)
    inputs = [] if op == "constant" else [x]
    v = g.add_node(CATALOGUE.get(op), inputs, attrs, g.spec(x))
    g.set_outputs([v])
    assert_rejected(g, v, expected)


def test_duplicate_names():
    g = valid_graph()
    v, w = (n.name for n in g.nodes)
    with pytest.raises(TypeError):
        g.replace_node(w, name=v)  # the API cannot rename; corrupt the graph as a bug could
    g._nodes[w] = dataclasses.replace(g.node(w), name=v)
    assert_rejected(g, v, f"name {v!r} is defined twice")


def test_inconsistent_use_lists():
    g = valid_graph()
    v = g.nodes[0].name
    g._users[v].clear()  # corrupt the use list, as only a buggy edit could
    assert_rejected(g, v, f"use list of {v!r} is []")


def test_graph_with_python_scalars_and_constants_verifies():
    g = Graph()
    x = tensor(g, (2, 3), I32)
    s = node(g, "item", [tensor(g, (), I32)])
    c = node(g, "constant", [], (("value", 0.5),))
    t = node(g, "scalar_mul", [s, c])
    v = node(g, "add_scalar", [x, t])
    g.set_outputs([v, t])
    verify(g)
    assert_same_semantics(g, g)
