"""Localization: the first diverging node of a mismatching program, and its op pattern."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from torch._dynamo.backends.common import aot_autograd

from tests._core_ops import CORE_OPTIONS
from torchfuzz.backends.localize import (
    Culprit,
    Layout,
    checked_copy,
    clobbered,
    layout_of,
    localize,
    prefix,
)
from torchfuzz.backends.runner import check, node_values, resolve_variants
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.types import TensorSpec
from torchfuzz.passes.validate import verify

aten = torch.ops.aten
OPTIONS = GeneratorOptions(num_nodes=30, max_depth=10, dtypes=(torch.float32,), **CORE_OPTIONS)
CASTS = {"cast", "to_float", "to_int", "to_bool"}


def variant(backend: str, name: str = "inductor"):
    (v,) = resolve_variants([name], backend)
    return v


def _scale_exp(gm: torch.fx.GraphModule, example_inputs: Sequence[Any]) -> Any:
    """An exp computed 1 % too large: every aten.exp result is scaled by 1.01."""
    for node in list(gm.graph.nodes):
        if node.target is aten.exp.default:
            with gm.graph.inserting_after(node):
                scaled = gm.graph.call_function(aten.mul.Tensor, (node, 1.01))
            node.replace_all_uses_with(scaled, delete_user_cb=lambda u, s=scaled: u is not s)
    gm.recompile()
    return gm


wrong_exp = aot_autograd(fw_compiler=_scale_exp)


# --- the op pattern ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "layout"),
    [
        (TensorSpec((2, 3), (3, 1), torch.float32), Layout.CONTIGUOUS),
        (TensorSpec((2, 3), (1, 2), torch.float32), Layout.PERMUTED),
        (TensorSpec((2, 3, 4), (3, 1, 6), torch.float32), Layout.PERMUTED),
        (TensorSpec((2, 3), (0, 1), torch.float32), Layout.EXPANDED),
        (TensorSpec((2, 3), (3, 1), torch.float32, offset=5), Layout.OFFSET),
        (TensorSpec((2, 3), (6, 2), torch.float32), Layout.STRIDED),
        (TensorSpec((1, 3), (0, 1), torch.float32), Layout.CONTIGUOUS),
    ],
)
def test_layout_classes(spec, layout):
    assert layout_of(spec) is layout


def test_pattern_names_ranks_not_sizes():
    culprit = Culprit(
        "v3", "mul", ("float32", "float32"), (2, 0), (Layout.CONTIGUOUS, Layout.EXPANDED), True
    )
    assert culprit.pattern() == "mul(float32[2] contiguous, float32[0] expanded) dynamic"
    scalar = dataclasses.replace(
        culprit, ranks=(2, None), layouts=(Layout.CONTIGUOUS, Layout.SCALAR)
    )
    assert scalar.pattern().startswith("mul(float32[2] contiguous, float32 scalar)")
    with pytest.raises(ValueError):
        dataclasses.replace(culprit, ranks=(1,))


# --- the checked copy ----------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_checked_copy_outputs_every_node_value(seed):
    """Each output of the copy is its node's eager value as computed (before any later
    in-place write), and prefixes verify and compute the same value."""
    graph = generate(seed, GeneratorOptions(num_nodes=12))
    copy, names = checked_copy(graph, seed)
    expected = node_values(graph, seed)
    got = node_values(copy, seed)
    for out, name in zip(copy.outputs, names):
        a, b = expected[name], got[out]
        if isinstance(a, torch.Tensor):
            torch.testing.assert_close(b, a, equal_nan=True, rtol=0, atol=0)
        else:
            assert a == b or (a != a and b != b)
    last = graph.nodes[-1].name
    assert prefix(graph, last).outputs == (last,)
    verify(prefix(graph, last))


def _written_programs() -> list[tuple[int, Graph]]:
    """Programs (any catalogue) with a node that a later in-place node writes."""
    found = []
    for seed in range(30):
        graph = generate(seed, GeneratorOptions(num_nodes=15))
        if clobbered(graph, seed):
            found.append((seed, graph))
    return found


@pytest.mark.slow
def test_checked_copy_observes_written_values_before_the_write():
    programs = _written_programs()
    assert len(programs) >= 2
    for seed, graph in programs:
        copy, names = checked_copy(graph, seed)
        expected, got = node_values(graph, seed), node_values(copy, seed)
        for out, name in zip(copy.outputs, names):
            if isinstance(expected[name], torch.Tensor):
                torch.testing.assert_close(got[out], expected[name], equal_nan=True)


@pytest.mark.slow
def test_checked_copy_of_written_programs_agrees_under_a_correct_backend():
    for seed, graph in _written_programs()[:4]:
        copy, _ = checked_copy(graph, seed)
        assert check(copy, seed, (variant("aot_eager", "aot_eager"),)).kind.value == "ok"


# --- localizing synthetic bugs -------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 3, 5])
def test_correct_backend_localizes_nothing(seed):
    graph = generate(seed, OPTIONS)
    assert localize(graph, seed, variant("aot_eager")) is None


# Seeds of OPTIONS programs that trip each bug and whose first diverging value is the
# trigger's own op.
LOCALIZED = [
    ("nan_with_where", 16, {"where"}),
    ("nan_with_where", 17, {"where"}),
    ("nan_with_where", 24, {"where"}),
    ("wrong_cast_into_mul", 16, {"mul"}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("bug", "seed", "ops"), LOCALIZED)
def test_synthetic_bug_localizes_to_its_op(bug, seed, ops):
    graph = generate(seed, OPTIONS)
    culprit = localize(graph, seed, variant(f"tests._bugs:{bug}"))
    assert culprit is not None and culprit.op in ops, culprit
    assert culprit.method == "prefixes" and not culprit.dynamic


def _op(graph: Graph, name: str) -> str | None:
    return None if graph.is_input(name) else graph.node(name).op.name


def _is_float(graph: Graph, name: str) -> bool:
    spec = graph.spec(name)
    return isinstance(spec, TensorSpec) and spec.dtype.is_floating_point


# These backends corrupt float outputs only: where the trigger (a round cast to bool) yields
# no float, the first diverging value is the float node that reads it.
@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 9, 33])
def test_round_into_bool_cast_localizes_to_its_first_float_reader(seed):
    graph = generate(seed, OPTIONS)
    culprit = localize(graph, seed, variant("tests._bugs:wrong_round_into_cast"))
    assert culprit is not None
    assert _is_float(graph, culprit.node)
    triggers = [
        name
        for name in graph.node(culprit.node).inputs
        if _op(graph, name) in CASTS and _op(graph, graph.node(name).inputs[0]) == "round"
    ]
    assert triggers and not any(_is_float(graph, t) for t in triggers)


def _exp_program() -> Graph:
    """A 10-node program with an exp deep inside: ((x*y+1).sin().exp() - y).tanh() ..."""
    from torchfuzz.ir.catalogue import CATALOGUE

    op = CATALOGUE.get
    g = Graph()
    spec = TensorSpec.contiguous((3, 4), torch.float32)
    x = g.add_input(spec, name="x")
    y = g.add_input(TensorSpec((3, 4), (1, 3), torch.float32), name="y")
    a = g.add_node(op("mul"), (x, y), (), spec)
    b = g.add_node(op("sin"), (a,), (), spec)
    c = g.add_node(op("add"), (b, x), (), spec)
    d = g.add_node(op("exp"), (c,), (), spec)
    e = g.add_node(op("sub"), (d, y), (), spec)
    f = g.add_node(op("tanh"), (e,), (), spec)
    h = g.add_node(op("mul"), (f, a), (), spec)
    i = g.add_node(op("abs"), (h,), (), spec)
    j = g.add_node(op("neg"), (b,), (), spec)
    k = g.add_node(op("add"), (i, j), (), spec)
    g.set_outputs((k,))
    verify(g)
    return g


@pytest.mark.slow
def test_deep_culprit_found_through_all_outputs():
    graph = _exp_program()
    v = variant("tests.backends.test_localize:wrong_exp")
    assert check(graph, 0, (v,)).kind.value == "mismatch"
    culprit = localize(graph, 0, v)
    assert culprit is not None
    assert (culprit.op, culprit.method) == ("exp", "outputs")
    assert culprit.pattern() == "exp(float32[2] contiguous)"


@pytest.mark.slow
def test_dynamic_variant_marks_the_culprit():
    graph = _exp_program()
    v = variant("tests.backends.test_localize:wrong_exp", "inductor_dynamic")
    culprit = localize(graph, 0, v)
    assert culprit is not None and culprit.op == "exp" and culprit.dynamic
    assert culprit.pattern().endswith(" dynamic")
