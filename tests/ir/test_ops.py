"""Every op of the catalogue, through its own proposals: FakeTensor inference must match eager."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import torch

from torchfuzz.backends.inputs import input_call
from torchfuzz.ir.catalogue import CATALOGUE
from torchfuzz.ir.graph import Input
from torchfuzz.ir.infer import apply_op, fake_spec, spec_of
from torchfuzz.ir.ops.base import (
    BOOL_DTYPES,
    COMPLEX_DTYPES,
    FLOAT_DTYPES,
    INT_DTYPES,
    OpDef,
    Proposal,
    SpecSampler,
    Trait,
    Want,
)
from torchfuzz.ir.types import (
    DTYPE_NAMES,
    SCALAR_DTYPES,
    BoundRole,
    DomainKind,
    ScalarSpec,
    TensorSpec,
)
from torchfuzz.ir.write_view import WriteView

TRIES = 40
MAX_RANK = 4
MAX_DIM = 5
TEST_DTYPES = tuple(sorted(FLOAT_DTYPES | INT_DTYPES | BOOL_DTYPES | COMPLEX_DTYPES, key=str))
ATTR_TYPES = (type(None), bool, int, float, str, torch.dtype, WriteView)


def random_want(rng: random.Random, attempt: int) -> Want:
    """A scalar want a quarter of the time, else a tensor of rank 0-3 (dtypes in turn)."""
    if rng.random() < 0.25:
        return Want(None, rng.choice(sorted(SCALAR_DTYPES, key=str)))
    shape = tuple(rng.randint(1, MAX_DIM) for _ in range(rng.randint(0, 3)))
    return Want(shape, TEST_DTYPES[attempt % len(TEST_DTYPES)])


def check_attr(value: Any) -> None:
    if isinstance(value, tuple):
        for item in value:
            check_attr(item)
    elif not isinstance(value, ATTR_TYPES):
        raise AssertionError(f"attribute value {value!r} of type {type(value).__name__}")


def operand_spec(rng: random.Random, want: Want) -> ScalarSpec | TensorSpec:
    """Contiguous, or (when allowed) laid out in a permuted order, maybe with gaps."""
    if want.shape is None:
        return ScalarSpec(want.dtype)
    if want.contiguous or rng.random() < 0.4:
        return TensorSpec.contiguous(want.shape, want.dtype)
    order = list(range(len(want.shape)))
    rng.shuffle(order)
    stride = [0] * len(order)
    acc = 1
    for d in reversed(order):  # the last dim of `order` is innermost
        gap = 2 if rng.random() < 0.3 else 1
        stride[d] = acc * gap
        acc *= want.shape[d] * gap
    return TensorSpec(want.shape, tuple(stride), want.dtype)


def operand_data(rng: random.Random, want: Want, spec: ScalarSpec | TensorSpec) -> Any:
    """Real data drawn from the operand's domain, with the spec's strides."""
    if want.domain.rule.bound is BoundRole.COUNT or (
        want.domain.kind is DomainKind.DISTINCT and spec.dtype not in (torch.float32, torch.float64)
    ):
        # Result shapes depend on this data (a count of nonzeros, distinct values): the real
        # input builders keep those promises.
        fn, args = input_call(Input("x", spec, want.domain), rng.getrandbits(32))
        return fn(*args)
    lo, hi, ilo, ihi = want.domain.value_ranges()
    if isinstance(spec, ScalarSpec):
        draw = {
            torch.float64: lambda: rng.uniform(lo, hi),
            torch.int64: lambda: rng.randint(ilo, ihi),
        }
        return draw.get(spec.dtype, lambda: rng.random() < 0.5)()
    gen = torch.Generator().manual_seed(rng.getrandbits(32))
    n = math.prod(spec.shape)
    if spec.dtype == torch.bool:
        flat = torch.randint(0, 2, (n,), generator=gen).bool()
    elif want.domain.kind == "permutation":
        flat = torch.randperm(want.domain.bound, generator=gen)[:n]
    elif want.domain.kind == "distinct":
        flat = torch.linspace(lo, hi, n, dtype=torch.float64)[torch.randperm(n, generator=gen)]
    elif spec.dtype.is_complex:  # as the input builder draws it: modulus and angle
        fn, args = input_call(Input("x", spec, want.domain), rng.getrandbits(32))
        return fn(*args)
    elif spec.dtype.is_floating_point:
        flat = torch.rand(n, generator=gen, dtype=torch.float64) * (hi - lo) + lo
    else:
        if spec.dtype == torch.uint8:
            ilo = max(ilo, 0)
        flat = torch.randint(ilo, ihi + 1, (n,), generator=gen)
    real = torch.empty_strided(spec.shape, spec.stride, dtype=spec.dtype)
    return real.copy_(flat.to(spec.dtype).reshape(spec.shape))


def significant_strides(spec: TensorSpec) -> tuple[int, ...]:
    """Strides of the dims that have more than one element (torch ignores the others)."""
    return tuple(st if size > 1 else -1 for size, st in zip(spec.shape, spec.stride, strict=True))


def broadcasts(op: OpDef, specs: list, result: TensorSpec) -> bool:
    """An elementwise op broadcasting an operand: PyTorch's meta/ref stride rules break ties
    between layouts differently from eager TensorIterator there (e.g. bf16 add, logical_xor),
    so FakeTensor strides are not a reliable prediction (a known PyTorch divergence)."""
    return op.has(Trait.ELEMENTWISE) and any(
        isinstance(spec, TensorSpec) and spec.shape != result.shape for spec in specs
    )


def check_proposal(
    rng: random.Random, op: OpDef, want: Want, proposal: Proposal, specs: list
) -> None:
    attrs = dict(proposal.attrs)
    check_attr(proposal.attrs)
    for w in proposal.inputs:
        if w.shape is not None:
            assert len(w.shape) <= MAX_RANK + 1 and all(0 < d <= MAX_DIM for d in w.shape), w
    inferred = fake_spec(op, specs, attrs)
    if want.is_scalar:
        assert isinstance(inferred, ScalarSpec), inferred
    else:
        assert isinstance(inferred, TensorSpec) and inferred.shape == want.shape, inferred
    operands = [operand_data(rng, w, spec) for w, spec in zip(proposal.inputs, specs, strict=True)]
    result = attrs["value"] if op.has(Trait.CONSTANT) else apply_op(op, operands, attrs)
    real = spec_of(result)
    assert real.dtype == inferred.dtype, (real, inferred)
    if isinstance(real, TensorSpec):
        assert real.shape == inferred.shape, (real, inferred)
        if not broadcasts(op, specs, real):
            assert significant_strides(real) == significant_strides(inferred), (
                real.stride,
                inferred.stride,
            )
        if real.dtype.is_floating_point or real.dtype.is_complex:
            assert torch.isfinite(result).all(), result
    elif real.dtype == torch.float64:
        assert math.isfinite(result), result


def check_with_context(rng: random.Random, op: OpDef, want: Want, proposal: Proposal) -> None:
    """check_proposal on operands drawn for the proposal; a failure names the application."""
    specs = [operand_spec(rng, w) for w in proposal.inputs]
    try:
        check_proposal(rng, op, want, proposal, specs)
    except Exception as exc:
        operands = ", ".join(map(repr, specs))
        raise AssertionError(f"{op.name}({operands}, {proposal.attrs}) for {want}") from exc


@pytest.mark.slow
@pytest.mark.parametrize("op", list(CATALOGUE), ids=CATALOGUE.names())
def test_op_proposals_infer_and_run(op: OpDef) -> None:
    rng = random.Random(f"ops:{op.name}")
    sampler = SpecSampler(rng, TEST_DTYPES, max_rank=MAX_RANK, max_dim=MAX_DIM)
    made = 0
    for attempt in range(TRIES):
        want = random_want(rng, attempt)
        proposal = op.propose(sampler, want)
        if proposal is None:
            continue
        made += 1
        check_with_context(rng, op, want, proposal)
    assert made > 0, f"{op.name} made no proposal in {TRIES} tries"


# Wants tried for each declared operand dtype: the dtype itself first, then the results of
# ops whose result dtype differs from their operands' (comparisons, indices, casts, .item()).
_WANT_DTYPES = (torch.bool, torch.int64, torch.float32, torch.float64, torch.complex64)
# Enough tries that ops taking only some wanted shapes (unsqueeze wants a size-1 dim) meet one
# for each dtype; a proposal is cheap, only those that take the dtype run.
DTYPE_TRIES = 120
# Runs per (op, dtype): one keeps the ~2,000 cases near 15 s (two: ~26 s); the proposal test
# above already runs each op on many shapes and layouts.
RUNS_PER_DTYPE = 1


def _declared(op: OpDef):
    return sorted(op.dtypes, key=str)


def _dtype_wants(dtype: torch.dtype) -> list[tuple[torch.dtype, bool]]:
    """(wanted dtype, as a Python scalar?) in turn: every form each wanted dtype can take."""
    order = (dtype, *(d for d in _WANT_DTYPES if d != dtype))
    return [
        (d, scalar) for d in order for scalar in (False, True) if not scalar or d in SCALAR_DTYPES
    ]


def _creates(want: Want, proposal: Proposal) -> bool:
    """A constant or a tensor made from Python scalars (full, scalar_tensor): such ops declare
    the dtypes they produce, as they have no data operand of their own."""
    return not proposal.inputs or (not want.is_scalar and all(w.is_scalar for w in proposal.inputs))


@pytest.mark.parametrize("op", list(CATALOGUE), ids=CATALOGUE.names())
def test_every_op_declares_its_dtypes(op: OpDef) -> None:
    assert op.dtypes, f"{op.name} declares no dtypes"
    unknown = [d for d in op.dtypes if d not in DTYPE_NAMES]
    assert not unknown, f"{op.name} declares dtypes the IR cannot carry: {unknown}"


# Every (op, declared dtype) pair, as test parameters (also tests/ir/test_infer_fast.py).
OP_DTYPES = [
    pytest.param(op, dtype, id=f"{op.name}-{str(dtype).removeprefix('torch.')}")
    for op in CATALOGUE
    for dtype in _declared(op)
]


@pytest.mark.parametrize("op,dtype", OP_DTYPES)
def test_op_runs_with_every_declared_dtype(op: OpDef, dtype: torch.dtype) -> None:
    """A one-op graph whose data operand has the declared dtype (for ops that create values:
    whose result has it): FakeTensor's spec is the one eager computes (shape, dtype, strides),
    and eager runs."""
    rng = random.Random(f"dtypes:{op.name}:{dtype}")
    sampler = SpecSampler(rng, (dtype,), max_rank=MAX_RANK, max_dim=MAX_DIM)
    wants = _dtype_wants(dtype)
    made = 0
    for attempt in range(DTYPE_TRIES):
        want_dtype, scalar = wants[attempt % len(wants)]
        if scalar:
            want = Want(None, want_dtype)
        else:
            rank = attempt // len(wants) % 4  # each form in turn with ranks 0-3
            want = Want(tuple(rng.randint(1, MAX_DIM) for _ in range(rank)), want_dtype)
        proposal = op.propose(sampler, want)
        if proposal is None:
            continue
        created = _creates(want, proposal)
        if not any(w.dtype == dtype for w in proposal.inputs) and not (
            created and want.dtype == dtype
        ):
            continue
        made += 1
        check_with_context(rng, op, want, proposal)
        if made >= RUNS_PER_DTYPE:
            break
    assert made > 0, f"{op.name} never takes (or creates) a {dtype} in {DTYPE_TRIES} tries"


@pytest.mark.parametrize("op", list(CATALOGUE), ids=CATALOGUE.names())
def test_proposals_use_exactly_the_declared_dtypes(op: OpDef) -> None:
    """Over many wants of every dtype, the data operands' dtypes (not index operands'; for ops
    that create values, the results') are the declared ones, no more and no fewer."""
    rng = random.Random(f"declared:{op.name}")
    sampler = SpecSampler(rng, TEST_DTYPES, max_rank=MAX_RANK, max_dim=MAX_DIM)
    used: set[torch.dtype] = set()
    for attempt in range(600):
        want = random_want(rng, attempt)
        proposal = op.propose(sampler, want)
        if proposal is None:
            continue
        if _creates(want, proposal):
            used.add(want.dtype)
        used.update(w.dtype for w in proposal.inputs if w.domain.kind != "index")
    assert used - op.dtypes == set(), f"{op.name} proposes undeclared dtypes"
    assert op.dtypes - used == set(), f"{op.name} never proposes these declared dtypes"
