"""Scans, sorting/selection and the extra reductions: the choices that keep the oracle honest."""

from __future__ import annotations

import random

import pytest
import torch

from torchfuzz.ir.fast_infer import infer_spec
from torchfuzz.ir.ops.base import FLOAT_DTYPES, INT_DTYPES, OpDef, SpecSampler, Want
from torchfuzz.ir.ops.scan import OPS
from torchfuzz.ir.types import DISTINCT, SCALAR_DTYPES, SMALL, TensorSpec

DTYPES = tuple(sorted(FLOAT_DTYPES | INT_DTYPES | {torch.bool}, key=str))
BY_NAME = {op.name: op for op in OPS}
# Counts, not positions: an int64 result of a float operand that no tie can change.
COUNTS = {"count_nonzero"}


def proposals(op: OpDef, tries: int = 300):
    """(want, proposal, result spec) for many wants of every dtype."""
    rng = random.Random(f"scan:{op.name}")
    sampler = SpecSampler(rng, DTYPES, max_rank=4, max_dim=6)
    for attempt in range(tries):
        if rng.random() < 0.1:
            want = Want(None, rng.choice(sorted(SCALAR_DTYPES, key=str)))
        else:
            shape = tuple(rng.randint(1, 6) for _ in range(rng.randint(0, 3)))
            want = Want(shape, DTYPES[attempt % len(DTYPES)])
        proposal = op.propose(sampler, want)
        if proposal is None:
            continue
        specs = [w.spec() for w in proposal.inputs]
        yield want, proposal, infer_spec(op, specs, dict(proposal.attrs))


def test_module_adds_enough_ops() -> None:
    assert len(OPS) >= 28


@pytest.mark.slow
@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_indices_come_only_from_distinct_operands(op: OpDef) -> None:
    """Indices of ties depend on 1-ulp differences: int64 positions of a float operand are
    taken only from a fresh input of distinct values, exact in float32/64."""
    if op.name in COUNTS:
        pytest.skip("counts are not positions")
    for _, proposal, result in proposals(op):
        (operand,) = proposal.inputs
        if result.dtype == torch.int64 and operand.dtype.is_floating_point:
            assert operand.domain == DISTINCT, (op.name, proposal)
            assert operand.dtype in (torch.float32, torch.float64), (op.name, proposal)


@pytest.mark.parametrize("name", ["any", "all", "any_all", "all_all"])
def test_truth_reductions_always_give_bool(name: str) -> None:
    """uint8 operands would give uint8 results; no operand of another dtype does."""
    seen = set()
    for _, proposal, result in proposals(BY_NAME[name]):
        seen.add(proposal.inputs[0].dtype)
        assert result.dtype == torch.bool, (name, proposal)
    assert torch.uint8 not in seen and torch.bool in seen and torch.float32 in seen


@pytest.mark.parametrize("name", ["cumprod", "prod_all"])
def test_products_stay_small(name: str) -> None:
    for _, proposal, result in proposals(BY_NAME[name]):
        (operand,) = proposal.inputs
        assert operand.domain == SMALL, proposal
        if name == "prod_all":
            assert isinstance(result, TensorSpec) and operand.shape is not None
            assert torch.Size(operand.shape).numel() <= 16, proposal


def test_topk_always_sorts() -> None:
    for want, proposal, result in proposals(BY_NAME["topk"]):
        assert dict(proposal.attrs)["sorted"] is True
        assert result.shape == want.shape


@pytest.mark.parametrize("name", ["sort", "max_dim", "median", "kthvalue", "cummax", "topk"])
def test_pairs_give_values_and_indices(name: str) -> None:
    """Values of any real dtype and (for wanted int64) indices are both generated."""
    outputs = {dict(p.attrs)["output"] for _, p, _ in proposals(BY_NAME[name])}
    assert outputs == {0, 1}


def test_mode_values_need_distinct_operands_too() -> None:
    """The mode of data with ties flips with 1-ulp differences; of distinct data it is the min."""
    for _, proposal, _ in proposals(BY_NAME["mode"]):
        assert proposal.inputs[0].domain == DISTINCT, proposal


@pytest.mark.parametrize("name", ["median", "nanmedian"])
def test_median_along_a_dim_gets_a_dense_operand(name: str) -> None:
    """Eager median.dim/nanmedian.dim read garbage from an expanded (stride-0) operand
    (torch 2.13 CPU), which made eager itself nondeterministic; their operand is dense."""
    made = 0
    for _, proposal, _ in proposals(BY_NAME[name], tries=60):
        made += 1
        assert all(w.contiguous for w in proposal.inputs)
    assert made > 0
