"""Data-dependent ops: the counted domains keep their promise, so each op's declared spec is
the one eager computes, and programs using them verify, run and compile without mismatches."""

from __future__ import annotations

import dataclasses
import random
import runpy

import pytest
import torch

from tests._core_ops import CORE_OPS
from torchfuzz.backends.inputs import input_call, make_inputs, make_nonzero
from torchfuzz.backends.lowering import to_fx
from torchfuzz.backends.outcome import OutcomeKind
from torchfuzz.backends.python import to_python
from torchfuzz.backends.runner import check, resolve_variants
from torchfuzz.backends.variants import Variant
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE, Catalogue
from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.graph import Graph, Input
from torchfuzz.ir.infer import apply_op, spec_of
from torchfuzz.ir.ops.base import SpecSampler, Want
from torchfuzz.ir.ops.data_dependent import FAMILY
from torchfuzz.ir.serialize import graph_from_dict, graph_to_dict
from torchfuzz.ir.types import (
    DISTINCT,
    Domain,
    ScalarSpec,
    TensorSpec,
    exact_domain,
    index_domain,
    nonzero_domain,
    permutation_domain,
)
from torchfuzz.passes.validate import verify
from torchfuzz.shrink import moves as reduce

OPS = CATALOGUE.families()[FAMILY]
DTYPES = (torch.float32, torch.float16, torch.int64, torch.int32, torch.uint8, torch.bool)
# Programs mostly of this family (each op weighs 15 times its catalogue weight).
BOOSTED = Catalogue(
    dataclasses.replace(op, weight=op.weight * 15) if op.family == FAMILY else op
    for op in CATALOGUE
)
OPTIONS = GeneratorOptions(ops=(*CORE_OPS, FAMILY))
CAPTURE = Variant(
    "aot_eager_capture",
    backend="aot_eager",
    dynamic=True,
    dynamo_config=(("capture_scalar_outputs", True), ("capture_dynamic_output_shape_ops", True)),
)


# --- domains and their builders ---------------------------------------------------------------
def test_counted_domains_print_and_need_a_count() -> None:
    assert str(nonzero_domain(3)) == "nonzero=3"
    assert str(exact_domain(5)) == "exact=5"
    for kind in ("nonzero", "exact"):
        with pytest.raises(ValueError):
            Domain(kind)


def test_admits_checks_the_promise_of_literal_values() -> None:
    assert nonzero_domain(2).admits([0, 1.5, 0, -1.0])
    assert not nonzero_domain(2).admits([0, 0, 0, 1])
    assert exact_domain(3).admits([3]) and not exact_domain(3).admits([0])
    assert DISTINCT.admits([1, -2, 3]) and not DISTINCT.admits([0, 0, 3])
    assert not permutation_domain(4).admits([1, 1]) and not permutation_domain(4).admits([4])
    assert index_domain(3).admits([0, 0, 2]) and not index_domain(3).admits([3])
    assert Domain("positive").admits([0.0])  # value ranges are no promise


LAYOUTS = [
    ((2, 3, 4), (12, 4, 1), 0),  # dense
    ((2, 3, 4), (1, 2, 6), 0),  # permuted
    ((3, 4), (8, 2), 5),  # stepped, at a storage offset
    ((7,), (1,), 0),
]


@pytest.mark.parametrize("shape,stride,offset", LAYOUTS)
def test_make_nonzero_holds_exactly_count_nonzeros(shape, stride, offset) -> None:
    numel = torch.Size(shape).numel()
    for dtype in DTYPES:
        for count in (1, numel // 2, numel):
            out = make_nonzero(shape, stride, dtype, count, 1, 4, 11, offset)
            assert out.shape == shape and out.stride() == stride and out.dtype == dtype
            assert out.storage_offset() == offset
            assert int(out.count_nonzero()) == count
            assert torch.equal(out, make_nonzero(shape, stride, dtype, count, 1, 4, 11, offset))
    with pytest.raises(ValueError):
        make_nonzero((2, 2), (2, 1), torch.bool, 5, 1, 4, 0)
    with pytest.raises(ValueError):  # an expanded layout repeats elements
        make_nonzero((2, 3), (0, 1), torch.bool, 2, 1, 4, 0)


def test_input_call_builds_the_promised_count_and_value() -> None:
    for dtype in DTYPES:
        mask = Input("m", TensorSpec((3, 5), (1, 3), dtype), nonzero_domain(4))
        fn, args = input_call(mask, 7)
        value = fn(*args)
        assert fn is make_nonzero and int(value.count_nonzero()) == 4 and value.dtype == dtype
    for spec in (TensorSpec.contiguous((), torch.int64), TensorSpec.contiguous((), torch.uint8)):
        fn, args = input_call(Input("n", spec, exact_domain(6)), 3)
        assert fn(*args).item() == 6
    fn, args = input_call(Input("n", ScalarSpec(torch.int64), exact_domain(6)), 3)
    assert fn(*args) == 6


# --- ops: declared spec == eager's ------------------------------------------------------------
def _real(want: Want, spec: TensorSpec | ScalarSpec, seed: int):
    fn, args = input_call(Input("x", spec, want.domain), seed)
    return args[0] if fn is None else fn(*args)


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_declared_spec_is_eagers_result(op) -> None:
    rng = random.Random(f"data-dependent:{op.name}")
    sampler = SpecSampler(rng, DTYPES, max_rank=4, max_dim=6)
    made = 0
    for attempt in range(200):
        rank = rng.randint(1, 3)
        want = Want(tuple(rng.randint(1, 6) for _ in range(rank)), DTYPES[attempt % len(DTYPES)])
        proposal = op.propose(sampler, want)
        if proposal is None:
            continue
        specs = [w.spec() for w in proposal.inputs]
        attrs = dict(proposal.attrs)
        declared = infer_spec(op, specs, attrs)
        operands = [_real(w, spec, attempt) for w, spec in zip(proposal.inputs, specs)]
        result = apply_op(op, operands, attrs)
        again = apply_op(op, operands, attrs)
        assert spec_of(result) == declared, (op.name, proposal)
        assert declared.shape == want.shape
        assert torch.equal(result, again)  # deterministic: no ties, no undefined order
        made += 1
        if made == 12:
            break
    assert made >= 3, f"{op.name} proposed only {made} times"


def test_data_dependent_sizes_are_at_least_two() -> None:
    sampler = SpecSampler(random.Random(0), DTYPES)
    for op in ("nonzero", "masked_select", "arange_item"):
        want = Want((1, 2) if op == "nonzero" else (1,), torch.int64)
        assert CATALOGUE.get(op).propose(sampler, want) is None


# --- programs -------------------------------------------------------------------------------
def _family_programs(seeds: range) -> list[tuple[int, Graph]]:
    programs = [(seed, generate(seed, OPTIONS, BOOSTED)) for seed in seeds]
    return [(s, g) for s, g in programs if any(n.op.family == FAMILY for n in g.nodes)]


def _outputs(values: object) -> tuple:
    return tuple(values) if isinstance(values, (tuple, list)) else (values,)


def _identical(a: object, b: object) -> bool:
    """Same type, shape, dtype and bits; NaN equals NaN only where both are NaN."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.is_floating_point():
            return torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num())
        return torch.equal(a, b)
    if isinstance(a, float) and isinstance(b, float) and a != a:
        return b != b
    return type(a) is type(b) and a == b


@pytest.mark.slow
def test_generated_programs_verify_round_trip_and_run_deterministically() -> None:
    programs = _family_programs(range(12))
    used = {n.op.name for _, g in programs for n in g.nodes if n.op.family == FAMILY}
    assert len(programs) >= 8 and len(used) >= 4, used
    for seed, graph in programs:
        verify(graph)
        assert graph_from_dict(graph_to_dict(graph), BOOSTED) == graph
        first = _outputs(to_fx(graph)(*make_inputs(graph, seed)))
        second = _outputs(to_fx(graph)(*make_inputs(graph, seed)))
        assert len(first) == len(second) == len(graph.outputs)
        for out, value, again in zip(graph.outputs, first, second, strict=True):
            if isinstance(value, torch.Tensor):
                assert tuple(value.shape) == graph.spec(out).shape
            assert _identical(value, again), (seed, out)


def test_standalone_script_builds_the_same_inputs_and_results(tmp_path) -> None:
    programs = [*_family_programs(range(4)), (5, _handmade())]
    domains = {i.domain.kind for _, g in programs for i in g.inputs}
    assert {"nonzero", "exact", "distinct"} <= domains, domains
    for seed, graph in programs:
        path = tmp_path / f"repro{seed}.py"
        path.write_text(to_python(graph, seed, resolve_variants(["eager"], None)))
        namespace = runpy.run_path(str(path), run_name="repro")
        inputs = namespace["make_inputs"]()
        expected_inputs = make_inputs(graph, seed)
        assert len(inputs) == len(expected_inputs)
        for a, b in zip(inputs, expected_inputs, strict=True):
            assert _identical(a, b), seed
        ours = _outputs(to_fx(graph)(*make_inputs(graph, seed)))
        theirs = _outputs(namespace["Program"]()(*inputs))
        assert len(theirs) == len(ours) == len(graph.outputs)
        for a, b in zip(theirs, ours, strict=True):
            assert _identical(a, b), seed


@pytest.mark.slow
def test_aot_eager_with_captured_sizes_agrees_with_eager() -> None:
    for seed, graph in [*_family_programs(range(3)), (0, _handmade())]:
        outcome = check(graph, seed, [CAPTURE])
        assert outcome.kind is OutcomeKind.OK, (seed, outcome)


def _node(graph: Graph, op: str, inputs: list[str], **attrs) -> str:
    pairs = tuple(attrs.items())
    spec = infer_spec(CATALOGUE.get(op), [graph.spec(i) for i in inputs], attrs)
    return graph.add_node(CATALOGUE.get(op), inputs, pairs, spec)


def _handmade() -> Graph:
    """nonzero of a float mask, masked_select by a bool one, narrow to and fill of a size held
    by a 0-d tensor and by a Python int, unique of distinct values."""
    graph = Graph()
    mask = graph.add_input(TensorSpec.contiguous((2, 3), torch.float32), nonzero_domain(4))
    source = graph.add_input(TensorSpec((2, 3), (1, 2), torch.float32))
    size = graph.add_input(TensorSpec.contiguous((), torch.int64), exact_domain(3))
    length = graph.add_input(ScalarSpec(torch.int64), exact_domain(2))
    chosen = graph.add_input(TensorSpec.contiguous((2, 2, 3), torch.bool), nonzero_domain(5))
    distinct = graph.add_input(TensorSpec((3, 2), (1, 3), torch.int32), DISTINCT)
    unique = {"sorted": True, "return_inverse": True, "return_counts": False}
    outputs = [
        _node(graph, "nonzero", [mask], count=4),
        _node(graph, "narrow_item", [source, size], dim=1, start=0, count=3),
        _node(graph, "narrow_item", [source, length], dim=-1, start=1, count=2),
        _node(graph, "masked_select", [graph.inputs[1].name, chosen], count=5),
        _node(graph, "full_item", [size], size=(2, 3), dim=1, fill_value=1.5, dtype=torch.float16),
        _node(graph, "unique", [distinct], **unique, output=0),
        _node(graph, "unique", [distinct], **unique, output=1),
    ]
    graph.set_outputs(outputs)
    verify(graph)
    return graph


# --- minimizer moves keep the promises ------------------------------------------------------
def test_minimizer_moves_keep_counts_consistent() -> None:
    graph = _handmade()
    mask, source, size = (i.name for i in graph.inputs[:3])
    # Literal values that break the count are no candidate; the seeded values as literals are.
    assert reduce.set_values(graph, mask, [0.0] * 6) is None
    assert reduce.set_values(graph, size, [0]) is None
    values = make_inputs(graph, 0)
    literal = reduce.set_values(graph, mask, values[0].flatten().tolist())
    assert literal is not None
    verify(literal)
    assert int(make_inputs(literal, 0)[0].count_nonzero()) == 4
    # A mask too small for its count, or a narrow source shorter than its length: rejected.
    assert reduce.reshape_input(graph, mask, (1, 3)) is None
    assert reduce.reshape_input(graph, source, (2, 2)) is None
    smaller = reduce.reshape_input(graph, mask, (2, 2))
    assert smaller is not None
    verify(smaller)
    assert to_fx(smaller)(*make_inputs(smaller, 0))[0].shape == (4, 2)
