"""In-place ops: lowering semantics per op and target, the write invariant verify() enforces,
and generated programs that write intermediates, views and graph inputs."""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from typing import Any

import pytest
import torch

from tests._core_ops import CORE_OPS
from tests.passes._build import node, tensor
from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.lowering import lower_to_fx, to_fx
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.runner import check, node_values
from torchfuzz.backends.variants import get_variant
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.inplace import VIEW_SAMPLERS
from torchfuzz.ir.serialize import CaseFormatError, graph_from_dict, graph_to_dict
from torchfuzz.ir.types import TensorSpec, index_domain, permutation_domain
from torchfuzz.ir.write_view import VIEW_KEY, ViewKind, WriteView
from torchfuzz.passes import ValidationError, verify
from torchfuzz.passes.writes import overlaps
from torchfuzz.shrink.minimize import Minimizer
from torchfuzz.shrink.moves import forward_operand

F32, F64, I64 = torch.float32, torch.float64, torch.int64
BASE = (4, 5)
# The view each op writes through in the "view" targets, and the same view by hand.
NARROW = ((VIEW_KEY, WriteView(ViewKind.NARROW, (1, 1, 3))),)
VIEW_SHAPE = (4, 3)


def narrow(t: torch.Tensor) -> torch.Tensor:
    return t.narrow(1, 1, 3)


# op -> (operands after the written one: (shape of the view -> (shape, dtype, domain))),
#        attributes, the same write by hand on (view, *operands)).
Operand = Callable[[tuple[int, ...]], tuple[tuple[int, ...], torch.dtype, Any]]
CASES: dict[str, tuple[tuple[Operand, ...], tuple, Callable[..., Any]]] = {
    "add_": ((lambda v: (v[-1:], F64, None),), (("alpha", 2.0),), lambda w, y: w.add_(y, alpha=2)),
    "mul_": ((lambda v: ((), F32, None),), (), lambda w, y: w.mul_(y)),
    "clamp_": ((), (("min", -0.5), ("max", 0.5)), lambda w: w.clamp_(-0.5, 0.5)),
    "index_put_": (
        (lambda v: ((3,), I64, permutation_domain(v[0])), lambda v: ((v[-1],), F32, None)),
        (("dim", 0),),
        lambda w, i, vals: w.index_put_((i,), vals),
    ),
    "index_put_accumulate_": (
        (lambda v: ((6,), I64, index_domain(v[0])), lambda v: ((6, v[-1]), F32, None)),
        (("dim", 0),),
        lambda w, i, vals: w.index_put_((i,), vals, accumulate=True),
    ),
    "copy_": ((lambda v: (v[-1:], I64, None),), (), lambda w, s: w.copy_(s)),
}
TARGETS = ("node", "node_view", "input", "input_view")


def in_place_graph(op: str, target: str, view: tuple = NARROW) -> Graph:
    """x -> [neg ->] op_(written, operands...) -> outputs (written, neg(written))."""
    operands, attrs, _ = CASES[op]
    viewed = target.endswith("view")
    shape = VIEW_SHAPE if viewed else BASE
    g = Graph()
    x = tensor(g, BASE, F32)
    written = x if target.startswith("input") else node(g, "neg", [x])
    others = []
    for make in operands:
        oshape, dtype, domain = make(shape)
        spec = TensorSpec.contiguous(oshape, dtype)
        others.append(g.add_input(spec) if domain is None else g.add_input(spec, domain))
    w = node(g, op, [written, *others], attrs + (view if viewed else ()))
    g.set_outputs([w, node(g, "neg", [w])])
    return g


def by_hand(op: str, target: str, inputs: list) -> tuple[torch.Tensor, ...]:
    x, *others = (t.clone() for t in inputs)
    base = x if target.startswith("input") else -x
    write = CASES[op][2]
    write(narrow(base) if target.endswith("view") else base, *others)
    return base, -base


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("op", sorted(CASES))
def test_lowered_write_has_the_semantics_of_torch(op: str, target: str) -> None:
    g = in_place_graph(op, target)
    verify(g)
    assert g.mutated_inputs() == (("x0",) if target.startswith("input") else ())
    inputs = make_inputs(g, 3)
    expected = by_hand(op, target, inputs)
    before = inputs[0].clone()
    outputs = to_fx(g)(*inputs)
    for got, want in zip(outputs, expected, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    # A graph input is written (its value is the written base); an intermediate leaves x alone.
    torch.testing.assert_close(inputs[0], expected[0] if target.startswith("input") else before)


# Each view kind by hand, for a [4, 5] base: view_args and the same view.
HAND_VIEWS: dict[str, tuple[tuple[int, ...], Callable[[torch.Tensor], torch.Tensor]]] = {
    "narrow": ((1, 1, 3), narrow),
    "select": ((0, -1), lambda t: t[-1]),
    "transpose": ((0, 1), lambda t: t.t()),
    "diagonal": ((1, 0, 1), lambda t: t.diagonal(1)),
    "slice": ((1, 0, 5, 2), lambda t: t[:, 0:5:2]),
}


def test_every_view_kind_is_tested() -> None:
    assert set(HAND_VIEWS) == set(ViewKind) == set(VIEW_SAMPLERS)


@pytest.mark.parametrize("kind", sorted(HAND_VIEWS))
def test_write_through_each_view_kind_writes_the_base(kind: str) -> None:
    args, view = HAND_VIEWS[kind]
    g = Graph()
    x = tensor(g, BASE, F32, stride=(1, 4))  # a transposed layout: writes follow strides
    y = tensor(g, (), F32)
    w = node(g, "add_", [x, y], ((VIEW_KEY, WriteView(kind, args)),))
    g.set_outputs([node(g, "mul", [w, w])])
    verify(g)
    inputs = make_inputs(g, 1)
    base = inputs[0].clone()
    view(base).add_(inputs[1])
    (out,) = to_fx(g)(*inputs)
    torch.testing.assert_close(inputs[0], base, rtol=0, atol=0)
    torch.testing.assert_close(out, base * base, rtol=0, atol=0)


def test_script_reads_view_then_write() -> None:
    code = lower_to_fx(in_place_graph("add_", "node_view")).python_code("self").src
    lines = [line.strip() for line in code.splitlines()]
    view = lines.index("narrow_default = torch.ops.aten.narrow.default(v1, 1, 1, 3)")
    assert lines[view + 1].startswith(
        "add__tensor = torch.ops.aten.add_.Tensor(narrow_default, x2, alpha = 2.0)"
    )
    assert lines[view + 2] == "v4 = torch.ops.aten.neg.default(v1)"  # later readers: the base
    assert lines[view + 3] == "return (v1, v4)"


def test_node_values_keep_the_written_value_as_it_was_before_the_write() -> None:
    g = in_place_graph("copy_", "node")
    values = node_values(g, 0)
    x, written, result = values["x0"], values["v1"], values["v3"]
    torch.testing.assert_close(written, -x)
    torch.testing.assert_close(result, values["x2"].to(F32).expand(BASE))


# --- the write invariant -----------------------------------------------------------------------
def rejected(g: Graph, node_name: str, *fragments: str) -> None:
    with pytest.raises(ValidationError) as info:
        verify(g)
    assert info.value.node == node_name, info.value
    for fragment in fragments:
        assert fragment in info.value.rule, info.value.rule


def test_a_written_value_with_a_second_reader_is_rejected() -> None:
    g = in_place_graph("add_", "input")
    g.set_outputs([*g.outputs, node(g, "sin", ["x0"])])
    rejected(g, "v2", "writes 'x0' in place", "only reader", "also read by v4")


def test_a_written_value_that_is_an_output_is_rejected() -> None:
    g = in_place_graph("mul_", "node")
    g.set_outputs([*g.outputs, "v1"])
    rejected(g, "v3", "cannot be an output")


@pytest.mark.parametrize(
    "stride,expected",
    [((5, 1), False), ((1, 4), False), ((10, 2), False), ((0, 1), True), ((1, 1), True)],
)
def test_overlaps_finds_layouts_that_cannot_be_written(stride, expected) -> None:
    assert overlaps(TensorSpec(BASE, stride, F32)) is expected


def test_an_expanded_written_input_is_rejected() -> None:
    g = Graph()
    x = tensor(g, BASE, F32, stride=(0, 1))
    g.set_outputs([node(g, "clamp_", [x], (("min", 0.0),))])
    rejected(g, "v1", "share memory")


def test_an_alias_of_the_written_value_read_after_the_write_is_rejected() -> None:
    g = Graph()
    x, y = tensor(g, BASE, F32), tensor(g, (), F32)
    m = node(g, "neg", [x])
    t = node(g, "transpose", [m], (("dim0", 0), ("dim1", 1)))
    w = node(g, "add_", [t, y])
    g.set_outputs([w])
    verify(g)  # m is read only before the write: fine
    g.set_outputs([w, node(g, "sin", [m])])
    rejected(g, w, "shares storage with 'v2'", "read by v5")


def test_writing_an_alias_of_a_graph_input_is_rejected() -> None:
    g = Graph()
    x, y = tensor(g, BASE, F32), tensor(g, (), F32)
    t = node(g, "transpose", [x], (("dim0", 0), ("dim1", 1)))
    g.set_outputs([node(g, "add_", [t, y])])
    rejected(g, "v3", "shares storage with 'x0'", "graph input")


def test_an_unknown_view_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown view 'unfold'"):
        WriteView("unfold", (0,))
    with pytest.raises(TypeError, match="tuple of ints"):
        WriteView(ViewKind.SELECT, (0, 1.5))
    g = in_place_graph("add_", "input")
    w = g.node("v2")
    g.replace_node("v2", attrs=(*w.attrs, (VIEW_KEY, "unfold")))
    rejected(g, "v2", "must be a WriteView")


def test_only_an_in_place_op_writes_through_a_view() -> None:
    g = Graph()
    x, y = tensor(g, BASE, F32), tensor(g, BASE, F32)
    out = node(g, "add", [x, y])
    g.set_outputs([out])
    g.replace_node(out, attrs=NARROW)
    rejected(g, out, "only an in-place op writes through a view")


@pytest.mark.parametrize("kind", list(ViewKind))
def test_each_view_kind_round_trips_through_text_and_json(kind: ViewKind) -> None:
    args, _ = HAND_VIEWS[kind.value]
    g = Graph()
    x, y = tensor(g, BASE, F32), tensor(g, (), F32)
    w = node(g, "add_", [x, y], ((VIEW_KEY, WriteView(kind, args)),))
    g.set_outputs([node(g, "mul", [w, w])])
    verify(g)
    spelled = f"view={kind.value!r}, view_args=({', '.join(map(str, args))})"
    assert spelled in g.text()
    data = json.loads(json.dumps(graph_to_dict(g)))
    assert [VIEW_KEY, kind.value] in data["nodes"][0]["attrs"]
    again = graph_from_dict(data)
    assert again == g and again.text() == g.text()
    assert again.node(w).attr_map[VIEW_KEY] == WriteView(kind, args)


def test_a_view_without_its_arguments_does_not_load() -> None:
    data = graph_to_dict(in_place_graph("add_", "node_view"))
    attrs = next(n["attrs"] for n in data["nodes"] if n["op"] == "add_")
    attrs.pop()  # view_args
    with pytest.raises(CaseFormatError, match="view"):
        graph_from_dict(data)


def test_minimizer_rejects_a_move_that_breaks_the_invariant() -> None:
    """Forwarding neg(x) to x would make add_ write x, which sin(x) reads too: verify()
    rejects the candidate and the minimizer's gate declines it instead of crashing."""
    g = in_place_graph("add_", "node")
    g.set_outputs([*g.outputs, node(g, "sin", ["x0"])])
    verify(g)
    candidate = forward_operand(g, "v1", "x0")
    assert candidate is not None
    with pytest.raises(ValidationError):
        verify(candidate)
    assert not Minimizer(g, 0, lambda graph: True).consider(candidate, "forward_node")


# --- generated programs ------------------------------------------------------------------------
OPTIONS = GeneratorOptions(ops=(*CORE_OPS, "inplace"))
SEEDS = range(60)
CHECKED_PER_KIND = 2


def target_kinds(g: Graph) -> set[str]:
    kinds = set()
    for n in g.nodes:
        if n.op.mutates is not None:
            written = "input" if g.is_input(n.inputs[n.op.mutates]) else "node"
            kinds.add(written + ("_view" if VIEW_KEY in n.attr_map else ""))
    return kinds


def writes_0d_float64_input(g: Graph) -> bool:
    """aot_eager drops in-place writes to a 0-d float64 graph input (torch 2.13): a finding."""
    return any(
        g.spec(name).dtype == F64 and g.spec(name).shape == () for name in g.mutated_inputs()
    )


@pytest.fixture(scope="module")
def generated() -> list[tuple[int, Graph]]:
    return [(seed, generate(seed, OPTIONS)) for seed in SEEDS]


@pytest.mark.slow
def test_generated_programs_write_every_target_kind(generated) -> None:
    counts = collections.Counter(k for _, g in generated for k in target_kinds(g))
    assert set(counts) == set(TARGETS), counts
    for _, g in generated:
        verify(g)
        for n in g.nodes:
            if n.op.mutates is not None:
                assert n.op.promotion is None  # type promotion never casts around a write
                assert n.spec == g.spec(n.inputs[n.op.mutates])  # the value is the base


@pytest.mark.slow
def test_generated_programs_agree_under_aot_eager(generated) -> None:
    """A few programs of each target kind: eager and aot_eager give the same outputs and
    the same written inputs."""
    variant = get_variant("aot_eager")
    checked: collections.Counter[str] = collections.Counter()
    for seed, g in generated:
        kinds = {k for k in target_kinds(g) if checked[k] < CHECKED_PER_KIND}
        if not kinds or writes_0d_float64_input(g):
            continue
        outcome = check(g, seed, [variant])
        assert outcome.kind in (OutcomeKind.OK, OutcomeKind.SKIPPED), (seed, outcome, g.text())
        checked.update(kinds)
    assert set(checked) == set(TARGETS), checked
