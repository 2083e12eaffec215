"""complex64 programs: input data, explicit complex -> real conversions, the complex128
reference, literal round trips, and generated complex programs."""

from __future__ import annotations

import math
import random
import warnings

import pytest
import torch

from tests.passes._build import node, tensor
from torchfuzz.backends.inputs import make_inputs
from torchfuzz.backends.oracle import compare_outputs
from torchfuzz.backends.python import _literal
from torchfuzz.backends.runner import check, resolve_variants, run_eager, run_reference
from torchfuzz.generator.generate import generate
from torchfuzz.generator.options import DEFAULT_DTYPES, GeneratorOptions
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Graph
from torchfuzz.ir.ops.base import SpecSampler, Want
from torchfuzz.ir.ops.scalar import conversion
from torchfuzz.ir.serialize import Case
from torchfuzz.ir.types import POSITIVE, SMALL, UNIT, Domain, TensorSpec
from torchfuzz.passes import default_pipeline
from torchfuzz.passes.validate import verify
from torchfuzz.passes.widen import widen_floats

C64 = torch.complex64
COMPLEX = GeneratorOptions(dtypes=(C64,))


def _inputs_graph(domain: Domain) -> Graph:
    graph = Graph()
    graph.add_input(TensorSpec.contiguous((6, 7), C64), domain)
    graph.add_input(TensorSpec((4, 3), (1, 8), C64), domain)  # strided
    graph.set_outputs([graph.inputs[0].name])
    return graph


@pytest.mark.parametrize("kind", ["any", "positive", "small", "unit"])
def test_complex_inputs_have_both_parts_and_stay_in_their_domain(kind):
    low, high, _, _ = Domain(kind).value_ranges()
    for value in make_inputs(_inputs_graph(Domain(kind)), 3):
        assert value.dtype == C64
        assert (value.imag != 0).all() and (value.real != 0).all()
        modulus = value.abs()
        assert float(modulus.max()) <= max(-low, high) + 1e-6
        if low >= 0:  # positive: the right half-plane, away from the negative real axis
            assert float(modulus.min()) >= low - 1e-6 and (value.real > 0).all()
        else:  # all four quadrants
            assert (value.real < 0).any() and (value.imag < 0).any()


def test_complex_to_real_conversion_is_explicit():
    source = TensorSpec.contiguous((2, 3), C64)
    for target, names in [
        (torch.float32, ["real"]),
        (torch.float64, ["real", "cast"]),
        (torch.int32, ["real", "round", "cast"]),
        (torch.bool, ["real", "round", "cast"]),
    ]:
        steps = conversion(source, TensorSpec.contiguous((2, 3), target))
        assert [op.name for op, _ in steps] == names
    # Real to complex is a plain cast: no rounding of a float.
    steps = conversion(TensorSpec.contiguous((2,), torch.float32), TensorSpec.contiguous((2,), C64))
    assert [op.name for op, _ in steps] == ["cast"]


def test_type_promotion_turns_complex_into_real_without_a_discarding_cast():
    graph = Graph()
    x = tensor(graph, (3, 4), C64)
    y = node(graph, "exp", [x], dtype=torch.float32)  # wanted real, exp gives complex
    graph.set_outputs([y])
    promoted = default_pipeline().run(graph)
    verify(promoted)
    assert [n.op.name for n in promoted.nodes] == ["exp", "real"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # casting complex to real would warn
        (value,) = run_eager(promoted, seed=0)
    (x_value,) = make_inputs(promoted, 0)
    assert torch.equal(value, x_value.exp().real)


def test_widen_maps_complex64_to_complex128():
    graph = Graph()
    x = tensor(graph, (2, 3), C64)
    f = tensor(graph, (2, 3), torch.float32)
    c = node(graph, "cast", [f], (("dtype", C64),))
    y = node(graph, "mul", [x, c])
    graph.set_outputs([y])
    wide = widen_floats(graph)
    assert {i.spec.dtype for i in wide.inputs} == {torch.complex128, torch.float64}
    assert wide.node(c).attr_map["dtype"] == torch.complex128
    assert wide.spec(y).dtype == torch.complex128
    (reference,) = run_reference(graph, seed=1)
    (eager,) = run_eager(graph, seed=1)
    assert reference.dtype == torch.complex128
    assert torch.allclose(reference.to(C64), eager)


def test_complex_literal_data_round_trips_through_json_and_scripts():
    values = (complex(1.5, -0.0), complex(-0.25, 2.0), complex(float("inf"), float("nan")), 0j)
    graph = Graph()
    graph.add_input(TensorSpec.contiguous((4,), C64), data=values)
    graph.set_outputs([graph.inputs[0].name])
    again = Case.from_json(Case(graph, 0).to_json()).graph
    decoded = again.inputs[0].data
    # Compare as text: nan != nan, and -0.0 == 0.0 would hide a lost sign.
    assert [repr((v.real, v.imag)) for v in decoded] == [repr((v.real, v.imag)) for v in values]
    script = eval(_literal(list(values)))  # the script's literal for the same data
    assert [repr((v.real, v.imag)) for v in script] == [repr((v.real, v.imag)) for v in values]
    (tensor_value,) = make_inputs(again, 0)
    assert tensor_value.dtype == C64 and math.copysign(1.0, float(tensor_value[0].imag)) < 0


def test_conj_bit_outputs_are_compared_against_the_reference():
    x = torch.tensor([1 + 2j, -3 - 1j], dtype=C64)
    eager, wide = x.conj(), x.to(torch.complex128).conj()
    assert eager.is_conj() and wide.is_conj()
    assert compare_outputs((eager,), (eager.resolve_conj(),), (wide,)) == ()
    assert compare_outputs((eager,), (x,), (wide,)) != ()


def test_default_dtypes_include_complex64():
    assert C64 in DEFAULT_DTYPES and DEFAULT_DTYPES.index(C64) > DEFAULT_DTYPES.index(torch.bool)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_complex_programs_verify_and_agree_with_eager(seed):
    graph = generate(seed, COMPLEX)
    verify(graph)
    dtypes = {i.spec.dtype for i in graph.inputs} | {n.spec.dtype for n in graph.nodes}
    assert C64 in dtypes
    outcome = check(graph, seed, resolve_variants(["eager"], None))
    assert outcome.kind.name == "OK", outcome


def test_domains_used_by_branch_cut_ops():
    # log/sqrt take `positive` complex data, angle `small`, asin `unit`: fresh inputs.
    sampler = SpecSampler(random.Random(0), (C64,))
    for name, domain in [("log", POSITIVE), ("sqrt", POSITIVE), ("angle", SMALL), ("asin", UNIT)]:
        want = Want((3,), torch.float32 if name == "angle" else C64)
        proposals = [CATALOGUE.get(name).propose(sampler, want) for _ in range(20)]
        complex_operands = [
            w for p in proposals if p is not None for w in p.inputs if w.dtype == C64
        ]
        assert complex_operands and all(w.domain == domain for w in complex_operands)
