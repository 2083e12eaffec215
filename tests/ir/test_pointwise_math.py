"""The extra pointwise math and special-function ops: declared promotion kinds agree with ATen,
and domains keep results finite at the extremes of the data a fresh input can hold."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.infer import apply_op
from torchfuzz.ir.ops import pointwise_math, pointwise_special
from torchfuzz.ir.ops.base import OpDef, SpecSampler, Want
from torchfuzz.ir.types import ANY, ScalarSpec, TensorSpec
from torchfuzz.passes.type_promotion import promoted_dtype

OPS = pointwise_math.OPS + pointwise_special.OPS
ALL_DTYPES = tuple(sorted({d for op in OPS for d in op.dtypes}, key=str))
# ATen's result dtype that no promotion kind describes: float_power computes in float64, and
# a float Python bound of clamp_min/clamp_max takes part in promotion (int32 -> float32).
PROMOTION_EXCEPTIONS = frozenset({"float_power", "float_power_scalar", "clamp_min", "clamp_max"})


def proposals(op: OpDef, seed: str, count: int = 60):
    """(want, proposal) pairs for random tensor wants of every dtype."""
    rng = random.Random(seed)
    sampler = SpecSampler(rng, ALL_DTYPES, max_rank=3, max_dim=4)
    for attempt in range(count):
        shape = tuple(rng.randint(1, 4) for _ in range(rng.randint(0, 3)))
        want = Want(shape, ALL_DTYPES[attempt % len(ALL_DTYPES)])
        proposal = op.propose(sampler, want)
        if proposal is not None:
            yield want, proposal


def test_op_names_are_unique_and_many() -> None:
    names = [op.name for op in OPS]
    assert len(names) == len(set(names)) and len(names) >= 45


@pytest.mark.slow
@pytest.mark.parametrize(
    "op", [op for op in OPS if op.name not in PROMOTION_EXCEPTIONS], ids=lambda op: op.name
)
def test_declared_promotion_is_atens(op: OpDef) -> None:
    """The declared kind gives the dtype ATen computes (FakeTensor), for every proposal."""
    for _, proposal in proposals(op, f"promotion:{op.name}"):
        specs = [w.spec() for w in proposal.inputs]
        aten_dtype = infer_spec(op, specs, dict(proposal.attrs)).dtype
        assert promoted_dtype(op, specs) == aten_dtype, (op.name, specs, proposal.attrs)


def extremes(want: Want) -> tuple:
    """The smallest and largest value a fresh input of this want's domain holds, as the input
    builder makes them (uint8 wraps around below zero)."""
    flo, fhi, ilo, ihi = want.domain.value_ranges()
    if want.dtype.is_floating_point:
        return (flo, fhi)
    if want.dtype == torch.bool:
        return (False, True)
    return (ilo, ihi)


def operand(want: Want, value):
    """A Python scalar, or a tensor of the want's shape and dtype filled with `value`."""
    if want.shape is None:
        return ScalarSpec(want.dtype).python_type(value)
    source = {bool: torch.bool, int: torch.int64, float: torch.float64}[type(value)]
    return torch.full(want.shape, value, dtype=source).to(want.dtype)


@pytest.mark.parametrize("op", [op for op in OPS], ids=lambda op: op.name)
def test_results_are_finite_at_domain_extremes(op: OpDef) -> None:
    """Every operand at either end of its domain's range: the result is finite. (Operands of
    the `any` domain can be computed values too; only fresh-input ranges are checked.)"""
    for _, proposal in itertools.islice(proposals(op, f"extremes:{op.name}", 200), 40):
        choices = [extremes(w) for w in proposal.inputs]
        for values in itertools.product(*choices):
            args = [operand(w, v) for w, v in zip(proposal.inputs, values, strict=True)]
            result = apply_op(op, args, dict(proposal.attrs))
            if result.dtype.is_floating_point:
                assert torch.isfinite(result).all(), (op.name, values, proposal)


def test_fresh_inputs_for_discontinuous_ops() -> None:
    """Ops whose results jump with a last-bit change of an operand take that operand fresh."""
    jumpy = {"frac": 0, "sgn": 0, "fmod": 0, "div_mode": 0, "copysign": 1, "signbit": 0}
    for name, index in jumpy.items():
        op = next(op for op in OPS if op.name == name)
        for _, proposal in proposals(op, f"fresh:{name}", 10):
            assert proposal.inputs[index].domain != ANY, name


def test_alpha_is_integral_unless_every_operand_is_floating() -> None:
    add_alpha = next(op for op in OPS if op.name == "add_alpha")
    seen = set()
    for _, proposal in proposals(add_alpha, "alpha", 200):
        alpha = dict(proposal.attrs)["alpha"]
        floating = all(w.dtype.is_floating_point for w in proposal.inputs)
        assert isinstance(alpha, float) == floating
        seen.add(floating)
    assert seen == {True, False}


def test_polygamma_takes_its_order_first() -> None:
    op = next(op for op in OPS if op.name == "polygamma")
    x = torch.tensor([0.5, 1.0, 2.0])
    assert torch.equal(apply_op(op, [x], {"n": 1}), torch.polygamma(1, x))
    assert isinstance(
        infer_spec(op, [TensorSpec.contiguous((3,), torch.float32)], {"n": 2}), TensorSpec
    )
