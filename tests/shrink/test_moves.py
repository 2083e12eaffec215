"""Reduction moves: each is pure, its result verifies, and the moves that should keep
semantics (cut to input, drop output, dead code) do."""

import torch

from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.runner import node_values, run_eager
from torchfuzz.ir.catalogue import CATALOGUE as C
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes import default_pipeline, verify
from torchfuzz.shrink import moves as reduce
from torchfuzz.shrink.minimize import sort_key

F = torch.float32


def sample() -> Graph:
    g = Graph()
    x0 = g.add_input(TensorSpec.contiguous((4, 3), F))
    x1 = g.add_input(TensorSpec((4, 3), (1, 4), F))
    a = g.add_node(C.get("add"), [x0, x1], (), TensorSpec.contiguous((4, 3), F))
    b = g.add_node(C.get("relu"), [a], (), TensorSpec.contiguous((4, 3), F))
    c = g.add_node(
        C.get("sum"), [b], (("dim", (0,)), ("keepdim", False)), TensorSpec.contiguous((3,), F)
    )
    d = g.add_node(C.get("neg"), [x1], (), TensorSpec((4, 3), (1, 4), F))
    g.set_outputs([c, d])
    return default_pipeline(observe=False).run(g)


def same(a, b) -> bool:
    """The same number of outputs, each bitwise equal (NaN where the other has NaN)."""
    a, b = tuple(a), tuple(b)
    return len(a) == len(b) and all(
        torch.equal(x.isnan(), y.isnan()) and torch.equal(x.nan_to_num(), y.nan_to_num())
        if x.is_floating_point()
        else torch.equal(x, y)
        for x, y in zip(a, b, strict=True)
    )


def unchanged(g: Graph, text: str) -> None:
    assert g.text() == text, "a move mutated its input"


def test_drop_output_keeps_the_rest():
    g = sample()
    text = g.text()
    out = reduce.drop_output(g, 1)
    unchanged(g, text)
    verify(out)
    assert out.outputs == ("v4",) and "neg" not in out.text()
    assert same(run_eager(out, 3), run_eager(g, 3)[:1])
    assert reduce.drop_output(out, 0) is None  # the last output stays


def test_cut_to_input_keeps_values_and_removes_upstream():
    g = sample()
    text = g.text()
    values = node_values(g, 3)
    out = reduce.cut_to_input(g, "v2", values["v2"])  # the add
    unchanged(g, text)
    verify(out)
    assert "add" not in out.text() and "relu(" in out.text()
    assert [i.data is not None for i in out.inputs] == [False, True]  # x1 stays for neg
    assert same(run_eager(out, 3), run_eager(g, 3))


def test_truncate_exposes_operands():
    g = sample()
    out = reduce.truncate(g, "v4")
    verify(out)
    assert out.outputs == ("v3", "v5")
    assert reduce.truncate(g, "x0") is None


def test_forward_operand_needs_same_shape_and_dtype():
    g = sample()
    out = reduce.forward_operand(g, "v3", "v2")  # relu(add) -> add
    verify(out)
    assert "relu" not in out.text()
    assert reduce.forward_operand(g, "v4", "v3") is None  # sum changes the shape


def test_shape_layout_dtype_and_attr_moves_verify():
    g = sample()
    text = g.text()
    smaller = reduce.reshape_input(g, "x0", (1, 3))
    verify(smaller)  # add broadcasts (1,3) against x1's (4,3)
    dense = reduce.make_dense(g, "x1")
    verify(dense)
    assert all(i.spec.is_contiguous for i in dense.inputs)
    wide = reduce.retype_input(g, "x0", torch.float64)
    verify(wide)
    assert wide.spec("v2").dtype == torch.float64  # promotion followed
    (no_keepdim,) = reduce.default_attrs(g, "v4")
    assert dict(no_keepdim) == {"dim": (0,)}
    verify(reduce.set_attrs(g, "v4", no_keepdim))
    unchanged(g, text)
    assert reduce.reshape_input(g, "x0", (4, 3)) is None  # nothing to do


def test_respecify_rejects_what_pytorch_rejects():
    g = sample()
    assert reduce.reshape_input(g, "x0", (2, 3)) is None  # (2,3) + (4,3) cannot broadcast


def test_set_values_and_value_cost():
    g = sample()
    out = reduce.set_values(g, "x0", [0.0] * 12)
    verify(out)
    assert reduce.value_cost(out.value("x0")) == 0 < reduce.value_cost(g.value("x0"))
    # literal values do not depend on the case seed
    assert torch.equal(make_inputs(out, 0)[0], make_inputs(out, 1)[0])


def test_offsets_are_dropped_apart_from_layouts_and_values_stay():
    g = sample()
    shifted = g.copy()
    shifted.replace_input("x1", spec=g.spec("x1").with_offset(5))
    text = shifted.text()
    dense = reduce.make_dense(shifted, "x1")
    assert dense.spec("x1").is_contiguous and dense.spec("x1").offset == 5  # offset stays
    start = reduce.drop_offset(shifted, "x1")
    verify(start)
    assert start.spec("x1") == g.spec("x1")  # strides stay
    assert sort_key(start) < sort_key(shifted)  # the minimizer takes the move
    assert same(run_eager(start, 0), run_eager(shifted, 0))
    unchanged(shifted, text)
    assert reduce.drop_offset(g, "x1") is None  # nothing to do


def test_prefix_ends_the_program_at_a_node():
    g = sample()
    text = g.text()
    out = reduce.prefix(g, "v3")  # the relu
    unchanged(g, text)
    verify(out)
    assert out.outputs == ("v3",) and "sum" not in out.text() and "neg" not in out.text()
    assert same(run_eager(out, 3), (node_values(g, 3)["v3"],))
    assert reduce.prefix(g, "x0") is None
    assert reduce.prefix(out, "v3") is None  # already its only output


def test_isolate_leaves_the_node_alone_with_the_values_it_saw():
    g = sample()
    values = node_values(g, 3)
    out = reduce.isolate(g, "v4", values)  # the sum of relu(add)
    verify(out)
    assert [n.op.name for n in out.nodes] == ["sum"]
    assert same(run_eager(out, 3), (values["v4"],))
    assert reduce.isolate(out, out.outputs[0], node_values(out, 3)) is None  # alone already
    assert reduce.isolate(g, "x1", values) is None
