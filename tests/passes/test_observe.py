"""ObserveValues: every value whose information reaches no output becomes an output."""

from __future__ import annotations

import pytest
import torch

from torchfuzz.generator.generate import generate_raw
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.information import keeps, observed, overwritten
from torchfuzz.passes import ObserveValues, default_pipeline, verify

from ._build import node, tensor
from ._eval import assert_same_semantics

F32, I64 = torch.float32, torch.int64


def run(graph: Graph) -> Graph:
    before = graph.text()
    result = ObserveValues().run(graph)
    assert graph.text() == before, "the input graph was mutated"
    verify(result.graph)
    return result.graph


def test_a_value_only_rounded_and_cast_becomes_an_output():
    g = Graph()
    x = tensor(g, (3,), F32)
    a = node(g, "sin", [x])  # only read by round: its error is rounded away
    r = node(g, "round", [a])
    out = node(g, "cast", [r], (("dtype", I64),))
    g.set_outputs([out])
    assert observed(g) == {out}  # a cast of a float to an integer keeps little
    result = run(g)
    assert result.outputs == (out, a, r)
    assert observed(result) >= {out, a, r, x}


def test_values_kept_along_the_way_are_not_made_outputs():
    g = Graph()
    x, y = tensor(g, (3,), F32), tensor(g, (3,), F32)
    a = node(g, "mul", [x, y])
    b = node(g, "exp", [a])
    g.set_outputs([b])
    result = ObserveValues().run(g)
    assert not result.modified and result.graph.outputs == (b,)


def test_v_minus_v_keeps_nothing_of_v():
    g = Graph()
    x = tensor(g, (3,), F32)
    a = node(g, "sin", [x])
    d = node(g, "sub", [a, a])
    g.set_outputs([d])
    assert not keeps(g, g.node(d), 0)
    assert run(g).outputs == (d, a)
    s = node(g, "add", [a, a])
    assert keeps(g, g.node(s), 0)  # a + a is 2a


def test_shape_only_and_sign_blind_operands_are_not_kept():
    g = Graph()
    x = tensor(g, (3,), F32)
    a = node(g, "neg", [x])
    z = node(g, "zeros_like", [a])
    v = node(g, "abs", [x])
    g.set_outputs([z, v])
    assert not keeps(g, g.node(z), 0) and not keeps(g, g.node(v), 0)
    assert run(g).outputs == (z, v, a)


def test_a_comparison_and_a_narrowing_cast_keep_little():
    g = Graph()
    x = tensor(g, (3,), F32)
    a = node(g, "sin", [x])
    c = node(g, "gt", [a, x])
    h = node(g, "cast", [a], (("dtype", torch.float16),))
    w = node(g, "cast", [h], (("dtype", torch.float64),))
    g.set_outputs([c, w])
    assert not keeps(g, g.node(c), 0)  # bool of a float
    assert not keeps(g, g.node(h), 0)  # float32 -> float16 rounds
    assert keeps(g, g.node(w), 0)  # float16 -> float64 is exact
    assert set(run(g).outputs) == {c, w, a}


def test_a_written_value_gets_a_copy_written_instead():
    """copy_ overwrites its destination: the destination's own value is exposed by writing
    a copy of it; the copy, overwritten before any read, is not a value to observe."""
    g = Graph()
    x, y = tensor(g, (3,), F32), tensor(g, (3,), F32)
    a = node(g, "sin", [x])
    w = node(g, "copy_", [a, y])
    g.set_outputs([w])
    result = run(g)
    assert a in result.outputs and w in result.outputs
    writer = result.node(w)
    copy = writer.inputs[0]
    assert copy != a and result.node(copy).op.name == "cast"
    assert overwritten(result, copy) and not overwritten(result, a)
    trimmed = result.copy()
    trimmed.set_outputs([w])
    assert_same_semantics(g, trimmed)


@pytest.mark.parametrize("seed", range(40))
def test_generated_programs_have_every_value_observed(seed):
    graph = default_pipeline().run(generate_raw(seed, GeneratorOptions())[0])
    seen = observed(graph)
    # Not kept by any rule: constants, and what an in-place node writes (the written part
    # is lost; the rest flows on, which the rules do not tell apart).
    exempt = {n.name for n in graph.nodes if n.op.name == "constant"}
    exempt |= {n.inputs[n.op.mutates] for n in graph.nodes if n.op.mutates is not None}
    assert {n.name for n in graph.nodes if n.name not in seen} <= exempt
